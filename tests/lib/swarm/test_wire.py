"""Pure tables for the local-model wire formats: stream lines, request bodies, URLs, errors."""

from __future__ import annotations

from typing import Any

import pytest

from hookswarm.lib.swarm.task import ModelOptions, Task
from hookswarm.lib.swarm.wire import (
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
    assert "keep_alive" not in body
    assert "num_ctx" not in body


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


def test_a_line_nested_past_the_parsers_depth_is_an_error_piece_not_a_crash() -> None:
    deep = "[" * 100000
    assert (OLLAMA.parse(deep) or Piece()).error.startswith("not an NDJSON object")
    assert (OPENAI.parse(f"data: {deep}") or Piece()).error.startswith("not a JSON event")
