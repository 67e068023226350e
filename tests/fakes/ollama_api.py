"""A scripted Ollama server on loopback, following Ollama's documented native API.

What it follows (docs/api.md and server/sched.go of Ollama):

- ``POST /api/chat`` streams NDJSON by default (``stream: false`` gives one object); each line
  carries ``message.content``, the last one ``done: true``, ``done_reason`` and the durations
  in nanoseconds (``load_duration`` among them). An empty ``messages`` list only loads the
  model (``done_reason: "load"``), or unloads it with ``keep_alive: 0`` (``"unload"``).
- ``keep_alive`` is a duration (``"5m"``, ``"30s"``) or seconds; 0 unloads after the request,
  a negative value keeps the model loaded; the default is 5 minutes.
- ``GET /api/tags`` lists the installed models, ``GET /api/ps`` the loaded ones with
  ``expires_at``, ``GET /api/version`` the version; ``HEAD /`` answers "Ollama is running".
- An unknown model is HTTP 404 ``{"error": "model \\"x\\" not found, try pulling it first"}``.
- Scheduling: a model loads once (``load_delay`` seconds, the cold start) and then serves
  ``num_parallel`` requests at once; the rest queue, and past ``max_queue`` waiting requests
  the answer is 503 "server busy". Embedding-only models and the architectures Ollama's
  scheduler pins (``mllama``, ``qwen3vl``, ``qwen3next``, ...) run one request at a time,
  whatever ``num_parallel`` says; the API does not tell, which is why swarm measures.
- ``POST /v1/chat/completions`` (SSE) and ``GET /v1/models``: Ollama's OpenAI-compatible API.

Stdlib only: ThreadingHTTPServer in a daemon thread, 127.0.0.1, a free port. A token takes
``token_delay`` seconds to "generate" (the fake sleeps, to be a slow model).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

JSON = dict[str, Any]
VERSION = "0.12.6"
DEFAULT_KEEP_ALIVE = 300.0
# server/sched.go: these architectures never get more than one parallel slot.
SERIAL_FAMILIES = frozenset({"mllama", "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe",
                             "qwen3next", "lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe"})
BUSY = "server busy, please try again.  maximum pending requests exceeded"

ReplyFn = Callable[[JSON], str]


@dataclass(frozen=True, slots=True)
class FakeModel:
    """An installed model: its name (``tiny`` means ``tiny:latest``) and architecture."""

    name: str
    family: str = "llama"
    embedding_only: bool = False

    @property
    def tag(self) -> str:
        return self.name if ":" in self.name else f"{self.name}:latest"

    @property
    def serial(self) -> bool:
        return self.embedding_only or self.family in SERIAL_FAMILIES


def echo_reply(body: JSON) -> str:
    """The default answer: "ok" and the last user message's first word."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    words = str(users[-1].get("content", "")).split() if users else []
    return "ok " + (words[0] if words else "")


@dataclass(slots=True)
class _Runner:
    """A loaded model: its slots and when it expires (``None``: never)."""

    slots: threading.Semaphore
    expires_at: float | None
    active: int = 0


@dataclass(slots=True)
class _State:
    models: dict[str, FakeModel]
    reply: ReplyFn
    num_parallel: int
    load_delay: float
    token_delay: float
    max_queue: int
    lock: threading.Condition = field(default_factory=threading.Condition)
    loaded: dict[str, _Runner] = field(default_factory=dict)
    loading: dict[str, threading.Event] = field(default_factory=dict)
    waiting: int = 0
    streaming: int = 0
    peak_streaming: int = 0
    loads: int = 0
    requests: list[tuple[str, str, JSON]] = field(default_factory=list)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    crashed: threading.Event = field(default_factory=threading.Event)
    announce: Callable[[str], None] | None = None

    def find(self, name: str) -> FakeModel | None:
        return self.models.get(name) or self.models.get(f"{name}:latest")


