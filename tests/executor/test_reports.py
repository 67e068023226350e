"""Pure cores of the report verbs: statistics, critical path, timelines, durations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hookswarm.executor.profile import critical_path, summarize
from hookswarm.executor.results import HookResult
from hookswarm.executor.stats import parse_duration, percentile
from hookswarm.executor.stats import summarize as stats_summary
from hookswarm.executor.timeline import Bar, svg, text


@pytest.mark.parametrize(("after", "durations", "path", "length"), [
    ({}, {"a": 5, "b": 9}, ["b"], 9),
    ({"b": ["a"]}, {"a": 5, "b": 9}, ["a", "b"], 14),
    ({"c": ["a", "b"]}, {"a": 5, "b": 1, "c": 2}, ["a", "c"], 7),
    ({"b": ["a"], "c": ["b"], "d": []}, {"a": 1, "b": 1, "c": 1, "d": 2.5}, ["a", "b", "c"], 3),
])
def test_critical_path(after: dict[str, list[str]], durations: dict[str, float],
                       path: list[str], length: float) -> None:
    assert critical_path(list(durations), durations, after) == (path, length)


def result(name: str, start: float, end: float, status: str = "ok") -> HookResult:
    return HookResult(position=0, name=name, status=status, start=start, end=end)


def test_profile_summary_reports_spread_sequential_and_speedup() -> None:
    runs = [[result("a", 0, 0.010), result("b", 0, 0.030)],
            [result("a", 0, 0.020), result("b", 0, 0.040)],
            [result("a", 0, 0.030), result("b", 0, 0.050, "timeout")]]
    profile = summarize("Stop", runs, {})
    a, b = profile.hooks
    assert (a.min_ms, a.p50_ms, a.max_ms) == pytest.approx((10, 20, 30))
    assert b.statuses == {"ok": 2, "timeout": 1}
    assert profile.sequential_ms == pytest.approx(60)
    assert profile.wall_p50_ms == pytest.approx(40)
    assert profile.speedup == pytest.approx(1.5)
    assert [bar.name for bar in profile.timeline] == ["a", "b"]


def test_profile_json_gives_every_time_in_milliseconds() -> None:
    profile = summarize("Stop", [[result("a", 0.005, 0.015), result("b", 0.015, 0.045)]],
                        {"b": ["a"]})
    data = profile.as_json()
    assert data["timeline"] == [
        {"name": "a", "start_ms": pytest.approx(5), "end_ms": pytest.approx(15), "status": "ok"},
        {"name": "b", "start_ms": pytest.approx(15), "end_ms": pytest.approx(45), "status": "ok"}]
    assert data["wall_p50_ms"] == pytest.approx(data["timeline"][-1]["end_ms"])
    times = [key for key in [*data, *data["hooks"][0]] if key.endswith(("_s", "start", "end"))]
    assert times == []


@pytest.mark.parametrize(("text_value", "seconds"), [
    ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("1.5h", 5400), ("2w", 1209600)])
def test_durations(text_value: str, seconds: float) -> None:
    assert parse_duration(text_value) == seconds


@pytest.mark.parametrize("bad", ["", "10", "5y", "m5"])
def test_bad_durations_say_what_is_expected(bad: str) -> None:
    with pytest.raises(ValueError, match="such as 90s"):
        parse_duration(bad)


@pytest.mark.parametrize(("values", "fraction", "expected"), [
    ([], 0.5, 0.0), ([1.0], 0.95, 1.0), ([1.0, 2.0, 3.0], 0.5, 2.0),
    ([float(i) for i in range(1, 101)], 0.95, 95.0)])
def test_percentile(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_stats_count_failures_timeouts_and_timeout_pressure() -> None:
    def hook(name: str, ms: float, status: str = "ok") -> dict[str, object]:
        return {"name": name, "start_ms": 0, "end_ms": ms, "status": status, "timeout": 1.0}
    records = [{"ts": 100, "hooks": [hook("slow", 900), hook("ok", 5)]},
               {"ts": 200, "hooks": [hook("slow", 1000, "timeout"), hook("ok", 7, "error")]},
               {"ts": 300, "hooks": [hook("slow", 100)]}]
    slow, fast = stats_summary(records)
    assert (slow.name, slow.runs, slow.timeouts, slow.near_timeout) == ("slow", 3, 1, 2)
    assert (fast.name, fast.runs, fast.failures, fast.p50_ms) == ("ok", 2, 1, 5)
    (recent,) = [s for s in stats_summary(records, since=250)]
    assert (recent.name, recent.runs) == ("slow", 1)


def test_the_svg_parses_and_has_one_bar_per_hook() -> None:
    bars = [Bar("a <x>", 0, 0.01, "ok"), Bar("b", 0.005, 0.02, "timeout"),
            Bar('say "hi" <&> \u00fcn\u00ef', 0, 0.01, "ok"), Bar("ctl\x01x", 0, 0.01, "ok")]
    root = ET.fromstring(svg(bars, title="t & \"t\"\x1b"))
    rects = [el for el in root.iter("{http://www.w3.org/2000/svg}rect")
             if el.get("class") == "bar"]
    assert [r.get("data-hook") for r in rects] == [
        "a <x>", "b", 'say "hi" <&> \u00fcn\u00ef', "ctl?x"]


def test_the_text_timeline_scales_bars_to_the_width() -> None:
    lines = text([Bar("a", 0.0, 0.5, "ok"), Bar("b", 0.5, 1.0, "ok")], width=10).splitlines()
    assert lines[0].startswith("a |█████     |")
    assert lines[1].startswith("b |     █████|")
