"""What the signed-in person does, from the organisation file: only to choose what the pages
offer (which sections of My work, whether to show a form). The APIs decide what is allowed."""

from fastapi import Request

from services.web.session import SignedIn
from shared.auth import AccessRole, access_roles
from shared.organisation import Organisation

RATE_SETTERS = frozenset({AccessRole.ASSISTANT_DIRECTOR, AccessRole.ADMIN})
"""Who is offered the sampling-rate form; the moderation service's rule decides (a web front
must not import a service, so this mirrors it, and a refusal from the API is shown as such)."""


def roles_of(request: Request, person: SignedIn) -> frozenset[AccessRole]:
    """What the person does, from the organisation file."""
    organisation: Organisation = request.app.state.organisation
    member = organisation.staff_by_id.get(person.staff_id)
    return access_roles(member) if member is not None else frozenset()