def parse_keep_alive(value: Any) -> float | None:
    """Seconds a model stays loaded after a request; ``None`` forever (a negative value)."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = _duration(str(value))
    return None if seconds < 0 else seconds


def _duration(text: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(-?[\d.]+)(ms|h|m|s)", text)
    if not parts:
        return float(text)
    return sum(float(number) * units[unit] for number, unit in parts)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the access log off the test output."""

    @property
    def state(self) -> _State:
        return self.server.state

    def do_HEAD(self) -> None:
        self._send(200, b"", "text/plain")

    def do_GET(self) -> None:
        self._note({})
        path = self.path.split("?")[0]
        if path == "/":
            self._send(200, b"Ollama is running", "text/plain")
        elif path == "/api/version":
            self._json(200, {"version": VERSION})
        elif path == "/api/tags":
            self._json(200, {"models": [_model_json(m) for m in self.state.models.values()]})
        elif path == "/api/ps":
            self._json(200, {"models": self._loaded_json()})
        elif path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": m.tag, "object": "model", "created": 0, "owned_by": "library"}
                for m in self.state.models.values()]})
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        body = self._body()
        self._note(body)
        path = self.path.split("?")[0]
        if path == "/api/chat":
            self._chat(body, openai=False)
        elif path == "/v1/chat/completions":
            self._chat(body, openai=True)
        else:
            self._send(404, b"404 page not found", "text/plain")

    # ------------------------------------------------------------ chat

    def _chat(self, body: JSON, *, openai: bool) -> None:
        model = self.state.find(str(body.get("model", "")))
        if not body.get("model"):
            self._json(400, {"error": "model is required"})
            return
        if model is None:
            self._json(404, {"error": f'model "{body["model"]}" not found, try pulling it first'})
            return
        keep = parse_keep_alive(body.get("keep_alive"))
        if not openai and not body.get("messages"):
            self._load_only(model, keep)
            return
        if not self._enter_queue():
            self._json(503, {"error": BUSY})
            return
        try:
            load_s = self._load(model)
            runner = self.state.loaded[model.tag]
            with runner.slots:
                self._leave_queue()
                self._generate(model, body, runner, load_s, openai=openai)
        finally:
            self._release(model, keep)

    def _enter_queue(self) -> bool:
        with self.state.lock:
            if self.state.waiting >= self.state.max_queue:
                return False
            self.state.waiting += 1
            return True

    def _leave_queue(self) -> None:
        with self.state.lock:
            self.state.waiting -= 1

    def _load(self, model: FakeModel) -> float:
        """Load ``model`` unless it is loaded; the seconds this request waited for the load."""
        state = self.state
        with state.lock:
            self._expire()
            if model.tag in state.loaded:
                state.loaded[model.tag].expires_at = None  # busy: no expiry while in use
                return 0.0
            waiting = state.loading.get(model.tag)
            first = waiting is None
            event = state.loading[model.tag] = waiting or threading.Event()
        started = time.monotonic()
        if first:
            state.stopping.wait(state.load_delay)
            with state.lock:
                slots = 1 if model.serial else max(1, state.num_parallel)
                state.loaded[model.tag] = _Runner(threading.Semaphore(slots), None)
                state.loads += 1
                del state.loading[model.tag]
            event.set()
        else:
            event.wait()
        return time.monotonic() - started

    def _release(self, model: FakeModel, keep: float | None) -> None:
        with self.state.lock:
            runner = self.state.loaded.get(model.tag)
            if runner is None:
                return
            if keep == 0 and runner.active == 0:
                del self.state.loaded[model.tag]
            elif runner.active == 0:
                runner.expires_at = None if keep is None else time.time() + keep

    def _load_only(self, model: FakeModel, keep: float | None) -> None:
        if keep == 0:
            with self.state.lock:
                self.state.loaded.pop(model.tag, None)
            reason = "unload"
        else:
            self._load(model)
            self._release(model, keep)
            reason = "load"
        self._json(200, {"model": model.tag, "created_at": _now(),
                         "message": {"role": "assistant", "content": ""},
                         "done_reason": reason, "done": True})

    def _generate(self, model: FakeModel, body: JSON, runner: _Runner, load_s: float, *,
                  openai: bool) -> None:
        tokens = self._tokens(body, openai=openai)
        stream = body.get("stream", not openai)
        if self.state.announce is not None:
            self.state.announce(f"generating {len(tokens)} tokens for {self.path}")
        started = time.monotonic()
        with self.state.lock:
            runner.active += 1
            self.state.streaming += 1
            self.state.peak_streaming = max(self.state.peak_streaming, self.state.streaming)
        try:
            if not stream:
                self._pace(len(tokens))
                self._json(200, _whole(model, "".join(tokens), load_s, openai=openai))
            elif openai:
                self._stream_sse(model, tokens)
            else:
                self._stream_ndjson(model, tokens, load_s, started)
        finally:
            with self.state.lock:
                runner.active -= 1
                self.state.streaming -= 1
                self.state.spans.append((model.tag, started, time.monotonic()))

    def _tokens(self, body: JSON, *, openai: bool) -> list[str]:
        text = self.state.reply(body)
        limit = (body.get("max_tokens") if openai
                 else (body.get("options") or {}).get("num_predict"))
        tokens = re.findall(r"\S+\s*|\s+", text)
        return tokens[:limit] if isinstance(limit, int) and limit > 0 else tokens

    def _pace(self, count: int) -> None:
        if self.state.token_delay:
            self.state.stopping.wait(self.state.token_delay * count)

    def _stream_ndjson(self, model: FakeModel, tokens: Sequence[str], load_s: float,
                       started: float) -> None:
        self._open_stream("application/x-ndjson")
        for token in tokens:
            self._pace(1)
            self._chunk(_line({"model": model.tag, "created_at": _now(),
                               "message": {"role": "assistant", "content": token},
                               "done": False}))
        total = time.monotonic() - started + load_s
        self._chunk(_line({"model": model.tag, "created_at": _now(),
                           "message": {"role": "assistant", "content": ""}, "done": True,
                           "done_reason": "stop", "total_duration": _ns(total),
                           "load_duration": _ns(load_s), "prompt_eval_count": 8,
                           "prompt_eval_duration": 1000, "eval_count": len(tokens),
                           "eval_duration": _ns(total - load_s)}))
        self._chunk(b"")

    def _stream_sse(self, model: FakeModel, tokens: Sequence[str]) -> None:
        self._open_stream("text/event-stream")
        for token in tokens:
            self._pace(1)
            self._chunk(_sse(_completion_chunk(model, {"role": "assistant", "content": token})))
        self._chunk(_sse(_completion_chunk(model, {}, finish="stop")))
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    # ------------------------------------------------------------ plumbing

    def _expire(self) -> None:
        now = time.time()
        for tag, runner in list(self.state.loaded.items()):
            if runner.active == 0 and runner.expires_at is not None and runner.expires_at <= now:
                del self.state.loaded[tag]

    def _loaded_json(self) -> list[JSON]:
        with self.state.lock:
            self._expire()
            loaded = dict(self.state.loaded)
        far = datetime(2318, 1, 1, tzinfo=UTC).isoformat()
        return [{**_model_json(self.state.models[tag]), "size_vram": 0, "context_length": 4096,
                 "expires_at": (far if r.expires_at is None else
                                datetime.fromtimestamp(r.expires_at, UTC).isoformat())}
                for tag, r in loaded.items()]

    def _body(self) -> JSON:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def _note(self, body: JSON) -> None:
        with self.state.lock:
            self.state.requests.append((self.command, self.path, body))
            self.state.lock.notify_all()

    def _json(self, status: int, payload: JSON) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _open_stream(self, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if self.state.crashed.is_set():
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("the scripted server crashed")
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _line(payload: JSON) -> bytes:
    return json.dumps(payload).encode() + b"\n"


def _sse(payload: JSON) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _model_json(model: FakeModel) -> JSON:
    details = {"format": "gguf", "family": model.family, "families": [model.family],
               "parameter_size": "270M", "quantization_level": "Q4_K_M"}
    return {"name": model.tag, "model": model.tag, "modified_at": "2026-01-01T00:00:00Z",
            "size": 253_000_000, "digest": "0" * 64, "details": details}


def _completion_chunk(model: FakeModel, delta: JSON, finish: str | None = None) -> JSON:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model.tag, "choices": [{"index": 0, "delta": delta,
                                              "finish_reason": finish}]}


