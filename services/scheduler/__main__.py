"""`python -m services.scheduler`: run the scheduler as its own process (replicas welcome)."""

from services.scheduler.settings import SchedulerSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(SchedulerSettings, "services.scheduler.app")
