"""The moderation service's decisions, on plain values: no database, no broker."""

from datetime import UTC, datetime, timedelta

import pytest

from services.moderation.consistency import quadratic_weighted_kappa, weighted_kappa
from services.moderation.domain import (
    Moderation,
    ModerationForm,
    ModerationStatus,
    NoModeratorAvailable,
    assign,
    outcome_events,
    record,
)
from services.moderation.sampling import (
    ManualRate,
    SamplingPolicy,
    StoredRate,
    adapted_rate,
    change_by_hand,
    may_change_rates,
)
from shared.auth import Forbidden
from shared.errors import Conflict, FieldProblem, RuleBroken
from shared.events import (
    InadequateFound,
    ModerationCompleted,
    ModerationDisagreed,
    ModerationRequested,
    SamplingRateChanged,
)
from shared.events.vocabulary import (
    FoundBy,
    Grade,
    ModerationReason,
    SamplingChangeReason,
    ServiceArea,
)
from shared.organisation import Role, StaffMember
from shared.visibility import AuditPeople
from tests.factories import audit_graded

OUT, G, RI, INAD = Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
MODERATOR = "S0002"
AREA = ServiceArea.EARLY_HELP
POLICY = SamplingPolicy(default_rate=0.25, window=2, threshold=0.3, raised_rate=0.5)


def person(staff_id: str, role: Role) -> StaffMember:
    return StaffMember(id=staff_id, name=staff_id, email=f"{staff_id}@example.org", role=role)


def open_moderation(auditor_grade: Grade = INAD) -> Moderation:
    return Moderation(
        id="MOD-1",
        audit_id="AUD-1",
        case_id="CASE-1",
        service_area=AREA,
        team_id="EH-NORTH",
        auditor_id="S0003",
        team_manager_id="S0005",
        moderator_id=MODERATOR,
        reason=ModerationReason.INADEQUATE,
        auditor_grade=auditor_grade,
        audit_graded_at=NOW - timedelta(days=1),
        requested_at=NOW - timedelta(hours=20),
    )


def form(grade: Grade, rationale: str | None = "Seen alone", **changes: str) -> ModerationForm:
    fields = {"moderator_id": MODERATOR, "request_id": "request-0001", **changes}
    return ModerationForm(moderated_grade=grade, rationale=rationale, **fields)


# --- assigning --------------------------------------------------------------------------


def test_an_inadequate_audit_goes_to_the_least_loaded_moderator_and_is_requested():
    pool = [person("S0001", Role.ASSISTANT_DIRECTOR), person("S0002", Role.SERVICE_MANAGER)]
    audit = audit_graded("CASE-1", "inadequate", "AUD-1", service_area="early_help")
    requested = assign(audit, 0.0, pool, {"S0001": 2}, moderation_id="MOD-1", now=NOW)
    assert requested is not None
    moderation = requested.moderation
    assert (moderation.id, moderation.moderator_id, moderation.reason) == (
        "MOD-1",
        "S0002",
        ModerationReason.INADEQUATE,
    )
    assert (moderation.status, moderation.auditor_grade, moderation.requested_at) == (
        ModerationStatus.OPEN,
        INAD,
        NOW,
    )
    assert requested.event == ModerationRequested(
        case_id="CASE-1",
        moderation_id="MOD-1",
        audit_id="AUD-1",
        moderator_id="S0002",
        auditor_id=audit.auditor_id,
        service_area=AREA,
        auditor_grade=INAD,
        reason=ModerationReason.INADEQUATE,
        requested_at=NOW,
    )


def test_a_moderation_is_seen_by_the_people_of_its_audit_and_its_moderator():
    pool = [person("S0002", Role.SERVICE_MANAGER)]
    audit = audit_graded("CASE-1", "inadequate", "AUD-1", service_area="early_help")
    requested = assign(audit, 0.0, pool, {}, moderation_id="MOD-1", now=NOW)
    assert requested is not None
    assert requested.moderation.people == AuditPeople(
        "early_help",
        auditor_id=audit.auditor_id,
        practitioner_id=audit.practitioner_id,
        team_manager_id=audit.team_manager_id,
        moderator_ids=frozenset({"S0002"}),
    )
    assert open_moderation().people.practitioner_id is None  # requested before it was kept


