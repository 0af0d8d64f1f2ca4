"""Every date the web front asks a person for is a GOV.UK date input: separate day, month and
year boxes (month and year for a month), each named `<field>-<part>`, with its error message.
Never a browser date picker nor one free-text box, which people fill in every which way.
"""

import re
from pathlib import Path

import pytest

from services.web.pages import TEMPLATES

TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))

BROWSER_DATE = re.compile(r"""type\s*[=:]\s*["'](date|datetime-local|month|week)["']""", re.I)
TEXT_INPUT = re.compile(r"govukInput\(\{(?P<body>.*?)\}\)\s*\}\}", re.S)
DATE_INPUT = re.compile(r"govukDateInput\(\{(?P<body>.*?)\}\)\s*\}\}", re.S)
NAME = re.compile(r""""name"\s*:\s*(?P<name>"[^"]*"|[A-Za-z_][\w.]*)""")
DATE_LIKE = re.compile(r"(^|_)(date|day|on|at|since|until|from|to|month|year|dob)($|_)", re.I)


def _source(path: Path) -> str:
    return path.read_text()


def date_like_text_inputs(source: str) -> list[str]:
    """The names of plain text inputs that look like they ask for a date."""
    names = []
    for found in TEXT_INPUT.finditer(source):
        named = NAME.search(found["body"])
        if named and DATE_LIKE.search(named["name"].strip('"')):
            names.append(named["name"])
    return names


def date_input_parts(source: str) -> list[list[str]]:
    """Each date input's item names, in order."""
    return [
        re.findall(r"""\{\s*"name"\s*:\s*"(day|month|year)\"""", found["body"])
        for found in DATE_INPUT.finditer(source)
    ]


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_asks_for_a_date_by_a_browser_picker_or_a_text_box(path):
    source = _source(path)
    assert not BROWSER_DATE.search(source), "use govukDateInput, not <input type=date>"
    assert date_like_text_inputs(source) == [], "a date asked in one text box: use govukDateInput"


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_date_input_has_its_parts_a_name_prefix_and_an_error_message(path):
    source = _source(path)
    for found, parts in zip(DATE_INPUT.finditer(source), date_input_parts(source), strict=True):
        assert parts in (["day", "month", "year"], ["month", "year"]), parts
        assert '"namePrefix"' in found["body"]
        assert '"errorMessage"' in found["body"]


def test_the_dates_people_give_are_all_date_inputs():
    """The forms that ask for a date (checked by hand in issue 21): a new audit's date graded,
    the conversation's date held and each agreed action's due date, an action's new due date,
    and the month of a programme draw."""
    counted = {
        str(path.relative_to(TEMPLATES)): len(DATE_INPUT.findall(_source(path)))
        for path in TEMPLATE_FILES
        if DATE_INPUT.search(_source(path))
    }
    assert counted == {
        "actions/action.html": 1,
        "audits/_grading.html": 1,
        "followups/followup.html": 2,
        "programme/programmes.html": 1,
    }


def test_the_scan_sees_a_date_in_a_text_box_and_a_browser_picker():
    one_box = '{{ govukInput({"id": "held_on", "name": "held_on", "label": {}}) }}'
    assert date_like_text_inputs(one_box) == ['"held_on"']
    assert date_like_text_inputs('{{ govukInput({"name": "case_id"}) }}') == []
    assert BROWSER_DATE.search('<input type="date" name="due">')
