"""The benchmark's own arithmetic and plan: what it prints must mean what it says."""

import math
from datetime import date

import pytest

from tooling.bench.figures import Figure
from tooling.bench.history_measure import months_back, route_absent, stats_routes
from tooling.bench.measures import cpu_percent, latencies_ms, per_second, percentile, ratio


def test_a_figure_prints_as_one_bench_line():
    assert Figure("raw_relay", 24012.4, "events/s").line() == "bench: raw_relay 2.401e+04 events/s"
    assert Figure("e2e_email_p99_ms@50", 812.0, "ms").line() == "bench: e2e_email_p99_ms@50 812 ms"
    assert Figure("x", math.nan, "ms").line() == "bench: x nan ms"


def test_rates_ratios_and_cpu_share_never_divide_by_zero():
    assert per_second(500, 2.0) == 250
    assert math.isnan(per_second(500, 0))
    assert ratio(88, 1750) == 88 / 1750
    assert math.isnan(ratio(88, 0))
    assert cpu_percent(0.3, 15) == 2.0


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7
    assert math.isnan(percentile([], 0.5))


def test_an_event_that_never_arrives_counts_as_the_deadline():
    took, missed = latencies_ms({"a": 10.0, "b": 10.0, "c": 10.0}, {"a": 10.2, "c": 50.0}, 30)
    assert took == pytest.approx([200.0, 30000.0, 30000.0])
    assert missed == 2


def test_the_history_figures_ask_for_the_dashboards_twelve_months():
    assert months_back(date(2026, 12, 2)) == ("2026-01", "2026-12")
    assert months_back(date(2027, 1, 15)) == ("2026-02", "2027-01")
    routes = {route.figure: route for route in stats_routes(date(2026, 12, 2))}
    assert routes["stats_grades_ms"].params == {"from_month": "2026-01", "to_month": "2026-12"}
    assert routes["stats_target_ms"].params == {"month": "2026-12"}
    assert {route.service for route in routes.values()} == {"audit", "moderation", "scheduler"}


def test_only_fastapis_own_404_means_a_route_is_absent():
    assert route_absent(404, {"detail": "Not Found"})
    assert not route_absent(404, {"detail": "no moderation 'M1'"})
    assert not route_absent(200, {"detail": "Not Found"})
