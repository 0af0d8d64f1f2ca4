"""Warnings a writer must confirm before a record is saved: the one mechanism for all of them.

Some input is allowed but usually a mistake: free text that looks like a child's name or
address, an overall grade the domain grades contradict. Refusing it would stop a writer who is
right; saving it silently would let the mistake through. So the use case lists its cautions,
and unless the request names each caution's code in `confirmed`, it answers 422 with one entry
per caution (`type` "needs_confirmation", `ctx.confirm` the code to send back). A page shows
them as warnings with a box to tick; an API caller resends with the codes.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from shared.errors import FieldProblem, RuleBroken

NEEDS_CONFIRMATION = "needs_confirmation"


@dataclass(frozen=True)
class Caution:
    """Something the writer should look at again: the field, why, and the code that confirms it."""

    code: str
    field: str
    message: str


class NeedsConfirmation(RuleBroken):
    def __init__(self, cautions: list[Caution]) -> None:
        super().__init__(
            NEEDS_CONFIRMATION,
            [
                FieldProblem(
                    caution.field,
                    f"{caution.message}; to keep it as it is, confirm {caution.code!r}",
                    confirm=caution.code,
                )
                for caution in cautions
            ],
        )
        self.cautions = cautions


def require_confirmed(cautions: Iterable[Caution], confirmed: Collection[str]) -> None:
    """Refuse (422) while any caution's code is missing from what the writer confirmed."""
    unconfirmed = [caution for caution in cautions if caution.code not in confirmed]
    if unconfirmed:
        raise NeedsConfirmation(unconfirmed)