def test_an_audit_outside_the_sample_is_not_moderated():
    pool = [person("S0002", Role.SERVICE_MANAGER)]
    audit = audit_graded("CASE-1", "good", "AUD-1")
    assert assign(audit, 0.0, pool, {}, moderation_id="MOD-1", now=NOW) is None


def test_an_audit_whose_only_possible_moderator_audited_it_cannot_be_assigned():
    audit = audit_graded("CASE-1", "inadequate", "AUD-1", auditor_id="S0002")
    with pytest.raises(NoModeratorAvailable):
        assign(audit, 0.0, [person("S0002", Role.SERVICE_MANAGER)], {}, moderation_id="M", now=NOW)


# --- recording --------------------------------------------------------------------------


def test_only_the_assigned_moderator_records_a_moderation():
    with pytest.raises(Forbidden, match="only the moderator it is assigned to can record"):
        record(open_moderation(), form(RI, moderator_id="S0001"), NOW)


def test_a_grade_that_differs_from_the_auditors_needs_a_rationale():
    with pytest.raises(RuleBroken) as refused:
        record(open_moderation(), form(G, rationale=None), NOW)
    assert refused.value.rule == "moderation_rule"
    assert refused.value.problems == [
        FieldProblem("rationale", "required when the grade differs from the auditor's")
    ]


def test_an_agreeing_grade_needs_no_rationale_and_publishes_only_completed():
    recorded = record(open_moderation(), form(INAD, rationale=None), NOW)
    assert [type(e) for e in recorded.events] == [ModerationCompleted]
    assert recorded.moderation.status is ModerationStatus.COMPLETED
    assert recorded.moderation.outcome is not None
    assert recorded.moderation.outcome.grade_difference == 0


def test_the_request_that_completed_a_moderation_is_replayed_and_changes_nothing():
    completed = record(open_moderation(), form(RI), NOW).moderation
    again = record(completed, form(RI), NOW + timedelta(minutes=5))
    assert again.replayed
    assert again.events == []
    assert again.moderation == completed


def test_another_request_for_a_completed_moderation_is_a_conflict():
    completed = record(open_moderation(), form(RI), NOW).moderation
    with pytest.raises(Conflict, match=r"^already moderated by another request$"):
        record(completed, form(RI, request_id="request-0002"), NOW)


def test_a_disagreement_publishes_completed_and_disagreed_with_the_same_facts():
    recorded = record(open_moderation(INAD), form(RI, rationale="Risk was managed"), NOW)
    completed, disagreed = recorded.events
    assert isinstance(completed, ModerationCompleted)
    assert isinstance(disagreed, ModerationDisagreed)
    assert completed.model_dump() == disagreed.model_dump()
    assert completed.model_dump() == {
        "case_id": "CASE-1",
        "moderation_id": "MOD-1",
        "audit_id": "AUD-1",
        "moderator_id": MODERATOR,
        "auditor_grade": INAD,
        "moderated_grade": RI,
        "grade_difference": -1,
        "moderated_at": NOW,
    }


def test_a_good_audit_moderated_to_inadequate_is_found_inadequate_by_moderation():
    recorded = record(open_moderation(G), form(INAD), NOW)
    assert [type(e) for e in recorded.events] == [
        ModerationCompleted,
        ModerationDisagreed,
        InadequateFound,
    ]
    assert recorded.events[2] == InadequateFound(
        case_id="CASE-1",
        audit_id="AUD-1",
        service_area=AREA,
        team_id="EH-NORTH",
        graded_at=NOW,
        found_by=FoundBy.MODERATION,
    )


def test_an_inadequate_audit_confirmed_inadequate_is_not_found_inadequate_again():
    completed = record(open_moderation(INAD), form(INAD), NOW).moderation
    assert [type(e) for e in outcome_events(completed)] == [ModerationCompleted]


def test_an_open_moderation_has_no_outcome_events():
    with pytest.raises(ValueError, match="no outcome"):
        outcome_events(open_moderation())


# --- sample rates -----------------------------------------------------------------------

HOUR = timedelta(hours=1)


def test_a_window_of_disagreements_raises_the_default_rate_adaptively():
    changed = adapted_rate(AREA, [(NOW, 1), (NOW - HOUR, -2)], None, POLICY, NOW)
    assert changed == SamplingRateChanged(
        service_area=AREA,
        previous_rate=0.25,
        new_rate=0.5,
        reason=SamplingChangeReason.ADAPTIVE,
        changed_by=None,
        disagreement_rate=1.0,
        changed_at=NOW,
    )


