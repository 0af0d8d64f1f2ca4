import pytest

from services.moderation.consistency import consistency, quadratic_weighted_kappa
from services.moderation.domain import choose_moderator, moderation_reason, sample_point
from services.moderation.sampling import adaptive_rate
from shared.events.vocabulary import Grade
from shared.organisation import load_organisation

OUT, G, RI, INAD = Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE
ORG = load_organisation()
POOL = ORG.moderators()


def test_consistency_of_a_worked_example():
    # (auditor, moderator) as grade indices: (1,1) (2,2) (2,3) (1,2); k = 4, w = (i-j)^2 / 9.
    # Observed weighted disagreement: (1/9 + 1/9) / 4 = 0.5/9.
    # Marginals: auditor {1: .5, 2: .5}, moderator {1: .25, 2: .5, 3: .25}.
    # Expected: .5*.5*1/9 + .5*.25*4/9 + .5*.25*1/9 + .5*.25*1/9 = 1/9.  kappa = 1 - .5 = 0.5.
    figures = consistency([(G, G), (RI, RI), (RI, INAD), (G, RI)])
    assert figures.moderated == 4
    assert figures.agreement_rate == 0.5
    assert figures.mean_absolute_difference == 0.5
    assert figures.moderator_worse_share == 0.5
    assert figures.moderator_better_share == 0.0
    assert figures.weighted_kappa == 0.5


def test_a_moderator_who_grades_better_is_counted_as_better():
    figures = consistency([(INAD, RI), (G, G)])
    assert (figures.moderator_better_share, figures.moderator_worse_share) == (0.5, 0.0)


def test_perfect_agreement_across_grades_has_kappa_one():
    assert quadratic_weighted_kappa([(OUT, OUT), (G, G), (RI, RI), (INAD, INAD)]) == 1.0


def test_kappa_is_undefined_when_everyone_gave_one_grade():
    assert quadratic_weighted_kappa([(RI, RI), (RI, RI)]) is None
    assert consistency([]).weighted_kappa is None


def test_every_inadequate_audit_is_moderated_whatever_the_rate():
    assert moderation_reason("AUD-1", INAD, rate=0.0) == "inadequate"


def test_sampling_is_the_same_every_time_for_an_audit():
    assert [moderation_reason("AUD-42", G, 0.25) for _ in range(5)] == [
        moderation_reason("AUD-42", G, 0.25)
    ] * 5
    assert moderation_reason("AUD-42", G, 1.0) == "sampled"
    assert moderation_reason("AUD-42", G, 0.0) is None


def test_sampling_takes_about_the_configured_share():
    ids = [f"AUD-{n}" for n in range(20_000)]
    sampled = sum(moderation_reason(i, G, 0.25) is not None for i in ids) / len(ids)
    assert sampled == pytest.approx(0.25, abs=0.015)
    assert all(0 <= sample_point(i) < 1 for i in ids[:100])


def test_the_auditor_and_the_team_manager_never_moderate():
    auditor, manager = POOL[0].id, POOL[1].id
    chosen = choose_moderator(POOL, {}, {auditor, manager})
    assert chosen is not None
    assert chosen.id not in {auditor, manager}


def test_the_least_loaded_moderator_is_chosen():
    loads = {member.id: 3 for member in POOL}
    loads[POOL[4].id] = 1
    assert choose_moderator(POOL, loads, set()) == POOL[4]


def test_no_moderator_when_the_whole_pool_is_excluded():
    assert choose_moderator(POOL, {}, {m.id for m in POOL}) is None


def test_moderator_pool_is_service_managers_and_assistant_directors():
    assert {m.role for m in POOL} == {"service_manager", "assistant_director"}


RAISE = {"window": 5, "threshold": 0.3, "raised_rate": 0.5}


def test_disagreement_above_the_threshold_raises_the_rate():
    assert adaptive_rate([1, 0, -1, 0, 0], 0.25, **RAISE) == 0.5  # 40% > 30%


def test_disagreement_at_the_threshold_changes_nothing():
    assert adaptive_rate([1, 0, 0, 0, 0, 1, 1], 0.25, **{**RAISE, "window": 5}) is None  # 20%
    assert (
        adaptive_rate(
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0.25, **{**RAISE, "window": 10, "threshold": 0.1}
        )
        is None
    )


def test_too_few_moderations_or_a_rate_already_raised_changes_nothing():
    assert adaptive_rate([1, 1, 1], 0.25, **RAISE) is None
    assert adaptive_rate([1, 1, 1, 1, 1], 0.5, **RAISE) is None
    assert adaptive_rate([1, 1, 1, 1, 1], 0.8, **RAISE) is None


def test_a_blank_rationale_is_no_rationale():
    from pydantic import ValidationError

    from services.moderation.domain import ModerationForm

    with pytest.raises(ValidationError, match="at least 1 character"):
        ModerationForm(
            moderator_id="S0002", moderated_grade="good", rationale="   ", request_id="request-0001"
        )
