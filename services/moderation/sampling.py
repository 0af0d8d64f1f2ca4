"""How sample rates move: the adaptive raise when moderators keep disagreeing, and a person's
change by hand, which stands for a window. Pure: plain values in, the change event out.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.auth import AccessRole, Caller, Forbidden, access_roles
from shared.events import SamplingRateChanged
from shared.events.vocabulary import SamplingChangeReason, ServiceArea
from shared.organisation import StaffMember


@dataclass(frozen=True)
class SamplingPolicy:
    default_rate: float
    window: int
    threshold: float
    raised_rate: float

    def rate_of(self, stored: "StoredRate | None") -> float:
        """An area's rate: as last set, else the default."""
        return self.default_rate if stored is None else stored.rate


@dataclass(frozen=True)
class StoredRate:
    """An area's rate as somebody (or adaptive moderation) last set it."""

    rate: float
    reason: SamplingChangeReason
    changed_at: datetime


def disagreement_rate(recent_differences: Sequence[int]) -> float:
    return sum(d != 0 for d in recent_differences) / len(recent_differences)


def adaptive_rate(
    recent_differences: Sequence[int],
    current_rate: float,
    *,
    window: int,
    threshold: float,
    raised_rate: float,
) -> float | None:
    """The raised rate when the last `window` moderations disagree more than `threshold`.

    None when nothing should change: too few moderations yet, disagreement within bounds, or
    the rate is already at least as high (a person may have set it higher).
    """
    if len(recent_differences) < window or current_rate >= raised_rate:
        return None
    return raised_rate if disagreement_rate(recent_differences[:window]) > threshold else None


def adapted_rate(
    area: ServiceArea,
    history: Sequence[tuple[datetime, int]],
    stored: StoredRate | None,
    policy: SamplingPolicy,
    now: datetime,
) -> SamplingRateChanged | None:
    """The adaptive raise of an area's rate, if its latest moderations call for one.

    `history` is (moderated_at, grade difference) of the area's latest moderations, newest
    first. A person's rate stands until a whole window of moderations after it disagrees: the
    disagreements they already weighed must not raise the rate straight back.
    """
    if stored is not None and stored.reason is SamplingChangeReason.MANUAL:
        history = [(at, d) for at, d in history if at > stored.changed_at]
    differences = [d for _, d in history[: policy.window]]
    current = policy.rate_of(stored)
    raised = adaptive_rate(
        differences,
        current,
        window=policy.window,
        threshold=policy.threshold,
        raised_rate=policy.raised_rate,
    )
    if raised is None:
        return None
    return SamplingRateChanged(
        service_area=area,
        previous_rate=current,
        new_rate=raised,
        reason=SamplingChangeReason.ADAPTIVE,
        changed_by=None,
        disagreement_rate=disagreement_rate(differences),
        changed_at=now,
    )


RATE_SETTERS: frozenset[AccessRole] = frozenset({AccessRole.ASSISTANT_DIRECTOR, AccessRole.ADMIN})
"""Who may change a sample rate: the route's permission (service.py) and this rule both read it."""


def may_change_rates(person: StaffMember | None) -> bool:
    """Only assistant directors and admins change sampling rates."""
    return person is not None and not access_roles(person).isdisjoint(RATE_SETTERS)


def require_rate_setter(person: StaffMember | None) -> None:
    """Refuse (403) anyone who may not change sampling rates."""
    if not may_change_rates(person):
        raise Forbidden("only assistant directors and admins change sampling rates")


def require_own_area(caller: Caller, area: ServiceArea) -> None:
    """Refuse (403) changing another service area's rate; admins may change any area's."""
    if not caller.sees_area(area.value):
        led = ", ".join(sorted(caller.service_areas)) or "none"
        raise Forbidden(
            f"you may change the sampling rate of your own service area only: {area.value} is "
            f"not yours (yours: {led})"
        )


@dataclass(frozen=True)
class ManualRate:
    """A person's new rate for an area."""

    service_area: ServiceArea
    rate: float
    changed_by: str


def change_by_hand(
    change: ManualRate,
    person: StaffMember | None,
    stored: StoredRate | None,
    policy: SamplingPolicy,
    now: datetime,
) -> SamplingRateChanged:
    """A person's change of an area's rate, if they may make it (`person` is who they are)."""
    require_rate_setter(person)
    return SamplingRateChanged(
        service_area=change.service_area,
        previous_rate=policy.rate_of(stored),
        new_rate=change.rate,
        reason=SamplingChangeReason.MANUAL,
        changed_by=change.changed_by,
        disagreement_rate=None,
        changed_at=now,
    )
