"""`python -m services.moderation`: run the moderation service as its own process."""

from services.moderation.app import create_app
from services.moderation.settings import ModerationSettings
from shared.runtime import serve, settings_or_exit

if __name__ == "__main__":
    settings = settings_or_exit(ModerationSettings)
    serve(create_app(settings), settings)
