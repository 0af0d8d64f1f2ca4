"""`python -m services.audit`: run the audit service as its own process."""

from services.audit.settings import AuditSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(AuditSettings, "services.audit.app")
