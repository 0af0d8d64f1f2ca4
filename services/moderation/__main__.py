"""`python -m services.moderation`: run the moderation service as its own process."""

from services.moderation.settings import ModerationSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(ModerationSettings, "services.moderation.app")
