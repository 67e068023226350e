"""Concurrency ``auto``: the sweet spot as pure tables, then measured on the scripted Ollama."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.config import SwarmConfig
from hookswarm.lib.swarm.sweetspot import (
    MEMORY,
    SERIAL_REASON,
    Level,
    Span,
    choose,
    levels_up_to,
    recall,
    serial,
)
from tests.fakes.ollama_api import FakeModel, OllamaAPI
from tests.helpers.swarm import Runner, swarm

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)


def level(concurrency: int, wall: float, *, count: int | None = None,
          latency: float | None = None) -> Level:
    """``count`` requests sent together, all done after ``wall`` s (each took ``latency``)."""
    each = wall if latency is None else latency
    spans = tuple(Span(0.0, 0.01, each if i else wall) for i in range(count or concurrency))
    return Level(concurrency, spans)


def in_turn(count: int, each: float) -> Level:
    """``count`` requests sent together that the server answered one after another."""
    return Level(count, tuple(Span(0.0, i * each + 0.01, (i + 1) * each) for i in range(count)))


@pytest.mark.parametrize(("levels", "chosen", "why"), [
    ([level(1, 1.0), level(2, 1.0), level(4, 1.0), level(8, 2.0)], 4,
     "8 concurrent requests gained +0% throughput over 4 (less than 10%)"),
    ([level(1, 1.0), level(2, 1.05), level(4, 2.0)], 2,
     "4 concurrent requests gained +5% throughput over 2 (less than 10%)"),
    ([level(1, 1.0), level(2, 1.9)], 1,
     "2 concurrent requests gained +5% throughput over 1 (less than 10%)"),
    ([level(1, 1.0), level(2, 1.0), level(4, 4.0, count=20, latency=3.5)], 2,
     "at 4 concurrent requests the median latency was 3.5x a single request's (limit 3x)"),
    ([level(1, 1.0), level(2, 1.0), level(4, 1.0), level(8, 1.0)], 8,
     "throughput still rose at 8 concurrent requests, the largest level tried"),
    ([level(1, 1.0), in_turn(2, 1.0)], 1, SERIAL_REASON),
])
def test_choose(levels: list[Level], chosen: int, why: str) -> None:
    assert choose(levels, min_gain=0.10, max_latency_ratio=3.0) == (chosen, why)


@pytest.mark.parametrize(("measured", "is_serial"), [
    (in_turn(2, 1.0), True), (in_turn(4, 0.5), True), (level(2, 1.0), False),
    (level(1, 1.0), False),
    (Level(2, (Span(0, 0.1, 1.0), Span(0, 0.9, 2.0))), False),
])
def test_serial(measured: Level, is_serial: bool) -> None:
    assert serial(measured) is is_serial


@pytest.mark.parametrize(("limit", "levels"), [(1, [1]), (2, [1, 2]), (8, [1, 2, 4, 8]),
                                               (6, [1, 2, 4, 6])])
def test_levels_up_to(limit: int, levels: list[int]) -> None:
    assert levels_up_to(limit) == levels


def auto_config(url: str) -> SwarmConfig:
    return SwarmConfig.model_validate({"pools": {"local": {
        "backend": "ollama", "endpoints": [{"url": url, "concurrency": "auto"}]}}})


def _tasks(model: str, count: int) -> list[dict[str, object]]:
    return [{"backend": "ollama", "pool": "local", "model": model, "prompt": f"t{i}"}
            for i in range(count)]


def test_auto_finds_the_peak_of_a_server_with_four_slots(run_swarm: Runner,
                                                         tmp_path: Path) -> None:
    with OllamaAPI(reply=lambda _: "w " * 10, num_parallel=4, token_delay=0.03) as api:
        run = run_swarm(_tasks("tiny", 8), config=auto_config(api.url))
    assert all(r["status"] == "succeeded" for r in run.results.values())
    memory = json.loads((tmp_path / ".swarm" / "sweetspot.json").read_text())
    chosen = memory[f"ollama {api.url} tiny"]
    assert chosen["concurrency"] in (2, 4, 8), chosen
    assert [lv["concurrency"] for lv in chosen["levels"]][:3] == [1, 2, 4]


def test_auto_uses_one_for_a_forced_serial_model_and_says_why(run_swarm: Runner,
                                                              tmp_path: Path) -> None:
    vision = FakeModel("vision", family="mllama")
    with OllamaAPI((vision,), reply=lambda _: "w " * 6, num_parallel=4,
                   token_delay=0.03) as api:
        run = run_swarm(_tasks("vision", 3), config=auto_config(api.url))
        (tmp_path / ".swarm" / "config.toml").write_text(
            f'[pools.local]\nbackend = "ollama"\nendpoints = [{{ url = "{api.url}", '
            'concurrency = "auto" }]\n')
        _, out, _ = swarm(tmp_path, "health")
    assert all(r["status"] == "succeeded" for r in run.results.values())
    chosen = json.loads((tmp_path / ".swarm" / "sweetspot.json").read_text())[
        f"ollama {api.url} vision"]
    assert (chosen["concurrency"], chosen["why"]) == (1, SERIAL_REASON)
    assert "concurrency: {'vision': 1}" in out
    assert "one request at a time" in out


def test_a_remembered_choice_is_not_measured_again(run_swarm: Runner, tmp_path: Path) -> None:
    with OllamaAPI(num_parallel=2) as api:
        (tmp_path / ".swarm").mkdir(exist_ok=True)
        (tmp_path / ".swarm" / "sweetspot.json").write_text(json.dumps({
            f"ollama {api.url} tiny": {"concurrency": 3, "why": "measured", "when": "then"}}))
        run = run_swarm(_tasks("tiny", 2), config=auto_config(api.url))
        chats = api.requests("/api/chat")
    assert all(r["status"] == "succeeded" for r in run.results.values())
    assert len(chats) == 3  # the warm-up and the two tasks: no measuring requests


def test_a_memory_nested_past_the_parsers_depth_is_forgotten(tmp_path: Path) -> None:
    (tmp_path / MEMORY).write_text("[" * 100000)
    assert recall(tmp_path) == {}
