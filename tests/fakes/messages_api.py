"""A scripted Anthropic Messages API on loopback, for driving the real Claude Code CLI.

The test supplies a script: a callable that gets each ``POST /v1/messages`` body and returns a
``Reply``. ``Script`` is the usual one: replies keyed by the conversation's first user message
and the number of assistant turns already in it. Requests from Claude Code 2.1.328 end with a
``role: system`` message, so keying on the last message would be wrong.

Usage::

    script = Script({"say hi": [reply(tool_use("Bash", {"command": "true"})), reply("bye")]})
    with MessagesAPI(script) as api:
        run_claude(project, "say hi", api=api, extra_args=["--allowedTools", "Bash"])
        first, second = api.conversation("say hi")
        assert not tool_results(second)[0].is_error

Stdlib only: ThreadingHTTPServer in a daemon thread, 127.0.0.1, a free port.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

JSON = dict[str, Any]


# ---------------------------------------------------------------- what the model answers


@dataclass(frozen=True, slots=True)
class Text:
    """A text content block."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolUse:
    """A tool_use content block; an empty ``id`` becomes a unique ``toolu_...`` when sent."""

    name: str
    input: Mapping[str, Any]
    id: str = ""


Block = Text | ToolUse


def text(value: str) -> Text:
    """A text block."""
    return Text(value)


def tool_use(name: str, input: Mapping[str, Any], *, id: str = "") -> ToolUse:
    """A tool_use block calling tool ``name`` with ``input``."""
    return ToolUse(name, input, id)


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: content blocks, an HTTP error, or a stream that stalls.

    Build it with ``reply(...)``, ``Reply.error(...)`` or ``Reply.stall(...)``.
    """

    blocks: tuple[Block, ...] = ()
    delay: float = 0.0
    status: int = 200
    error_message: str = ""
    stalls: bool = False

    @classmethod
    def error(cls, status: int, message: str = "scripted error") -> Reply:
        """Answer with HTTP ``status`` and an Anthropic-shaped error body."""
        return cls(status=status, error_message=message)

    @classmethod
    def stall(cls, *before: Block | str, partial: str = "thinking") -> Reply:
        """Stream ``before`` completely, start a text block with ``partial``, then hang.

        The connection stays open, silent, until the server stops.
        """
        return cls(blocks=(*_blocks(before), Text(partial)), stalls=True)

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


def _blocks(items: Sequence[Block | str]) -> tuple[Block, ...]:
    return tuple(Text(b) if isinstance(b, str) else b for b in items)


def reply(*blocks: Block | str, delay: float = 0.0) -> Reply:
    """A normal answer; strings become text blocks; ``delay`` seconds pass between blocks."""
    return Reply(blocks=_blocks(blocks), delay=delay)


DONE = reply("done")

ScriptFn = Callable[[JSON], Reply]


# ---------------------------------------------------------------- what the model received


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the fake received; ``body`` is the parsed JSON (``{}`` when absent)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: JSON

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0] == "/v1/messages"


def _body(request: RecordedRequest | Mapping[str, Any]) -> Mapping[str, Any]:
    return request.body if isinstance(request, RecordedRequest) else request


def _content_blocks(message: Mapping[str, Any]) -> list[JSON]:
    content = message.get("content", "")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)]


def _is_reminder(block_text: str) -> bool:
    return block_text.lstrip().startswith("<system-reminder>")


def own_texts(message: Mapping[str, Any]) -> list[str]:
    """A message's text blocks, leaving out the ``<system-reminder>`` blocks the CLI adds."""
    return [
        str(b.get("text", ""))
        for b in _content_blocks(message)
        if b.get("type") == "text" and not _is_reminder(str(b.get("text", "")))
    ]


def first_user_text(request: RecordedRequest | Mapping[str, Any]) -> str:
    """The prompt that opened the conversation (a sub-agent's first message is its prompt)."""
    for message in _body(request).get("messages", []):
        if message.get("role") == "user":
            return "\n".join(own_texts(message)).strip()
    return ""


def assistant_turns(request: RecordedRequest | Mapping[str, Any]) -> int:
    """How many assistant messages the conversation already holds."""
    return sum(1 for m in _body(request).get("messages", []) if m.get("role") == "assistant")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool_result block the model received, its content flattened to text."""

    tool_use_id: str
    content: str
    is_error: bool


def _flatten(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return content if isinstance(content, str) else ""


def tool_results(request: RecordedRequest | Mapping[str, Any]) -> list[ToolResult]:
    """Every tool_result block in the request's messages, oldest first."""
    return [
        ToolResult(str(b.get("tool_use_id", "")), _flatten(b.get("content")),
                   bool(b.get("is_error")))
        for m in _body(request).get("messages", [])
        if m.get("role") == "user"
        for b in _content_blocks(m)
        if b.get("type") == "tool_result"
    ]


