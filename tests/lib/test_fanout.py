"""The fan-out: input order, retries, fail_fast, per-item timeouts, HTTP calls, ``swarm map``."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from hookswarm.lib.fanout import HttpCall, Outcome, State, fanout, summary
from hookswarm.lib.swarm.cli import cli
from tests.fakes.echo_http import EchoHTTP

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def echo_server() -> Iterator[EchoHTTP]:
    with EchoHTTP() as server:
        yield server


def test_outcomes_come_back_in_input_order_whatever_order_calls_end() -> None:
    arrived = threading.Barrier(4)

    def call(item: int) -> int:
        arrived.wait(timeout=10)  # all four run at once, so they end in any order
        return item * item

    outcomes = fanout(call, [3, 1, 4, 2], workers=4)
    assert [o.value for o in outcomes] == [9, 1, 16, 4]
    assert [o.index for o in outcomes] == [0, 1, 2, 3]
    assert {o.state for o in outcomes} == {State.OK}


def _flaky(failures: dict[str, int]) -> Any:
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def call(item: str) -> str:
        with lock:
            seen[item] += 1
            count = seen[item]
        if count <= failures.get(item, 0):
            raise RuntimeError(f"{item} failed on attempt {count}")
        return item.upper()

    return call


@pytest.mark.parametrize(("failures", "retries", "states", "attempts"), [
    ({}, 0, ["ok", "ok"], [1, 1]),
    ({"a": 1}, 0, ["failed", "ok"], [1, 1]),
    ({"a": 1}, 1, ["ok", "ok"], [2, 1]),
    ({"a": 2, "b": 1}, 1, ["failed", "ok"], [2, 2]),
    ({"a": 2, "b": 5}, 3, ["ok", "failed"], [3, 4]),
])
def test_retries_table(failures: dict[str, int], retries: int, states: list[str],
                       attempts: list[int]) -> None:
    outcomes = fanout(_flaky(failures), ["a", "b"], workers=2, retries=retries)
    assert [o.state.value for o in outcomes] == states
    assert [o.attempts for o in outcomes] == attempts
    failed = [o for o in outcomes if o.state is State.FAILED]
    assert all(o.error.startswith("RuntimeError: ") and o.value is None for o in failed)


def test_fail_fast_skips_what_had_not_started_and_keeps_what_ended() -> None:
    outcomes = fanout(_flaky({"c": 9}), ["a", "b", "c", "d", "e"], workers=1, fail_fast=True)
    assert [o.state for o in outcomes] == [State.OK, State.OK, State.FAILED, State.SKIPPED,
                                           State.SKIPPED]
    assert "fail_fast" in outcomes[3].error
    without = fanout(_flaky({"c": 9}), ["a", "b", "c", "d", "e"], workers=1)
    assert [o.state for o in without].count(State.OK) == 4


def test_a_call_past_its_timeout_is_timed_out_and_the_others_deliver() -> None:
    release = threading.Event()

    def call(item: str) -> str:
        if item == "stuck":
            release.wait(timeout=30)
        return item

    try:
        outcomes = fanout(call, ["a", "stuck", "b"], workers=3, timeout=0.2, retries=1)
    finally:
        release.set()
    assert [o.state for o in outcomes] == [State.OK, State.TIMED_OUT, State.OK]
    assert outcomes[1].error == "no answer within 0.2 s"
    assert outcomes[1].attempts == 2
    assert [o.value for o in outcomes if o.state is State.OK] == ["a", "b"]


@pytest.mark.parametrize("bad", [{"workers": 0}, {"retries": -1}, {"timeout": 0}])
def test_nonsense_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="workers must be"):
        fanout(str, [1], **bad)


def test_http_calls_fan_out_over_a_loopback_server(echo_server: EchoHTTP) -> None:
    items = [f"get/item{i}" for i in range(39)] + ["get/a b?", "fail/x"]
    with HttpCall(echo_server.url + "/{item}", timeout=5) as call:
        outcomes = fanout(call, items, workers=8)
    assert [o.value["path"] for o in outcomes[:40]] == [
        *(f"/get/item{i}" for i in range(39)), "/get/a%20b%3F"]
    assert outcomes[40].state is State.FAILED
    assert "500" in outcomes[40].error
    assert summary(outcomes, 1.0)["by_state"] == {"ok": 40, "failed": 1, "timed_out": 0,
                                                  "skipped": 0}


def test_progress_on_request_draws_a_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = fanout(str, [1, 2, 3], workers=2, progress=True)
    assert [o.value for o in outcomes] == ["1", "2", "3"]
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "fan-out (0 not ok)" in err


def test_swarm_map_prints_json_lines_in_order_and_exits_by_outcome(echo_server: EchoHTTP,
                                                                  tmp_path: Any) -> None:
    runner = CliRunner()
    url = echo_server.url + "/flaky/1/{item}"
    result = runner.invoke(cli, ["--dir", str(tmp_path), "map", url, "--workers", "4",
                                 "--retries", "1"], input="a\nb\nc\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["item"], r["value"]["path"], r["attempts"]) for r in rows] == [
        ("a", "/flaky/1/a", 2), ("b", "/flaky/1/b", 2), ("c", "/flaky/1/c", 2)]
    failing = runner.invoke(cli, ["--dir", str(tmp_path), "map", url, "--json", "--fail-fast",
                                  "--workers", "1"], input="x\ny\n")
    assert failing.exit_code == 1
    report = json.loads(failing.stdout)
    assert report["by_state"] == {"ok": 0, "failed": 1, "timed_out": 0, "skipped": 1}


def test_swarm_map_posts_each_json_line_and_refuses_a_url_that_is_not_http(
        echo_server: EchoHTTP, tmp_path: Any) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--dir", str(tmp_path), "map", echo_server.url + "/echo",
                                 "--method", "POST"], input='{"a": 1}\n[2]\n')
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == [
        {"echo": {"a": 1}}, {"echo": [2]}]
    bad = runner.invoke(cli, ["--dir", str(tmp_path), "map", "ftp://host/x"], input="a\n")
    assert bad.exit_code == 2
    assert "'ftp://host/x' is not an http:// or https:// URL" in bad.stderr


def test_swarm_map_with_post_rejects_a_line_that_is_not_json(tmp_path: Any) -> None:
    result = CliRunner().invoke(cli, ["--dir", str(tmp_path), "map", "http://127.0.0.1:9/echo",
                                      "--method", "POST"], input='{"ok": 1}\nnot json\n')
    assert result.exit_code == 2
    assert "--items: a line is not JSON" in result.stderr


def test_outcome_json_form() -> None:
    assert Outcome.skipped(2, "x").as_json() == {
        "index": 2, "item": "x", "state": "skipped", "value": None,
        "error": "skipped: an earlier item failed (fail_fast)", "attempts": 0}
