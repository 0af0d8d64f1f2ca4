from datetime import UTC, date, datetime

from services.audit.stats import GradedRow, Grouping, grade_distribution, target_progress
from shared.calendar import WorkingDayCalendar

calendar = WorkingDayCalendar()


def row(day: str, grade: str, team="EH-NORTH", service_area="early_help", area="north"):
    return GradedRow(
        datetime.fromisoformat(day).replace(tzinfo=UTC), grade, team, service_area, area
    )


ROWS = [
    row("2026-10-02", "good"),
    row("2026-10-09", "requires_improvement"),
    row("2026-10-20", "requires_improvement", "FS-SOUTH", "family_safeguarding", "south"),
    row("2026-10-31", "inadequate", "FS-SOUTH", "family_safeguarding", "south"),
    row("2026-11-03", "outstanding"),
]


def test_county_distribution_by_month_counts_and_percentages():
    october, november = grade_distribution(ROWS, Grouping.COUNTY)
    assert (october.month, october.group, october.total) == ("2026-10", "county", 4)
    assert october.counts == {
        "outstanding": 0,
        "good": 1,
        "requires_improvement": 2,
        "inadequate": 1,
    }
    assert october.percentages == {
        "outstanding": 0.0,
        "good": 25.0,
        "requires_improvement": 50.0,
        "inadequate": 25.0,
    }
    assert (november.month, november.total, november.percentages["outstanding"]) == (
        "2026-11",
        1,
        100.0,
    )


def test_distribution_by_service_area_splits_each_month():
    buckets = grade_distribution(ROWS, Grouping.SERVICE_AREA)
    assert [(b.month, b.group, b.total) for b in buckets] == [
        ("2026-10", "early_help", 2),
        ("2026-10", "family_safeguarding", 2),
        ("2026-11", "early_help", 1),
    ]


def test_percentages_are_rounded_to_one_decimal():
    [bucket] = grade_distribution(
        [row("2026-10-01", "good")] * 2 + [row("2026-10-02", "inadequate")], Grouping.TEAM
    )
    assert bucket.percentages["good"] == 66.7
    assert bucket.percentages["inadequate"] == 33.3


def test_target_pace_on_a_hand_counted_month():
    # November 2026 has 21 working days; before Thursday 26th, 18 have passed.
    progress = target_progress(done=30, target=50, today=date(2026, 11, 26), calendar=calendar)
    assert progress.working_days_in_month == 21
    assert progress.working_days_left == 3  # 26, 27 and 30 November
    assert progress.remaining == 20
    assert progress.needed_per_working_day == 6.7
    assert progress.expected_by_now == 42  # floor(50 * 18 / 21)
    assert progress.on_pace is False


def test_target_met_needs_nothing_more():
    progress = target_progress(done=55, target=50, today=date(2026, 12, 31), calendar=calendar)
    assert progress.remaining == 0
    assert progress.needed_per_working_day == 0.0
    assert progress.on_pace is True


def test_months_are_uk_months_so_a_late_evening_in_summer_counts_in_the_next_month():
    # 23:30 UTC on 31 May is 00:30 BST on 1 June; 23:30 UTC on 30 November is still November.
    rows = [row("2026-05-31T23:30:00", "good"), row("2026-11-30T23:30:00", "good")]
    assert [b.month for b in grade_distribution(rows, Grouping.COUNTY)] == ["2026-06", "2026-11"]
