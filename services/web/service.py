"""The web front as the platform knows it: its settings; it consumes and publishes nothing."""

from services.web.settings import WebSettings
from shared.service import FrontDefinition

SERVICE = FrontDefinition(
    settings=WebSettings,
    title="Children's social care quality assurance",
    description="The pages auditors, moderators and managers use, over the services' APIs.",
)
