"""A worker's learning: their audits newest first with grades, themes and learning points, shown
to them and those who support them, as learning (no rank, no comparison)."""

import re

import pytest

from services.web.views.learning import learning_of
from tests.unit.web.pages import FakeBackends, page, sign_in, text, web

WORKER = "S0006"  # Femi Fischer, practitioner in Early Help North
TEAM_MANAGER = "S0005"  # Ellen Evans, manages Early Help North
HEAD_OF_SERVICE, ASSISTANT_DIRECTOR = "S0003", "S0001"  # Early help's leads
QA_LEAD, ADMIN = "S0004", "S9001"
ANOTHER_PRACTITIONER = "S0007"  # Grace Gallagher, same team
ANOTHER_TEAM_MANAGER = "S0009"  # Isla Iqbal, Early Help South
ANOTHER_HEAD = "S0017"  # Quinn Reid, assessment and intervention
RANKING_WORDS = re.compile(
    r"\b(rank\w*|league|position|top|bottom|best|worst|compared?|average|percentile|score)\b",
    re.IGNORECASE,
)


def audit(number: int, graded_at: str, grade: str, themes: list[str], points: list[str]) -> dict:
    return {
        "id": f"AUD-{number}",
        "case_id": f"CASE-{100 + number}",
        "audit_kind": "learning",
        "practitioner_id": WORKER,
        "overall_grade": grade,
        "themes": themes,
        "could_be_better_if": points,
        "graded_at": graded_at,
    }


AUDITS = [
    audit(1, "2026-09-10T10:00:00+00:00", "requires_improvement", ["planning"], ["Plan is SMART"]),
    audit(2, "2026-11-03T10:00:00+00:00", "good", ["planning", "recording"], []),
    audit(3, "2026-10-15T10:00:00+00:00", "good", ["visits"], ["Visits are recorded promptly"]),
]


def fakes() -> FakeBackends:
    return FakeBackends({"audit.audits": AUDITS})


def learning_page(who: str, worker: str = WORKER, backends: FakeBackends | None = None):
    backends = backends or fakes()
    with web(backends) as client:
        sign_in(client, who)
        answer = client.get(f"/people/{worker}/learning")
    return answer, page(answer), backends


def test_the_worker_sees_their_audits_newest_first_with_grades_themes_and_points():
    answer, soup, backends = learning_page(WORKER)
    assert answer.status_code == 200
    assert text(soup, "h1") == "Your learning"
    asked = [kwargs for name, _, kwargs in backends.calls if name == "audit.audits"]
    assert asked[0]["practitioner_id"] == WORKER
    headings = [text(h, "a") for h in soup.select(".app-learning-audit h3")]
    assert headings == ["CASE-102", "CASE-103", "CASE-101"]
    assert text(soup, ".app-grades") == "Good: 2, Requires improvement: 1"
    themes = [li.get_text(strip=True) for li in soup.select(".app-themes li")]
    assert themes == ["Planning: 2 audits", "Recording: 1 audit", "Visits: 1 audit"]
    points = [li.get_text(strip=True) for li in soup.select(".app-points li")]
    assert points == ["Visits are recorded promptly", "Plan is SMART"]
    assert soup.select_one(".app-learning-audit a[href='/cases/CASE-102']") is not None
    assert soup.select_one(".app-learning-audit a[href='/audits/AUD-2']") is not None


def test_the_page_reads_as_learning_with_no_ranking_or_comparison():
    _, soup, _ = learning_page(TEAM_MANAGER)
    words = soup.select_one("main").get_text(" ")
    assert RANKING_WORDS.findall(words) == []
    assert "not a comparison with anyone else" in words  # it says what it is not, once


@pytest.mark.parametrize(
    "who", [WORKER, TEAM_MANAGER, HEAD_OF_SERVICE, ASSISTANT_DIRECTOR, QA_LEAD, ADMIN]
)
def test_the_worker_their_managers_and_qa_may_see_it(who):
    answer, soup, _ = learning_page(who)
    assert answer.status_code == 200
    if who != WORKER:
        assert text(soup, "h1") == "Learning of Femi Fischer"


@pytest.mark.parametrize("who", [ANOTHER_PRACTITIONER, ANOTHER_TEAM_MANAGER, ANOTHER_HEAD])
def test_another_practitioner_or_another_teams_managers_may_not_and_nothing_is_asked(who):
    answer, soup, backends = learning_page(who)
    assert answer.status_code == 403
    assert text(soup, "h1") == "You cannot do this"
    assert not [name for name, _, _ in backends.calls if name == "audit.audits"]


def test_an_unknown_worker_is_not_found():
    answer, _, _ = learning_page(ADMIN, worker="S7777")
    assert answer.status_code == 404


def test_a_worker_with_no_audits_yet_is_told_so():
    _, soup, _ = learning_page(WORKER, backends=FakeBackends({"audit.audits": []}))
    assert "There are no audits of your cases that you may see yet" in text(soup, ".app-no-audits")


def test_only_audits_where_they_are_the_practitioner_are_counted():
    other = audit(9, "2026-11-30T10:00:00+00:00", "inadequate", ["visits"], [])
    other["practitioner_id"] = ANOTHER_PRACTITIONER
    learning = learning_of([a for a in [*AUDITS, other] if a["practitioner_id"] == WORKER])
    assert [a["id"] for a in learning.audits] == ["AUD-2", "AUD-3", "AUD-1"]
    assert learning.themes == [("planning", 2), ("recording", 1), ("visits", 1)]
    _, soup, _ = learning_page(WORKER, backends=FakeBackends({"audit.audits": [*AUDITS, other]}))
    assert len(soup.select(".app-learning-audit")) == 3


def test_my_work_links_a_practitioner_to_their_learning_and_a_manager_to_their_teams():
    backends = FakeBackends({"notifications.inbox": {"unread": 0, "items": []}, "audit.audits": []})
    with web(backends) as client:
        sign_in(client, WORKER)
        mine = page(client.get("/"))
    assert mine.select_one("a.app-own-learning")["href"] == f"/people/{WORKER}/learning"
    backends.answers["audit.allocations"] = []
    with web(backends) as client:
        sign_in(client, TEAM_MANAGER)
        managed = page(client.get("/"))
    links = {a.get_text(" ", strip=True): a["href"] for a in managed.select(".app-team-learning a")}
    assert links["Femi Fischer : learning"] == f"/people/{WORKER}/learning"
    assert len(links) == 3  # the team's three practitioners
    assert managed.select_one("a.app-own-learning") is None
