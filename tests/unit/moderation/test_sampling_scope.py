"""An assistant director changes the sampling rate of their own service areas only; admins any."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.moderation.app import create_app
from services.moderation.sampling import require_own_area
from services.moderation.settings import ModerationSettings
from shared.auth import AccessRole, Caller, Forbidden
from shared.events.vocabulary import ServiceArea
from shared.migrations import upgrade
from tests.tokens import bearer

DIRECTOR = Caller("S0002", frozenset({AccessRole.ASSISTANT_DIRECTOR}), frozenset({"care_leavers"}))


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    settings = ModerationSettings(kafka_bootstrap_servers="127.0.0.1:9", data_dir=tmp_path)
    upgrade("moderation", settings.resolved_database_url)
    app = create_app(settings)
    yield TestClient(app)
    app.state.runtime.engine.dispose()


def change(client: TestClient, who: str, area: str, rate: float = 0.6):
    return client.put(
        f"/sampling/{area}", json={"rate": rate, "changed_by": who}, headers=bearer(who)
    )


def test_a_director_changes_their_own_areas_rate(client):
    # S0001 leads early help and assessment and intervention.
    answer = change(client, "S0001", "early_help")
    assert answer.status_code == 200, answer.text
    assert answer.json()["early_help"] == 0.6


def test_a_director_cannot_change_another_areas_rate_and_is_told_which(client):
    refused = change(client, "S0001", "family_safeguarding")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "you may change the sampling rate of your own service area only: family_safeguarding "
        "is not yours (yours: assessment_intervention, early_help)"
    )
    rates = client.get("/sampling", headers=bearer("S0001")).json()
    assert rates["family_safeguarding"] == 0.25  # unchanged


def test_an_admin_changes_any_areas_rate(client):
    assert change(client, "S9001", "family_safeguarding", 0.4).json()["family_safeguarding"] == 0.4


def test_the_rule_names_the_area_and_the_callers_own():
    require_own_area(DIRECTOR, ServiceArea.CARE_LEAVERS)
    with pytest.raises(Forbidden, match="early_help is not yours \\(yours: care_leavers\\)"):
        require_own_area(DIRECTOR, ServiceArea.EARLY_HELP)