def test_only_the_latest_window_of_moderations_counts():
    history = [(NOW, 0), (NOW - HOUR, 0), (NOW - 2 * HOUR, 1), (NOW - 3 * HOUR, 1)]
    assert adapted_rate(AREA, history, None, POLICY, NOW) is None


def test_a_manual_rate_stands_until_a_whole_window_after_it_disagrees():
    manual = StoredRate(0.25, SamplingChangeReason.MANUAL, changed_at=NOW - 2 * HOUR)
    one_since = [(NOW, 1), (NOW - 3 * HOUR, 1), (NOW - 4 * HOUR, 1)]
    assert adapted_rate(AREA, one_since, manual, POLICY, NOW) is None
    two_since = [(NOW, 1), (NOW - HOUR, 1), (NOW - 3 * HOUR, 1)]
    changed = adapted_rate(AREA, two_since, manual, POLICY, NOW)
    assert changed is not None
    assert (changed.previous_rate, changed.new_rate, changed.disagreement_rate) == (0.25, 0.5, 1.0)


def test_disagreements_before_an_adaptive_change_still_count():
    adaptive = StoredRate(0.3, SamplingChangeReason.ADAPTIVE, changed_at=NOW - HOUR)
    history = [(NOW, 1), (NOW - 2 * HOUR, 1)]
    changed = adapted_rate(AREA, history, adaptive, POLICY, NOW)
    assert changed is not None
    assert (changed.previous_rate, changed.new_rate) == (0.3, 0.5)


def test_a_rate_set_at_least_as_high_as_the_raised_rate_is_left_alone():
    high = StoredRate(0.9, SamplingChangeReason.MANUAL, changed_at=NOW - 5 * HOUR)
    assert adapted_rate(AREA, [(NOW, 1), (NOW - HOUR, 1)], high, POLICY, NOW) is None


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ASSISTANT_DIRECTOR, True),
        (Role.ADMIN, True),
        (Role.HEAD_OF_SERVICE, False),
        (Role.SERVICE_MANAGER, False),
        (Role.TEAM_MANAGER, False),
        (Role.PRACTITIONER, False),
    ],
)
def test_only_assistant_directors_and_admins_may_change_rates(role, allowed):
    assert may_change_rates(person("S0001", role)) is allowed


def test_someone_not_in_the_organisation_may_not_change_rates():
    assert may_change_rates(None) is False


def test_an_assistant_director_changes_a_rate_by_hand_from_the_stored_one():
    stored = StoredRate(0.5, SamplingChangeReason.ADAPTIVE, changed_at=NOW - HOUR)
    change = ManualRate(AREA, 0.25, "S0001")
    changed = change_by_hand(change, person("S0001", Role.ASSISTANT_DIRECTOR), stored, POLICY, NOW)
    assert changed == SamplingRateChanged(
        service_area=AREA,
        previous_rate=0.5,
        new_rate=0.25,
        reason=SamplingChangeReason.MANUAL,
        changed_by="S0001",
        disagreement_rate=None,
        changed_at=NOW,
    )


def test_a_head_of_service_may_not_change_a_rate_by_hand():
    change = ManualRate(AREA, 0.9, "S0003")
    head = person("S0003", Role.HEAD_OF_SERVICE)
    with pytest.raises(Forbidden, match="only assistant directors and admins change sampling"):
        change_by_hand(change, head, None, POLICY, NOW)


# --- consistency from counts ------------------------------------------------------------


def test_kappa_from_pair_counts_is_the_kappa_of_the_pairs():
    # The worked example of test_moderation_rules, counted: (G,G) (RI,RI) (RI,INAD) (G,RI).
    counts = {(G, G): 1, (RI, RI): 1, (RI, INAD): 1, (G, RI): 1}
    assert weighted_kappa(counts) == 0.5
    pairs = [(G, G), (G, G), (RI, INAD), (OUT, G), (INAD, INAD)]
    assert weighted_kappa({(G, G): 2, (RI, INAD): 1, (OUT, G): 1, (INAD, INAD): 1}) == (
        quadratic_weighted_kappa(pairs)
    )


def test_kappa_of_no_moderations_is_undefined():
    assert weighted_kappa({}) is None
