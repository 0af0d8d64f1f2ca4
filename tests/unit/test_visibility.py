"""Who may see an audit (shared.visibility): the rule, and the same rule as a list's SQL."""

from itertools import product

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from shared.auth import AccessRole, Caller, Forbidden, caller_from_claims
from shared.events.vocabulary import ServiceArea
from shared.organisation import load_organisation
from shared.visibility import (
    AuditPeople,
    PeopleColumns,
    areas_in_view,
    may_see,
    require_visible,
    visible_where,
)

ORG = load_organisation()
# An Early Help audit by S0013 (another team's manager) of a case held by S0006 in S0005's
# team, moderated by S0018. S0003 and S0001 lead Early Help; S0045 leads another area; S0004
# is the QA lead.
AUDIT = AuditPeople(
    "early_help",
    auditor_id="S0013",
    practitioner_id="S0006",
    team_manager_id="S0005",
    moderator_ids=frozenset({"S0018"}),
)


def person(staff_id: str) -> Caller:
    return caller_from_claims({"sub": staff_id}, ORG)


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("S0013", "its auditor"),
        ("S0006", "the case's practitioner"),
        ("S0005", "the case's team manager"),
        ("S0018", "the moderator assigned"),
        ("S0003", "the Head of Service of its service area"),
        ("S0001", "the assistant director of its service area"),
        ("S9001", "an admin"),
        ("S0004", "the QA lead"),
    ],
)
def test_the_people_the_rule_names_may_see_the_audit(who, why):
    assert may_see(person(who), AUDIT), why


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("S0007", "another practitioner of the same team"),
        ("S0009", "another team's manager"),
        ("S0032", "a moderator not assigned to it"),
        ("S0045", "another area's Head of Service"),
        ("S0002", "another area's assistant director"),
    ],
)
def test_no_one_else_may_see_it(who, why):
    assert not may_see(person(who), AUDIT), why


def test_machine_callers_see_every_audit():
    assert may_see(Caller("reporting", frozenset({AccessRole.SERVICE})), AUDIT)


def test_the_qa_lead_reads_every_audit_of_every_area_but_leads_none():
    lead = person("S0004")
    assert AccessRole.QA_LEAD in lead.roles
    assert not lead.service_areas
    assert not lead.sees_every_area  # reading only: the area checks of changes still refuse
    assert may_see(lead, AuditPeople("care_leavers"))
    assert areas_in_view(lead) == sorted(area.value for area in ServiceArea)


def test_statistics_show_the_areas_a_caller_leads_or_all_of_them():
    assert areas_in_view(person("S0001")) == ["assessment_intervention", "early_help"]
    assert areas_in_view(person("S9001")) == areas_in_view(person("S0004"))
    assert len(areas_in_view(person("S9001"))) == len(ServiceArea)
    assert areas_in_view(person("S0006")) == []


def test_people_not_known_yet_name_no_one():
    assert AuditPeople("early_help").named == frozenset()
    assert not may_see(person("S0006"), AuditPeople("early_help"))
    assert may_see(person("S0003"), AuditPeople("early_help"))


def test_a_refusal_names_the_record_and_why():
    with pytest.raises(Forbidden) as refused:
        require_visible(person("S0045"), AUDIT, "this follow-up")
    assert str(refused.value) == (
        "this follow-up is not yours to see: its audit does not name you and early_help is "
        "not one of your service areas"
    )
    require_visible(person("S0006"), AUDIT, "this follow-up")


METADATA = MetaData()
RECORDS = Table(
    "records",
    METADATA,
    Column("id", String, primary_key=True),
    Column("service_area", String),
    Column("auditor_id", String),
    Column("practitioner_id", String),
    Column("team_manager_id", String, nullable=True),
)
MODERATORS = Table(
    "moderators",
    METADATA,
    Column("audit_id", String, primary_key=True),
    Column("moderator_id", String, primary_key=True),
)
COLUMNS = PeopleColumns(
    service_area=RECORDS.c.service_area,
    named=(RECORDS.c.auditor_id, RECORDS.c.practitioner_id, RECORDS.c.team_manager_id),
    audit_id=RECORDS.c.id,
    moderators=(MODERATORS.c.audit_id, MODERATORS.c.moderator_id),
)


def test_a_list_filtered_in_sql_holds_exactly_what_may_see_allows(sqlite_engine):
    # Every combination of area and people among a few staff, some moderated, some unknown.
    staff = ("S0013", "S0006", "S0005", "S0018", None)
    audits = {}
    for n, (area, auditor, practitioner, manager, moderator) in enumerate(
        product(("early_help", "care_leavers"), staff[:2], staff[1:3], staff[2:], staff[3:])
    ):
        audits[f"A{n}"] = AuditPeople(
            area, auditor, practitioner, manager, frozenset({moderator} if moderator else ())
        )
    METADATA.create_all(sqlite_engine)
    with sqlite_engine.begin() as connection:
        for audit_id, people in audits.items():
            row = {
                "id": audit_id,
                "service_area": people.service_area,
                "auditor_id": people.auditor_id,
                "practitioner_id": people.practitioner_id,
                "team_manager_id": people.team_manager_id,
            }
            connection.execute(insert(RECORDS).values(row))
            for moderator in people.moderator_ids:
                connection.execute(
                    insert(MODERATORS).values(audit_id=audit_id, moderator_id=moderator)
                )
    callers = [person(p) for p in ("S0013", "S0006", "S0005", "S0018", "S0003", "S0059", "S0002")]
    callers += [person("S0009"), person("S9001"), Caller("etl", frozenset({AccessRole.SERVICE}))]
    callers += [person("S0004")]
    seen = {}
    with sqlite_engine.connect() as connection:
        for caller in callers:
            query = select(RECORDS.c.id).where(visible_where(caller, COLUMNS))
            listed = set(connection.execute(query).scalars())
            expected = {audit_id for audit_id, people in audits.items() if may_see(caller, people)}
            assert listed == expected, caller.id
            seen[caller.id] = len(listed)
    # Not a vacuous agreement: everyone but the other team's manager sees some, none sees all
    # but those who see everything.
    assert seen.pop("S0009") == 0
    assert seen.pop("S9001") == seen.pop("etl") == seen.pop("S0004") == len(audits)
    assert all(0 < count < len(audits) for count in seen.values()), seen
