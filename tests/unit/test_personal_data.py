"""Free text that looks like personal data is flagged for the writer to confirm, never quoted."""

import pytest

from shared.confirmations import Caution, NeedsConfirmation, require_confirmed
from shared.personal_data import PERSONAL_DATA, personal_data_cautions, personal_data_cautions_in

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "looks_like"),
    [
        ("The plan did not reflect Jamie Smith's wishes", "a person's name"),
        ("We spoke with Kayden about school", "a person's name"),
        ("Sam's voice is missing from the assessment", "a person's name"),
        ("Mr Jones attended the conference", "a person's name"),
        ("The child, known as Bee, was seen alone", "a person's name"),
        ("Recorded DOB was wrong on the plan", "a date of birth"),
        ("She was born on 3 May 2015 in hospital", "a date of birth"),
        ("Moved to 12 Acacia Avenue last month", "an address"),
        ("Now in flat 4 with her aunt", "an address"),
        ("Family moved to AB1 2CD", "a postcode"),
        ("family moved to sw1a1aa", "a postcode"),
    ],
)
def test_text_that_looks_personal_is_flagged_without_being_quoted(
    text: str, looks_like: str
) -> None:
    [caution] = personal_data_cautions("could_be_better_if[0]", text)
    assert caution.code == PERSONAL_DATA
    assert caution.field == "could_be_better_if[0]"
    assert looks_like in caution.message
    assert text not in caution.message


@pytest.mark.parametrize(
    "text",
    [
        "Child protection plan reviewed by the Team Manager on time.",
        "The Head of Service agreed. Signs of Safety used well.",
        "Recording in the CP Plan was not SMART.",
        "Management oversight absent. Supervision notes lacked reflection.",
        "Visits were regular and purposeful; the chronology was up to date by March.",
        "",
    ],
)
def test_ordinary_practice_writing_is_not_flagged(text: str) -> None:
    assert personal_data_cautions("rationale", text) == []


def test_each_item_of_a_list_is_named_by_its_place() -> None:
    cautions = personal_data_cautions_in("agreed_actions", ["Book a visit", "Call Mrs Patel"])
    assert [caution.field for caution in cautions] == ["agreed_actions[1]"]


def test_a_caution_refuses_until_its_code_is_confirmed() -> None:
    cautions = [Caution("personal_data", "rationale", "looks like a name")]
    with pytest.raises(NeedsConfirmation) as refused:
        require_confirmed(cautions, confirmed=[])
    [problem] = refused.value.problems
    assert (problem.field, problem.confirm) == ("rationale", "personal_data")
    require_confirmed(cautions, confirmed=["personal_data"])
