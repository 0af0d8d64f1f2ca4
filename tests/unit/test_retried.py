"""A transaction that loses a race (deadlock, serialization failure) runs again; nothing else."""

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.db import retried

pytestmark = pytest.mark.unit


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def failing(times: int, sqlstate: str, calls: list[int]):
    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("UPDATE timers ...", {}, _Orig(sqlstate))
        return "done"

    return work


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
def test_a_lost_race_is_run_again_and_the_caller_sees_only_the_result(sqlstate):
    calls: list[int] = []
    assert retried(failing(2, sqlstate, calls)) == "done"
    assert len(calls) == 3


def test_a_race_lost_every_time_reaches_the_caller_after_the_last_attempt():
    calls: list[int] = []
    with pytest.raises(DBAPIError):
        retried(failing(5, "40P01", calls), attempts=3)
    assert len(calls) == 3


def test_any_other_database_error_is_not_run_again():
    calls: list[int] = []
    with pytest.raises(DBAPIError):
        retried(failing(1, "23505", calls))  # a unique violation: running again cannot help
    assert len(calls) == 1
