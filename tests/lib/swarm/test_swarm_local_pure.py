"""Pure tables for the local-model backends: wire formats, endpoint choice, task fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hookswarm.lib.swarm.errors import TaskFileError
from hookswarm.lib.swarm.pool import EndpointState, hopeless, pause_for, pick
from hookswarm.lib.swarm.task import ModelOptions, Task, build_tasks
from hookswarm.lib.swarm.wire import (
    Inventory,
    OllamaWire,
    OpenAIWire,
    Piece,
    error_text,
    openai_url,
)

OLLAMA, OPENAI = OllamaWire(), OpenAIWire()


@pytest.mark.parametrize(("line", "piece"), [
    ('{"message": {"role": "assistant", "content": "hi"}, "done": false}', Piece("hi")),
    ("", None),
    ('{"error": "model runner has unexpectedly stopped"}',
     Piece(error="model runner has unexpectedly stopped")),
    ("garbage", Piece(error="not an NDJSON object: 'garbage'")),
    ('{"message": {"content": ""}, "done": true, "done_reason": "stop", "eval_count": 3}',
     Piece(done=True, stats={"eval_count": 3, "done_reason": "stop"})),
])
def test_ollama_lines(line: str, piece: Piece | None) -> None:
    assert OLLAMA.parse(line) == piece


@pytest.mark.parametrize(("line", "piece"), [
    ('data: {"choices": [{"delta": {"content": "hi"}}]}', Piece("hi")),
    ('data: {"choices": [{"delta": {"role": "assistant"}}]}', Piece("")),
    ("data: [DONE]", Piece(done=True)),
    (": ping - 2026-01-01", None),
    ("event: message", None),
    ("", None),
    ('data: {"error": {"message": "context too long"}}', Piece(error="context too long")),
    ('data: {"choices": [{"delta": {}, "finish_reason": "length"}]}', Piece("", finish="length")),
])
def test_openai_lines(line: str, piece: Piece | None) -> None:
    assert OPENAI.parse(line) == piece


def _task(**fields: Any) -> Task:
    return Task(id="t", backend="ollama", model="m", prompt="p", **fields)


def test_ollama_body_maps_options_and_keep_alive() -> None:
    task = _task(system="s", options=ModelOptions(num_ctx=512, max_tokens=9, seed=1))
    path, body = OLLAMA.chat(task, "p", keep_alive="10m")
    assert path == "/api/chat"
    assert body == {"model": "m", "stream": True, "keep_alive": "10m",
                    "options": {"num_ctx": 512, "num_predict": 9, "seed": 1},
                    "messages": [{"role": "system", "content": "s"},
                                 {"role": "user", "content": "p"}]}


def test_openai_body_carries_the_options_it_knows() -> None:
    task = _task(options=ModelOptions(num_ctx=512, temperature=0.5, max_tokens=9))
    path, body = OPENAI.chat(task, "p", keep_alive="10m")
    assert (path, body["temperature"], body["max_tokens"]) == ("/chat/completions", 0.5, 9)
    assert "keep_alive" not in body and "num_ctx" not in body


@pytest.mark.parametrize(("base", "url"), [
    ("http://h:8080", "http://h:8080/v1/models"), ("http://h:8080/", "http://h:8080/v1/models"),
    ("http://h:8080/v1", "http://h:8080/v1/models"), ("http://h/v1/", "http://h/v1/models")])
def test_openai_urls(base: str, url: str) -> None:
    assert openai_url(base, "/models") == url


@pytest.mark.parametrize(("status", "body", "text"), [
    (404, b'{"error": "model \\"x\\" not found"}', 'HTTP 404: model "x" not found'),
    (400, b'{"error": {"message": "bad"}}', "HTTP 400: bad"),
    (502, b"<html>bad gateway</html>", "HTTP 502: <html>bad gateway</html>"),
    (500, b"", "HTTP 500")])
def test_error_text(status: int, body: bytes, text: str) -> None:
    assert error_text(status, body) == text


UP = Inventory(True, "up", frozenset({"m:latest"}))


def _state(name: str, *, limit: int | None = 2, inflight: int = 0, paused: float = 0.0,
           inventory: Inventory | None = UP, broken: str = "") -> EndpointState:
    return EndpointState(name, limit, inflight=inflight, inventory=inventory,
                         paused_until=paused, broken=broken)


@pytest.mark.parametrize(("states", "chosen"), [
    ([_state("a"), _state("b")], 0),
    ([_state("a", inflight=1), _state("b")], 1),
    ([_state("a", inflight=1, limit=4), _state("b", inflight=1, limit=2)], 0),
    ([_state("a", inflight=2), _state("b", inflight=2)], None),
    ([_state("a", paused=10.0), _state("b", inflight=1)], 1),
    ([_state("a", inventory=Inventory(False, "down")), _state("b", inflight=1)], 1),
    ([_state("a", inventory=Inventory(True, "up", frozenset({"x"}))), _state("b")], 1),
    ([_state("a", limit=None), _state("b", inflight=1)], 1),
    ([_state("a", inventory=None)], None),
    ([_state("a", broken="gave up")], None),
])
def test_pick_the_least_loaded_usable_endpoint(states: list[EndpointState],
                                               chosen: int | None) -> None:
    assert pick(states, "m", 5.0, OLLAMA.has_model) == chosen


def test_hopeless_only_when_every_endpoint_is_broken_or_lacks_the_model() -> None:
    lacking = _state("a", inventory=Inventory(True, "up", frozenset({"x"})))
    assert hopeless([lacking, _state("b", broken="gave up")], "m", OLLAMA.has_model) == (
        "a does not have model 'm' (it has: x); b: gave up")
    assert hopeless([lacking, _state("b", inventory=None)], "m", OLLAMA.has_model) == ""
    assert hopeless([lacking, _state("b", paused=99.0)], "m", OLLAMA.has_model) == ""


@pytest.mark.parametrize(("failures", "pause"), [(1, 2.0), (2, 4.0), (3, 8.0), (9, 30.0)])
def test_the_breaker_pause_doubles_up_to_a_cap(failures: int, pause: float) -> None:
    assert pause_for(failures, 2.0) == pause


@pytest.mark.parametrize(("entry", "message"), [
    ({"backend": "ollama", "prompt": "p"}, "key 'model': an ollama task needs 'model'"),
    ({"backend": "openai", "model": "m"}, "key 'prompt': an openai task needs a non-empty"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "endpoint": "localhost:11434"},
     "key 'endpoint': 'localhost:11434' is not an http:// or https:// URL"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "endpoint": "http://h", "pool": "x"},
     "key 'pool': give 'endpoint' or 'pool', not both"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "options": {"top_k": 3}},
     "key 'options.top_k': unknown key"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "output": "json"},
     "key 'output': must be one of 'text', 'files'"),
    ({"backend": "claude", "prompt": "p", "system": "s"},
     "key 'system': 'system' is for ollama and openai tasks; this task's backend is 'claude'"),
    ({"backend": "ollama", "model": "m", "prompt": "p", "output": "files"},
     "key 'output': output = 'files' needs 'owns' or 'expects'"),
    ({"backend": "command", "argv": ["true"], "output": "files"},
     "key 'output': 'output' is for ollama and openai tasks"),
])
def test_model_task_fields_are_validated_with_clear_errors(tmp_path: Path, entry: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(TaskFileError) as raised:
        build_tasks([entry], base=str(tmp_path), source="tasks.toml")
    assert "task #1: " + message in str(raised.value)


def _sse_stream(*events: str) -> Any:
    import httpx

    body = "".join(f"data: {e}\n\n" for e in events).encode()
    return httpx.AsyncClient(transport=httpx.MockTransport(
        lambda _request: httpx.Response(200, content=body)))


CHUNK = '{"choices": [{"delta": {"content": "1 2"}, "finish_reason": %s}]}'


@pytest.mark.parametrize(("events", "ok"), [
    ([CHUNK % "null", CHUNK % '"stop"', "[DONE]"], True),
    ([CHUNK % '"length"', "[DONE]"], True),
    ([CHUNK % "null", "[DONE]"], False),
    ([CHUNK % "null"], False),
])
def test_an_openai_stream_without_a_finish_reason_was_cut_off(events: list[str],
                                                              ok: bool) -> None:
    import anyio

    from hookswarm.lib.swarm.chat import CUT_OFF, EndpointFailed, stream_answer

    async def ask() -> str:
        async with _sse_stream(*events) as client:
            answer = await stream_answer(client, OPENAI, "http://h/v1/chat/completions", {},
                                         lambda _chunk: None)
        return answer.text

    if ok:
        assert anyio.run(ask).startswith("1 2")
    else:
        with pytest.raises(EndpointFailed) as failed:
            anyio.run(ask)
        assert str(failed.value) in (CUT_OFF, "the stream ended before the answer was complete")