def _whole(model: FakeModel, text: str, load_s: float, *, openai: bool) -> JSON:
    if openai:
        return {"id": "chatcmpl-fake", "object": "chat.completion", "model": model.tag,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}]}
    return {"model": model.tag, "created_at": _now(),
            "message": {"role": "assistant", "content": text}, "done": True,
            "done_reason": "stop", "load_duration": _ns(load_s)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, state: _State, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class OllamaAPI:
    """The scripted Ollama: a context manager serving on ``127.0.0.1:<free port>``.

    ``reply`` maps a request body to the answer's text (split into word tokens).
    """

    def __init__(self, models: Sequence[FakeModel] = (FakeModel("tiny"),), *,
                 reply: ReplyFn = echo_reply, num_parallel: int = 1, load_delay: float = 0.0,
                 token_delay: float = 0.0, max_queue: int = 512) -> None:
        self._state = _State({m.tag: m for m in models}, reply, num_parallel, load_delay,
                             token_delay, max_queue)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("OllamaAPI is not started: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def peak_streaming(self) -> int:
        """Most generations running at the same moment."""
        return self._state.peak_streaming

    @property
    def streaming(self) -> int:
        """Generations running now."""
        return self._state.streaming

    @property
    def loads(self) -> int:
        """How many times a model was loaded (cold starts)."""
        return self._state.loads

    def loaded(self) -> list[str]:
        with self._state.lock:
            return sorted(self._state.loaded)

    def requests(self, path: str | None = None) -> list[tuple[str, str, JSON]]:
        with self._state.lock:
            return [r for r in self._state.requests if path is None or r[1] == path]

    def spans(self) -> list[tuple[str, float, float]]:
        """(model, start, end) of every generation, on this process's monotonic clock."""
        with self._state.lock:
            return list(self._state.spans)

    def start(self, *, port: int = 0, announce: Callable[[str], None] | None = None) -> OllamaAPI:
        """Serve on ``port`` (0: a free one); ``announce`` hears of each answer as it starts."""
        self._state.announce = announce
        self._server = _Server(self._state, port)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="fake-ollama", daemon=True)
        self._thread.start()
        return self

    def crash(self) -> None:
        """Die like a killed server: streams break off and new connections are refused."""
        self._state.crashed.set()
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def stop(self) -> None:
        self._state.stopping.set()
        if self._server is not None and not self._state.crashed.is_set():
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OllamaAPI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def models(*names: str) -> tuple[FakeModel, ...]:
    """Plain completion models by name."""
    return tuple(FakeModel(n) for n in names)



def main(argv: Sequence[str] | None = None) -> None:
    """Serve as a process (for supervised-server tests): prints ``ready``, one line per answer."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.ollama_api")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--words", type=int, default=0, help="answer with this many words")
    parser.add_argument("--num-parallel", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="print only 'ready'")
    args = parser.parse_args(argv)
    reply: ReplyFn = (lambda _body: "w " * args.words) if args.words else echo_reply
    api = OllamaAPI(reply=reply, num_parallel=args.num_parallel, token_delay=args.token_delay)
    api.start(port=args.port, announce=None if args.quiet else lambda line: print(line, flush=True))
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
