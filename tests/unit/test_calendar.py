from datetime import date

import pytest

from shared.calendar import WorkingDayCalendar

# The England and Wales bank holidays as published by GOV.UK (www.gov.uk/bank-holidays),
# typed in here as the independent check on the library the product relies on.
OFFICIAL_ENGLAND_AND_WALES = {
    2023: [
        "2023-01-02",
        "2023-04-07",
        "2023-04-10",
        "2023-05-01",
        "2023-05-08",
        "2023-05-29",
        "2023-08-28",
        "2023-12-25",
        "2023-12-26",
    ],
    2024: [
        "2024-01-01",
        "2024-03-29",
        "2024-04-01",
        "2024-05-06",
        "2024-05-27",
        "2024-08-26",
        "2024-12-25",
        "2024-12-26",
    ],
    2025: [
        "2025-01-01",
        "2025-04-18",
        "2025-04-21",
        "2025-05-05",
        "2025-05-26",
        "2025-08-25",
        "2025-12-25",
        "2025-12-26",
    ],
    2026: [
        "2026-01-01",
        "2026-04-03",
        "2026-04-06",
        "2026-05-04",
        "2026-05-25",
        "2026-08-31",
        "2026-12-25",
        "2026-12-28",
    ],
    2027: [
        "2027-01-01",
        "2027-03-26",
        "2027-03-29",
        "2027-05-03",
        "2027-05-31",
        "2027-08-30",
        "2027-12-27",
        "2027-12-28",
    ],
}

calendar = WorkingDayCalendar()


@pytest.mark.parametrize("year", sorted(OFFICIAL_ENGLAND_AND_WALES))
def test_calendar_agrees_with_the_official_bank_holiday_list(year):
    official = [date.fromisoformat(d) for d in OFFICIAL_ENGLAND_AND_WALES[year]]
    assert calendar.bank_holidays_in(year) == official


def test_substitute_day_for_boxing_day_2026_is_not_a_working_day():
    assert not calendar.is_working_day(date(2026, 12, 28))
    assert calendar.is_bank_holiday(date(2026, 12, 28))


def test_scottish_only_holidays_are_not_bank_holidays_in_england():
    assert calendar.is_working_day(date(2026, 1, 2))  # 2 January: Scotland only
    assert calendar.is_working_day(date(2026, 11, 30))  # St Andrew's Day: Scotland only


def test_fifth_working_day_after_a_monday_is_the_next_monday():
    assert calendar.add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)


def test_fifth_working_day_skips_christmas_and_the_substitute_days():
    # Graded Wed 23 Dec 2026: 24, 29, 30, 31 Dec and 4 Jan (25, 28 Dec and 1 Jan are holidays).
    assert calendar.add_working_days(date(2026, 12, 23), 5) == date(2027, 1, 4)


def test_grading_day_is_not_counted_even_on_a_weekend():
    assert calendar.add_working_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # Saturday


def test_roll_forward_moves_weekends_and_holidays_to_the_next_working_day():
    assert calendar.roll_forward(date(2026, 12, 25)) == date(2026, 12, 29)
    assert calendar.roll_forward(date(2026, 12, 29)) == date(2026, 12, 29)
    assert calendar.roll_forward(date(2027, 3, 26)) == date(2027, 3, 30)


def test_working_days_between_counts_after_start_up_to_end():
    assert calendar.working_days_between(date(2026, 11, 23), date(2026, 11, 30)) == 5
    assert calendar.working_days_between(date(2026, 11, 30), date(2026, 11, 23)) == 0


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        calendar.add_working_days(date(2026, 11, 23), -1)


def test_working_days_before_skips_back_over_holidays():
    assert calendar.working_days_before(date(2027, 1, 4), 1) == date(2026, 12, 31)
    assert calendar.working_days_before(date(2027, 1, 4), 2) == date(2026, 12, 30)
    assert calendar.working_days_before(date(2027, 3, 30), 1) == date(2027, 3, 25)  # Easter
    assert calendar.working_days_before(date(2026, 11, 30), 0) == date(2026, 11, 30)


def test_a_uk_day_starts_at_uk_midnight_whatever_the_season():
    from datetime import UTC, datetime

    from shared.calendar import uk_day_start

    assert uk_day_start(date(2026, 6, 1)) == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
    assert uk_day_start(date(2026, 12, 1)) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
