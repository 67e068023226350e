"""``swarm bench``: the table, the JSON and the chart, pure and against the scripted Ollama."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from hookswarm.lib.swarm.bench import rows, svg, table
from hookswarm.lib.swarm.sweetspot import Level, Span
from tests.fakes.ollama_api import OllamaAPI
from tests.helpers.swarm import swarm

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(60)


def _level(concurrency: int, latencies: list[float]) -> Level:
    return Level(concurrency, tuple(Span(0.0, 0.1, s) for s in latencies))


def test_rows_compare_each_level_with_the_sequential_one() -> None:
    found = rows("warm", [_level(1, [1.0, 2.0]), _level(2, [0.5, 1.0])])
    assert [(r.concurrency, r.tasks, r.wall_s, r.per_s, r.speedup) for r in found] == [
        (1, 2, 2.0, 1.0, 1.0), (2, 2, 1.0, 2.0, 2.0)]
    assert [(r.min_s, r.max_s, r.ttft_s) for r in found] == [(1.0, 2.0, 0.1), (0.5, 1.0, 0.1)]
    lines = table(found).splitlines()
    assert lines[0].split() == ["MODE", "LEVEL", "TASKS", "WALL_S", "TASKS/S", "VS_SEQ",
                                "TASK_MIN_S", "TASK_MAX_S", "TTFT_S"]
    assert lines[2].split()[:6] == ["warm", "2", "2", "1.00", "2.00", "2.00x"]


def test_the_chart_is_valid_svg_with_a_line_per_mode() -> None:
    found = (rows("warm", [_level(1, [1.0]), _level(2, [1.0, 1.0])])
             + rows("cold", [_level(1, [2.0]), _level(2, [2.0, 2.0])]))
    root = ET.fromstring(svg(found, title="m <on> host"))
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2
    assert all(len(line.get("points", "").split()) == 2 for line in lines)


def test_bench_prints_warm_and_cold_rows_and_writes_the_chart(tmp_path: Path) -> None:
    chart = tmp_path / "bench.svg"
    with OllamaAPI(reply=lambda _: "w " * 4, num_parallel=2, load_delay=0.05) as api:
        code, out, err = swarm(tmp_path, "bench", "--backend", "ollama", "--endpoint", api.url,
                               "--model", "tiny", "--levels", "1,2", "-n", "2", "--json",
                               "--chart", str(chart))
        unloads = [b for _, _, b in api.requests("/api/chat") if b.get("keep_alive") == 0]
    assert code == 0, err
    report = json.loads(out)
    assert [(r["mode"], r["concurrency"], r["tasks"]) for r in report["rows"]] == [
        ("warm", 1, 2), ("warm", 2, 2), ("cold", 1, 2), ("cold", 2, 2)]
    assert len(unloads) == 2
    assert ET.parse(chart).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_bench_of_an_openai_server_has_no_cold_rows(tmp_path: Path) -> None:
    with OllamaAPI() as api:
        code, out, _ = swarm(tmp_path, "bench", "--backend", "openai", "--endpoint",
                             api.url + "/v1", "--model", "tiny", "--levels", "1,2", "-n", "2")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["warm", "warm"]


@pytest.mark.parametrize(("args", "message"), [
    (["--levels", "1,x"], "'1,x' is not a comma-separated list of counts like 1,2,4,8"),
    (["--levels", "0,2"], "is not a comma-separated list"),
    (["--pool", "p", "--endpoint", "http://h"], "give --endpoint URL or --pool NAME"),
    (["--pool", "p"], "no pool named 'p' in .swarm/config.toml"),
])
def test_bench_input_errors(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = swarm(tmp_path, "bench", "--backend", "ollama", "--model", "m", *args)
    assert code == 2
    assert message in err


def test_bench_of_a_dead_endpoint_says_so(tmp_path: Path) -> None:
    with OllamaAPI() as api:
        url = api.url
    code, _, err = swarm(tmp_path, "bench", "--backend", "ollama", "--endpoint", url,
                         "--model", "tiny")
    assert code == 1
    assert f"swarm bench: {url} unreachable" in err
