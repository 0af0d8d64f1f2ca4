"""`python -m services.audit`: run the audit service as its own process."""

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.runtime import serve, settings_or_exit

if __name__ == "__main__":
    settings = settings_or_exit(AuditSettings)
    serve(create_app(settings), settings)
