"""`python -m services.notifications`: run the notifications service as its own process."""

from services.notifications.app import create_app
from services.notifications.settings import NotificationSettings
from shared.runtime import serve, settings_or_exit

if __name__ == "__main__":
    settings = settings_or_exit(NotificationSettings)
    serve(create_app(settings), settings)
