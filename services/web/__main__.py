"""`python -m services.web`: run the web front as its own process."""

from services.web.settings import WebSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve(WebSettings, "services.web.app")
