"""The scripted Ollama follows the documented API: the tests that lean on it depend on that."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.fakes.ollama_api import BUSY, FakeModel, OllamaAPI, parse_keep_alive

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def api() -> Iterator[OllamaAPI]:
    with OllamaAPI((FakeModel("tiny"), FakeModel("vision", family="mllama")),
                   num_parallel=4) as server:
        yield server


def chat(api: OllamaAPI, **body: object) -> httpx.Response:
    return httpx.post(api.url + "/api/chat", json={"model": "tiny", **body}, timeout=10)


def test_chat_streams_ndjson_and_ends_with_the_durations(api: OllamaAPI) -> None:
    response = chat(api, messages=[{"role": "user", "content": "hello"}])
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert response.headers["content-type"] == "application/x-ndjson"
    assert "".join(line["message"]["content"] for line in lines) == "ok hello"
    assert [line["done"] for line in lines] == [False, False, True]
    assert lines[-1]["done_reason"] == "stop"
    assert {"load_duration", "eval_count", "total_duration"} <= set(lines[-1])


def test_keep_alive_zero_unloads_and_empty_messages_load(api: OllamaAPI) -> None:
    loaded = chat(api, messages=[]).json()
    assert (loaded["done_reason"], api.loaded()) == ("load", ["tiny:latest"])
    ps = httpx.get(api.url + "/api/ps").json()["models"]
    assert [m["name"] for m in ps] == ["tiny:latest"]
    assert ps[0]["expires_at"]
    unloaded = chat(api, messages=[], keep_alive=0).json()
    assert (unloaded["done_reason"], api.loaded()) == ("unload", [])


def test_an_unknown_model_is_a_404_with_ollamas_message(api: OllamaAPI) -> None:
    response = chat(api, model="nope", messages=[{"role": "user", "content": "x"}])
    assert response.status_code == 404
    assert response.json() == {"error": 'model "nope" not found, try pulling it first'}


@pytest.mark.parametrize(("value", "seconds"), [(None, 300.0), ("5m", 300.0), ("1h30m", 5400.0),
                                                ("10s", 10.0), (0, 0.0), ("-1", None), (-1, None),
                                                (42, 42.0)])
def test_keep_alive_durations(value: object, seconds: float | None) -> None:
    assert parse_keep_alive(value) == seconds


def _concurrent(api: OllamaAPI, model: str, count: int) -> None:
    threads = [threading.Thread(target=chat, args=(api,), kwargs={
        "model": model, "messages": [{"role": "user", "content": "x"}]}) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_parallel_slots_and_a_pinned_architecture() -> None:
    models = (FakeModel("tiny"), FakeModel("vision", family="mllama"))
    with OllamaAPI(models, num_parallel=2, token_delay=0.05) as server:
        _concurrent(server, "tiny", 4)
        assert server.peak_streaming == 2
    with OllamaAPI(models, num_parallel=2, token_delay=0.05) as server:
        _concurrent(server, "vision", 3)
        assert server.peak_streaming == 1


def test_a_full_queue_answers_503_busy() -> None:
    with OllamaAPI(max_queue=0) as server:
        response = chat(server, messages=[{"role": "user", "content": "x"}])
    assert (response.status_code, response.json()["error"]) == (503, BUSY)


def test_tags_version_and_the_openai_api(api: OllamaAPI) -> None:
    tags = httpx.get(api.url + "/api/tags").json()["models"]
    assert [t["details"]["family"] for t in tags] == ["llama", "mllama"]
    assert httpx.get(api.url + "/api/version").json()["version"]
    models = httpx.get(api.url + "/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["tiny:latest", "vision:latest"]
    sse = httpx.post(api.url + "/v1/chat/completions", json={
        "model": "tiny", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).text
    assert sse.rstrip().endswith("data: [DONE]")
