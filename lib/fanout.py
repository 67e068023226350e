"""Map a function or an HTTP call over many items with a pool of threads.

For many cheap calls (model oracles, loopback services): results come back in input order,
one :class:`Outcome` per item, and nothing is written to disk. A failed call is retried up to
``retries`` times; with ``fail_fast`` the first item that still fails stops the rest (they are
``skipped``). ``timeout`` bounds each attempt: Python cannot stop a thread, so a call that
overruns is abandoned to finish on its own; give slow calls their own timeout (``HttpCall``
passes it to the HTTP client) so that nothing is left running.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

Call = Callable[[Any], Any]


class State(Enum):
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one item: its position, the value or the error, and the attempts made."""

    index: int
    item: Any
    state: State
    value: Any = None
    error: str = ""
    attempts: int = 0

    @classmethod
    def ok(cls, index: int, item: Any, value: Any, attempts: int) -> Outcome:
        return cls(index, item, State.OK, value=value, attempts=attempts)

    @classmethod
    def failed(cls, index: int, item: Any, error: str, attempts: int) -> Outcome:
        return cls(index, item, State.FAILED, error=error, attempts=attempts)

    @classmethod
    def timed_out(cls, index: int, item: Any, timeout: float, attempts: int) -> Outcome:
        return cls(index, item, State.TIMED_OUT, error=f"no answer within {timeout:g} s",
                   attempts=attempts)

    @classmethod
    def skipped(cls, index: int, item: Any) -> Outcome:
        return cls(index, item, State.SKIPPED, error="skipped: an earlier item failed (fail_fast)")

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "item": self.item, "state": self.state.value,
                "value": self.value, "error": self.error, "attempts": self.attempts}


class Tracker(Protocol):
    def advance(self, outcome: Outcome) -> None: ...


class _Timeout(Exception):
    pass


def fanout(call: Call, items: Sequence[Any], *, workers: int = 8, retries: int = 0,
           timeout: float | None = None, fail_fast: bool = False,
           progress: bool | None = None) -> list[Outcome]:
    """``call`` over ``items`` on ``workers`` threads; the outcomes in input order.

    ``progress``: a bar on stderr (default: only when stderr is a terminal).
    """
    if workers < 1 or retries < 0 or (timeout is not None and timeout <= 0):
        raise ValueError("workers must be >= 1, retries >= 0 and timeout > 0")
    stop = threading.Event()
    with _tracker(len(items), progress) as tracker:
        def one(index: int) -> Outcome:
            if fail_fast and stop.is_set():
                outcome = Outcome.skipped(index, items[index])
            else:
                outcome = _attempts(call, index, items[index], retries, timeout)
                if outcome.state is not State.OK:
                    stop.set()
            tracker.advance(outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=min(workers, max(1, len(items)))) as pool:
            return list(pool.map(one, range(len(items))))


def _attempts(call: Call, index: int, item: Any, retries: int,
              timeout: float | None) -> Outcome:
    outcome = Outcome.failed(index, item, "not tried", 0)
    for attempt in range(1, retries + 2):
        try:
            return Outcome.ok(index, item, _bounded(call, item, timeout), attempt)
        except _Timeout:
            assert timeout is not None
            outcome = Outcome.timed_out(index, item, timeout, attempt)
        except Exception as exc:  # a failed call is an outcome, never an escape
            outcome = Outcome.failed(index, item, f"{type(exc).__name__}: {exc}", attempt)
    return outcome


def _bounded(call: Call, item: Any, timeout: float | None) -> Any:
    if timeout is None:
        return call(item)
    box: list[tuple[bool, Any]] = []
    thread = threading.Thread(target=lambda: box.append(_capture(call, item)), daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        raise _Timeout
    ok, value = box[0]
    if not ok:
        raise value
    return value


def _capture(call: Call, item: Any) -> tuple[bool, Any]:
    try:
        return True, call(item)
    except Exception as exc:
        return False, exc


class _Silent:
    def advance(self, outcome: Outcome) -> None:
        pass


class _Bar:
    """A rich progress bar; ``advance`` comes from the worker threads."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task
        self._lock = threading.Lock()
        self._failed = 0

    def advance(self, outcome: Outcome) -> None:
        with self._lock:
            self._failed += outcome.state is not State.OK
            self._bar.update(self._task, advance=1, description=f"fan-out ({self._failed} "
                                                                f"not ok)")


@contextmanager
def _tracker(total: int, progress: bool | None) -> Iterator[Tracker]:
    if not (sys.stderr.isatty() if progress is None else progress):
        yield _Silent()
        return
    # rich only when a terminal shows the bar: a script's fan-out does not pay for it
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn  # likewise

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        yield _Bar(bar, bar.add_task("fan-out (0 not ok)", total=total))


class HttpStatusError(Exception):
    """An answer of HTTP 400 or above."""


class HttpCall:
    """One HTTP request per item, on one kept-alive connection per worker thread.

    ``{item}`` in the URL is the item, percent-encoded (``/`` kept); ``POST`` and ``PUT`` send
    the item as the JSON body. An answer of HTTP 400 or above is a failure; the value is the
    decoded JSON, or the text when the body is not JSON. The standard library's client: for
    many small calls it costs less per call than a general-purpose client with its own pool.
    """

    def __init__(self, url: str, *, method: str = "GET", timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{url}' is not an http:// or https:// URL")
        self.url = url
        self.method = method.upper()
        self._target = (parts.scheme, parts.hostname, parts.port)
        self._path = url[len(f"{parts.scheme}://{parts.netloc}"):] or "/"
        self._timeout = timeout
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, item: Any) -> Any:
        path = self._path.replace("{item}", quote(str(item), safe="/"))
        body, headers = None, {}
        if self.method in ("POST", "PUT", "PATCH"):
            body, headers = json.dumps(item).encode(), {"Content-Type": "application/json"}
        reused = getattr(self._local, "connection", None) is not None
        try:
            status, data = self._request(path, body, headers)
        except (ConnectionError, http.client.HTTPException):
            if not reused:
                raise
            self._local.connection = None  # the server closed a kept-alive connection
            status, data = self._request(path, body, headers)
        if status >= 400:
            raise HttpStatusError(f"HTTP {status}: {data[:200].decode(errors='replace')}")
        try:
            return json.loads(data)
        except ValueError:
            return data.decode(errors="replace")

    def _request(self, path: str, body: bytes | None,
                 headers: dict[str, str]) -> tuple[int, bytes]:
        connection = self._connection()
        try:
            connection.request(self.method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except BaseException:
            connection.close()
            raise

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            scheme, host, port = self._target
            kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = self._local.connection = kind(host, port, timeout=self._timeout)
            with self._lock:
                self._opened.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def __enter__(self) -> HttpCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def summary(outcomes: Sequence[Outcome], seconds: float) -> dict[str, Any]:
    """Counts by state and the wall time, for the command line's report."""
    counts = {state.value: 0 for state in State}
    for outcome in outcomes:
        counts[outcome.state.value] += 1
    return {"items": len(outcomes), "by_state": counts, "seconds": round(seconds, 6)}


def timed(work: Callable[[], list[Outcome]]) -> tuple[list[Outcome], float]:
    start = time.perf_counter()
    outcomes = work()
    return outcomes, time.perf_counter() - start
