"""`python -m services.notifications`: run the notifications service as its own process."""

from services.notifications.settings import NotificationSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(NotificationSettings, "services.notifications.app")
