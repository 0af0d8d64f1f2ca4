"""When a failed delivery is tried again, and when the day's digest is due (no database)."""

from datetime import UTC, datetime, time, timedelta

from services.notifications.delivery import MAX_BACKOFF, RetryPolicy
from services.notifications.digest import digest_cutoff
from shared.calendar import UK

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, backoff=timedelta(seconds=60))


def test_each_failure_doubles_the_wait_before_the_next_try():
    waits = [POLICY.next_attempt(attempts, False, NOW) for attempts in (1, 2, 3)]
    assert waits == [NOW + timedelta(seconds=s) for s in (60, 120, 240)]


def test_the_wait_never_grows_beyond_an_hour():
    assert POLICY.next_attempt(30, False, NOW) == NOW + MAX_BACKOFF


def test_a_lasting_refusal_gives_up_once_the_attempts_are_used():
    assert POLICY.next_attempt(2, True, NOW) == NOW + timedelta(seconds=120)
    assert POLICY.next_attempt(3, True, NOW) is None


def test_an_unreachable_server_never_uses_up_the_attempts():
    assert POLICY.next_attempt(10, False, NOW) is not None


def test_no_digest_is_due_before_the_days_digest_time_in_uk_time():
    # 07:29 GMT in November; in summer 07:30 UK time is 06:30 UTC.
    assert digest_cutoff(datetime(2026, 11, 24, 7, 29, tzinfo=UTC), time(7, 30)) is None
    assert digest_cutoff(datetime(2026, 7, 1, 6, 29, tzinfo=UTC), time(7, 30)) is None


def test_from_the_digest_time_on_items_held_before_it_are_due():
    cutoff = digest_cutoff(datetime(2026, 7, 1, 6, 30, tzinfo=UTC), time(7, 30))
    assert cutoff == datetime(2026, 7, 1, 7, 30, tzinfo=UK)
    assert digest_cutoff(NOW, time(7, 30)) == datetime(2026, 11, 23, 7, 30, tzinfo=UK)
