"""`python -m services.scheduler`: run the scheduler as its own process (replicas welcome)."""

from services.scheduler.app import create_app
from services.scheduler.settings import SchedulerSettings
from shared.runtime import serve, settings_or_exit

if __name__ == "__main__":
    settings = settings_or_exit(SchedulerSettings)
    serve(create_app(settings), settings)
