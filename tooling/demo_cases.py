"""The demo's case register: open cases in every team, as the case management system would
announce them (`qa.case.opened.v2` on `case.events`), so the QA lead has a month to draw.

Each team holds CASES_PER_TEAM open cases of the plan its service area works with, held by its
practitioners, opened over the last year; one in eight is planned to close within the month, so
the draw has some to skip. Generated from a fixed seed: the same cases, people and plans every
run (their dates count back from today), so a second run moves nobody in the register.
"""

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from aiokafka import AIOKafkaProducer

from shared.events import CaseOpenedV2, new_event, serialize
from shared.events.topics import CASE_EVENTS
from shared.events.vocabulary import PlanType, ServiceArea
from shared.organisation import Organisation, Role

CASES_PER_TEAM = 8
SOURCE = "/case-management"
PLANS: dict[ServiceArea, tuple[PlanType, tuple[str | None, ...]]] = {
    ServiceArea.EARLY_HELP: (PlanType.EARLY_HELP, (None,)),
    ServiceArea.ASSESSMENT_INTERVENTION: (PlanType.CHILD_IN_NEED, (None,)),
    ServiceArea.FAMILY_SAFEGUARDING: (PlanType.CHILD_PROTECTION, (None,)),
    # SSDA903 legal statuses: C2 full care order, V2 section 20, E1 placement order
    ServiceArea.CHILDREN_WE_CARE_FOR: (PlanType.CHILD_WE_CARE_FOR, ("C2", "C2", "V2", "E1")),
    ServiceArea.CARE_LEAVERS: (PlanType.CARE_LEAVER, (None,)),
}


def demo_case_openings(organisation: Organisation, today: date) -> list[CaseOpenedV2]:
    """The demo's open cases, team by team (case references `CASE-DC<team><n>`)."""
    rng = random.Random("qa-demo:cases")  # noqa: S311 - a fixed demo, nothing secret
    openings = []
    for number, team in enumerate(sorted(organisation.teams, key=lambda t: t.id), start=1):
        practitioners = sorted(
            m.id for m in organisation.staff if m.team == team.id and m.role is Role.PRACTITIONER
        )
        if not practitioners:
            continue
        plan, statuses = PLANS[team.service_area]
        for n in range(1, CASES_PER_TEAM + 1):
            opened_on = today - timedelta(days=rng.randint(20, 360))
            closing = today + timedelta(days=rng.randint(3, 25)) if n % 8 == 0 else None
            openings.append(
                CaseOpenedV2(
                    case_id=f"CASE-DC{number:02d}{n:03d}",
                    team_id=team.id,
                    practitioner_id=rng.choice(practitioners),
                    team_manager_id=team.team_manager,
                    plan_type=plan,
                    legal_status=rng.choice(statuses),
                    opened_on=opened_on,
                    closing_on=closing,
                    opened_at=datetime.combine(opened_on, time(10), tzinfo=UTC),
                )
            )
    return openings


async def _publish(bootstrap_servers: str, openings: Sequence[CaseOpenedV2]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for opening in openings:
            event = new_event(opening, source=SOURCE)
            await producer.send_and_wait(
                CASE_EVENTS, serialize(event), key=opening.case_id.encode()
            )
    finally:
        await producer.stop()


def publish_demo_cases(bootstrap_servers: str, organisation: Organisation, today: date) -> int:
    """Announce the demo's open cases on the local broker; how many were sent."""
    openings = demo_case_openings(organisation, today)
    asyncio.run(_publish(bootstrap_servers, openings))
    return len(openings)
