"""Run records of the wrong shape are skipped by ``hookrun stats``, like lines that do not parse."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hookswarm.executor import records
from hookswarm.executor.stats import summarize

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
