"""Run records of the wrong shape are skipped by ``hookrun stats``, like lines that do not parse."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from hookswarm.executor import records
from hookswarm.executor.stats import summarize

if TYPE_CHECKING:
    from pathlib import Path

GOOD = {"ts": 0, "hooks": [{"name": "x", "start_ms": 0, "end_ms": 5, "status": "ok",
                            "timeout": 1}]}


@pytest.mark.parametrize("line", [
    '{"hooks":null}',
    '{"hooks":{"name":"x"}}',
    '{"hooks":[null]}',
    '{"hooks":["x"]}',
    '{"hooks":[{"name":"x","start_ms":null,"end_ms":3}]}',
    '{"hooks":[{"name":"x","start_ms":"1","end_ms":"3"}]}',
    '{"hooks":[{"name":null,"start_ms":1,"end_ms":3}]}',
    '{"hooks":[{"name":["x"],"start_ms":1,"end_ms":3}]}',
    '{"hooks":[{"name":"x","start_ms":1,"end_ms":3,"status":["error"]}]}',
    '{"hooks":[{"name":"x","start_ms":1,"end_ms":3,"timeout":"5"}]}',
    '{"ts":null,"hooks":[]}',
    '{"ts":"yesterday","hooks":[{"name":"x","start_ms":1,"end_ms":3}]}',
    "[1]",
    "{garbled",
])
@pytest.mark.parametrize("since", [None, 0.0])
def test_a_record_of_the_wrong_shape_is_skipped(tmp_path: Path, line: str,
                                                since: float | None) -> None:
    path = tmp_path / records.RECORDS_FILE
    path.write_text(f"{json.dumps(GOOD)}\n{line}\n{json.dumps(GOOD)}\n")
    (stats,) = summarize(records.read(str(tmp_path)), since=since)
    assert (stats.name, stats.runs, stats.failures, stats.p95_ms) == ("x", 2, 0, 5)


def test_a_hook_without_optional_fields_still_counts(tmp_path: Path) -> None:
    (tmp_path / records.RECORDS_FILE).write_text('{"hooks":[{"name":"x","end_ms":7}]}\n{}\n')
    (stats,) = summarize(records.read(str(tmp_path)), since=None)
    assert (stats.runs, stats.p50_ms, stats.near_timeout) == (1, 7, 0)


def test_since_still_filters_by_timestamp(tmp_path: Path) -> None:
    old, new = {**GOOD, "ts": time.time() - 7200}, {**GOOD, "ts": time.time()}
    (tmp_path / records.RECORDS_FILE).write_text(f"{json.dumps(old)}\n{json.dumps(new)}\n")
    (stats,) = summarize(records.read(str(tmp_path)), since=time.time() - 3600)
    assert stats.runs == 1


def entry(name: str, ms: float, status: str = "ok", **extra: object) -> dict[str, object]:
    return {"name": name, "start_ms": 0.0, "end_ms": ms, "status": status, **extra}


def test_cancelled_and_skipped_hooks_have_columns_of_their_own_and_no_timing() -> None:
    records = [{"ts": 1, "hooks": [entry("log", 10), entry("deny", 2)]},
               {"ts": 2, "hooks": [entry("log", 0.5, "cancelled"), entry("deny", 2)]},
               {"ts": 3, "hooks": [entry("log", 0, "skipped"), entry("deny", 2)]},
               {"ts": 4, "hooks": [entry("late", 0, "skipped")]}]
    by_name = {s.name: s for s in summarize(records)}
    log = by_name["log"]
    assert (log.runs, log.failures, log.cancelled, log.skipped) == (1, 0, 1, 1)
    assert (log.p50_ms, log.p95_ms, log.max_ms) == (10, 10, 10)
    late = by_name["late"]
    assert (late.runs, late.skipped, late.p95_ms) == (0, 1, 0.0)


def test_context_bytes_are_a_mean_per_finished_run_and_cuts_are_counted() -> None:
    records = [{"hooks": [entry("git", 1, context_bytes=300, context_cut=False)]},
               {"hooks": [entry("git", 1, context_bytes=900, context_cut=True)]},
               {"hooks": [entry("git", 1, "cancelled", context_bytes=0)]}]
    (git,) = summarize(records)
    assert (git.context_bytes, git.context_cut, git.runs) == (600, 1, 2)


def test_json_numbers_are_rounded() -> None:
    records = [{"hooks": [entry("x", 381.21000000000004, context_bytes=1)]},
               {"hooks": [entry("x", 1 / 3, context_bytes=2)]}]
    (stats,) = summarize(records)
    data = stats.as_json()
    assert (data["max_ms"], data["p50_ms"], data["context_bytes"]) == (381.21, 0.33, 1.5)
    floats = [v for v in data.values() if isinstance(v, float)]
    assert floats
    assert all(len(repr(v).partition(".")[2]) <= 2 for v in floats)