def system_texts(request: RecordedRequest | Mapping[str, Any]) -> list[str]:
    """Text the CLI added for the model: ``role: system`` messages and ``<system-reminder>`` blocks.

    Hook output lands here (``UserPromptSubmit hook success: ...``, ``... additional context``).
    The top-level ``system`` prompt is left out: it is large and the same on every turn.
    """
    return [
        str(block.get("text", ""))
        for message in _body(request).get("messages", [])
        for block in _content_blocks(message)
        if message.get("role") == "system" or _is_reminder(str(block.get("text", "")))
    ]


_NOTIFICATION = re.compile(r"<task-notification>.*?</task-notification>", re.DOTALL)


def task_notifications(request: RecordedRequest | Mapping[str, Any]) -> list[str]:
    """The ``<task-notification>`` elements (background agents finishing) the model received.

    2.1.328 wraps each one in a ``<system-reminder>`` inside a user message.
    """
    return [note for reminder in system_texts(request)
            for note in _NOTIFICATION.findall(reminder)]


# ---------------------------------------------------------------- scripts


@dataclass(frozen=True, slots=True)
class Script:
    """Replies keyed by the first user message text, indexed by assistant turns so far.

    ``turns["say hi"][0]`` answers the first request of the conversation opened by "say hi",
    ``[1]`` the request after the model's first answer, and so on. Unknown conversations and
    turns past the end get ``default`` (plain "done"); that covers sub-agents the test did not
    script and the extra turn a background agent's ``<task-notification>`` wakes up.
    """

    turns: Mapping[str, Sequence[Reply]]
    default: Reply = DONE

    def __call__(self, body: JSON) -> Reply:
        replies = self.turns.get(first_user_text(body), ())
        index = assistant_turns(body)
        return replies[index] if index < len(replies) else self.default


# ---------------------------------------------------------------- wire format


_USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
          "cache_read_input_tokens": 0}


def _new_id(prefix: str) -> str:
    return f"{prefix}_fake{uuid.uuid4().hex[:20]}"


def _with_ids(answer: Reply) -> Reply:
    blocks = tuple(
        dataclasses.replace(b, id=_new_id("toolu")) if isinstance(b, ToolUse) and not b.id else b
        for b in answer.blocks
    )
    return dataclasses.replace(answer, blocks=blocks)


def _sse(event: str, data: JSON) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _message_start(message_id: str, model: str) -> bytes:
    message: JSON = {"id": message_id, "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": _USAGE}
    return _sse("message_start", {"type": "message_start", "message": message})


def _block_open(index: int, block: Block) -> bytes:
    """content_block_start plus the one delta that carries the block's whole content."""
    if isinstance(block, Text):
        start: JSON = {"type": "text", "text": ""}
        delta: JSON = {"type": "text_delta", "text": block.text}
    else:
        start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(dict(block.input))}
    return (_sse("content_block_start",
                 {"type": "content_block_start", "index": index, "content_block": start})
            + _sse("content_block_delta",
                   {"type": "content_block_delta", "index": index, "delta": delta}))


def _block_stop(index: int) -> bytes:
    return _sse("content_block_stop", {"type": "content_block_stop", "index": index})


def _message_end(stop_reason: str) -> bytes:
    delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
             "usage": {"output_tokens": 5}}
    return _sse("message_delta", delta) + _sse("message_stop", {"type": "message_stop"})


def _block_json(block: Block) -> JSON:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}


def _message_json(message_id: str, model: str, answer: Reply) -> JSON:
    return {"id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": [_block_json(b) for b in answer.blocks], "stop_reason": answer.stop_reason,
            "stop_sequence": None, "usage": _USAGE}


def _error_json(answer: Reply) -> JSON:
    kind = "invalid_request_error" if answer.status < 500 else "api_error"
    return {"type": "error", "error": {"type": kind, "message": answer.error_message}}


# ---------------------------------------------------------------- the server


