"""The ``ollama`` and ``openai`` backends through the coordinator, against the scripted Ollama."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.lib.swarm.config import SwarmConfig, load_config
from hookswarm.lib.swarm.errors import TaskFileError
from tests.fakes.ollama_api import OllamaAPI
from tests.helpers.processes import wait_until
from tests.helpers.swarm import Runner, swarm

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def ollama() -> Iterator[OllamaAPI]:
    """A scripted Ollama with one model, ``tiny``, answering "ok <first word>"."""
    with OllamaAPI() as api:
        yield api


def pool_config(*urls: str, concurrency: int | str = 1, **pool: Any) -> SwarmConfig:
    endpoints = [{"url": u, "concurrency": concurrency} for u in urls]
    return SwarmConfig.model_validate(
        {"pools": {"local": {"backend": pool.pop("backend", "ollama"), "endpoints": endpoints,
                             **pool}}})


def test_an_ollama_task_streams_its_answer_into_the_log(run_swarm: Runner,
                                                        ollama: OllamaAPI) -> None:
    run = run_swarm([{"backend": "ollama", "endpoint": ollama.url, "model": "tiny",
                      "prompt": "hello there", "system": "be brief",
                      "options": {"num_ctx": 2048, "temperature": 0, "seed": 7}}])
    result = run.results[run.ids[0]]
    assert result["status"] == "succeeded", result["reason"]
    assert Path(result["log"]).read_text() == "ok hello"
    assert result["worker"]["endpoint"] == ollama.url
    assert result["worker"]["stats"]["eval_count"] == 2
    chat = ollama.requests("/api/chat")[-1][2]
    assert chat["options"] == {"num_ctx": 2048, "temperature": 0, "seed": 7}
    assert chat["messages"][0] == {"role": "system", "content": "be brief"}
    assert chat["stream"] is True


def test_the_pool_warms_the_model_and_keeps_it_loaded(run_swarm: Runner,
                                                      ollama: OllamaAPI) -> None:
    config = pool_config(ollama.url, keep_alive="10m")
    run = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny", "prompt": "a"},
                     {"backend": "ollama", "pool": "local", "model": "tiny", "prompt": "b"}],
                    config=config)
    warm_up, *tasks = ollama.requests("/api/chat")
    assert warm_up[2] == {"model": "tiny", "messages": [], "keep_alive": "10m"}
    assert [t[2]["keep_alive"] for t in tasks] == ["10m", "10m"]
    assert all(r["worker"]["warm"] for r in run.results.values())
    assert all(r["worker"]["ttft_s"] is not None for r in run.results.values())
    assert ollama.loads == 1
    assert ollama.loaded() == ["tiny:latest"]


def test_without_warm_up_the_first_task_is_cold_and_the_next_warm(run_swarm: Runner) -> None:
    with OllamaAPI(load_delay=0.2) as api:
        run = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny", "prompt": "a",
                          "id": "first"}], config=pool_config(api.url, warm_up=False))
        again = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny",
                            "prompt": "b", "id": "second"}],
                          config=pool_config(api.url, warm_up=False))
    assert run.results["first"]["worker"]["warm"] is False
    assert again.results["second"]["worker"]["warm"] is True  # /api/ps listed it


def test_an_unknown_model_fails_naming_what_the_server_has(run_swarm: Runner,
                                                           ollama: OllamaAPI) -> None:
    run = run_swarm([{"backend": "ollama", "pool": "local", "model": "huge", "prompt": "x"}],
                    config=pool_config(ollama.url))
    result = run.results[run.ids[0]]
    assert result["status"] == "failed"
    assert "does not have model 'huge' (it has: tiny:latest)" in result["reason"]
    assert ollama.requests("/api/chat") == []


def test_a_task_naming_an_unknown_pool_fails_with_the_configured_ones(run_swarm: Runner,
                                                                      ollama: OllamaAPI) -> None:
    run = run_swarm([{"backend": "ollama", "pool": "gpu", "model": "tiny", "prompt": "x"}],
                    config=pool_config(ollama.url))
    reason = run.results[run.ids[0]]["reason"]
    assert "no pool named 'gpu' in .swarm/config.toml (configured: local)" in reason


def test_the_openai_backend_streams_sse(run_swarm: Runner, ollama: OllamaAPI) -> None:
    run = run_swarm([{"backend": "openai", "endpoint": ollama.url + "/v1", "model": "tiny",
                      "prompt": "sse please", "options": {"max_tokens": 1, "seed": 3}}])
    result = run.results[run.ids[0]]
    assert result["status"] == "succeeded", result["reason"]
    assert Path(result["log"]).read_text() == "ok "
    body = ollama.requests("/v1/chat/completions")[-1][2]
    assert (body["max_tokens"], body["seed"], body["stream"]) == (1, 3, True)


def test_tokens_are_the_heartbeat_of_a_slow_answer(run_swarm: Runner) -> None:
    """Ten tokens 0.2 s apart outlast a 1 s silence limit only because each one counts."""
    with OllamaAPI(reply=lambda _: "w " * 10, token_delay=0.2) as api:
        run = run_swarm([{"backend": "ollama", "endpoint": api.url, "model": "tiny",
                          "prompt": "slow", "timeouts": {"silence_warn": 0.8,
                                                         "silence_kill": 1.0}}])
    result = run.results[run.ids[0]]
    assert result["status"] == "succeeded", result["reason"]
    assert result["warned"] is False
    assert result["output_bytes"] == 20


def test_a_silent_model_is_killed_for_silence(run_swarm: Runner) -> None:
    with OllamaAPI(load_delay=30) as api:
        config = pool_config(api.url, warm_up=False)
        run = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny",
                          "prompt": "x", "timeouts": {"silence_warn": 0.2,
                                                      "silence_kill": 0.4}}], config=config)
    assert run.results[run.ids[0]]["status"] == "killed_silent"


def test_a_pool_spreads_tasks_and_keeps_each_endpoints_concurrency(run_swarm: Runner) -> None:
    with (OllamaAPI(reply=lambda _: "a b c", token_delay=0.02, num_parallel=8) as one,
          OllamaAPI(reply=lambda _: "a b c", token_delay=0.02, num_parallel=8) as two):
        run = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny",
                          "prompt": f"t{i}"} for i in range(8)],
                        config=pool_config(one.url, two.url, concurrency=2))
        peaks = (one.peak_streaming, two.peak_streaming)
    assert sorted(run.results) == sorted(run.ids)
    assert all(r["status"] == "succeeded" for r in run.results.values())
    served = [r["worker"]["endpoint"] for r in run.results.values()]
    assert {served.count(one.url), served.count(two.url)} <= {3, 4, 5}
    assert max(peaks) <= 2
    assert run.event_peak() <= 4


def test_an_endpoint_that_dies_mid_answer_is_paused_and_its_task_retried(
        run_swarm: Runner) -> None:
    with (OllamaAPI(reply=lambda _: "x " * 50, token_delay=0.05) as doomed,
          OllamaAPI() as spare):
        killer = threading.Thread(target=_crash_when_streaming, args=(doomed,), daemon=True)
        killer.start()
        run = run_swarm([{"backend": "ollama", "pool": "local", "model": "tiny",
                          "prompt": f"t{i}"} for i in range(4)],
                        config=pool_config(doomed.url, spare.url))
        killer.join(timeout=10)
    assert all(r["status"] == "succeeded" for r in run.results.values())
    retried = [r for r in run.results.values() if r["worker"]["retried_after"]]
    assert retried, "the doomed endpoint was never used"
    for result in retried:
        assert result["worker"]["endpoint"] == spare.url
        assert doomed.url in result["worker"]["retried_after"][0]
        assert "retrying" in Path(result["log"]).read_text()


def _crash_when_streaming(api: OllamaAPI) -> None:
    wait_until(lambda: api.streaming > 0, timeout=10)
    api.crash()


def test_pool_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[pools.local]\nbackend = "ollama"\n'
                    'endpoints = [{ server = "llama" }]\n')
    with pytest.raises(TaskFileError, match="no \\[\\[servers\\]\\] entry is named 'llama'"):
        load_config(path)
    path.write_text('[pools.local]\nbackend = "ollama"\nendpoints = [{ url = "ftp://x" }]\n')
    with pytest.raises(TaskFileError, match="'ftp://x' is not an http:// or https:// URL"):
        load_config(path)


def test_health_shows_each_endpoint_with_its_loaded_models(tmp_path: Path,
                                                           ollama: OllamaAPI) -> None:
    (tmp_path / ".swarm").mkdir()
    (tmp_path / ".swarm" / "config.toml").write_text(
        f'[pools.local]\nbackend = "ollama"\nendpoints = [{{ url = "{ollama.url}", '
        'concurrency = 3 }]\n')
    _, out, _ = swarm(tmp_path, "health", "--json")
    pool = json.loads(out)["backends"]["pool:local"]
    assert pool["endpoints"][0]["ok"] is True
    assert pool["endpoints"][0]["concurrency"] == 3
    assert pool["endpoints"][0]["loaded"] == []


def test_spawn_runs_a_model_task_from_flags(tmp_path: Path, ollama: OllamaAPI) -> None:
    code, out, err = swarm(tmp_path, "spawn", "--backend", "ollama", "--endpoint", ollama.url,
                           "--model", "tiny", "--prompt", "flags work", "--system", "terse",
                           "--json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["status"] == "succeeded"
    assert ollama.requests("/api/chat")[-1][2]["messages"][0] == {"role": "system",
                                                                  "content": "terse"}
