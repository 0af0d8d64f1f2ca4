"""`python -m services.web`: run the web front as its own process."""

from services.web.app import create_app
from services.web.settings import WebSettings
from shared.runtime import serve, settings_or_exit

if __name__ == "__main__":
    settings = settings_or_exit(WebSettings)
    serve(create_app(settings), settings)