@dataclass(slots=True)
class _State:
    script: ScriptFn
    stopping: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    requests: list[RecordedRequest] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def record(self, request: RecordedRequest) -> None:
        with self.changed:
            self.requests.append(request)
            self.changed.notify_all()

    def answer(self, body: JSON) -> Reply:
        """The script's reply; a script that raises gets a 500 here and fails the test at stop."""
        try:
            return self.script(body)
        except Exception:
            with self.changed:
                self.script_errors.append(traceback.format_exc())
            return Reply.error(500, "the test's script raised; see the test failure")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the access log off the test output."""

    def do_POST(self) -> None:
        request = self._record()
        if request.is_messages:
            self._answer_messages(request.body)
        elif request.path.split("?")[0] == "/v1/messages/count_tokens":
            self._send_json(200, {"input_tokens": 10})
        else:
            self._send_json(200, {})

    def do_GET(self) -> None:
        self._record()
        self._send_json(200, {})

    def do_HEAD(self) -> None:
        self._record()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        self.server.state.record(request)
        return request

    def _answer_messages(self, body: JSON) -> None:
        answer = self.server.state.answer(body)
        if answer.status != 200:
            self._send_json(answer.status, _error_json(answer))
        elif body.get("stream"):
            self._stream(_new_id("msg"), str(body.get("model", "")), _with_ids(answer))
        else:
            self._send_json(200, _message_json(_new_id("msg"), str(body.get("model", "")),
                                               _with_ids(answer)))

    def _send_json(self, status: int, payload: JSON) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, message_id: str, model: str, answer: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._chunk(_message_start(message_id, model))
        stopping = self.server.state.stopping
        for index, block in enumerate(answer.blocks):
            if index and answer.delay and stopping.wait(answer.delay):
                return
            self._chunk(_block_open(index, block))
            if answer.stalls and index == len(answer.blocks) - 1:
                stopping.wait()
                self.close_connection = True
                return
            self._chunk(_block_stop(index))
        self._chunk(_message_end(answer.stop_reason))
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


_POLL = 0.02  # serve_forever notices shutdown() only this often; the default 0.5 s slows every test


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    allow_reuse_address = True

    def __init__(self, state: _State, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


class ScriptError(AssertionError):
    """The test's script raised while answering a request."""


class MessagesAPI:
    """The fake Messages API: a context manager serving on ``127.0.0.1:<free port>``.

    ``script`` may be a callable ``(body) -> Reply``, a mapping for ``Script``, or ``None``
    (every request gets "done").
    """

    def __init__(self, script: ScriptFn | Mapping[str, Sequence[Reply]] | None = None, *,
                 port: int = 0) -> None:
        """``port=0`` picks a free port; a given port lets a test bring a server back."""
        self._state = _State(Script(script or {}) if not callable(script) else script)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def script(self) -> ScriptFn:
        return self._state.script

    @script.setter
    def script(self, script: ScriptFn | Mapping[str, Sequence[Reply]]) -> None:
        self._state.script = script if callable(script) else Script(script)

    @property
    def base_url(self) -> str:
        """The value for ``ANTHROPIC_BASE_URL``."""
        if self._server is None:
            raise RuntimeError("MessagesAPI is not started: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far, in arrival order."""
        with self._state.changed:
            return list(self._state.requests)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The ``POST /v1/messages`` requests so far."""
        return [r for r in self.requests if r.is_messages]

    def conversation(self, prompt: str) -> list[RecordedRequest]:
        """The messages requests of the conversation that ``prompt`` opened, in order."""
        return [r for r in self.message_requests if first_user_text(r) == prompt.strip()]

    def wait_for(self, predicate: Callable[[RecordedRequest], bool], *,
                 timeout: float = 30.0) -> RecordedRequest:
        """Block until a request matching ``predicate`` has arrived; return it.

        Raises ``TimeoutError`` naming what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._state.changed:
            while True:
                found = next((r for r in self._state.requests if predicate(r)), None)
                remaining = deadline - time.monotonic()
                if found is not None:
                    return found
                if remaining <= 0:
                    seen = [(r.method, r.path, first_user_text(r)) for r in self._state.requests]
                    raise TimeoutError(f"no matching request within {timeout}s; got {seen}")
                self._state.changed.wait(remaining)

    def check(self) -> None:
        """Raise ``ScriptError`` if the script raised while answering any request."""
        with self._state.changed:
            errors = list(self._state.script_errors)
        if errors:
            raise ScriptError("the fake API's script raised:\n" + "\n".join(errors))

    def start(self) -> MessagesAPI:
        self._server = _Server(self._state, self._port)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(_POLL,),
                                        name="fake-messages-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release stalled streams, stop serving and close the socket."""
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MessagesAPI:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if exc_type is None:
            self.check()
