"""``hookrun serve``: a warm hookrun that Claude Code reaches through ``type: "http"`` entries.

Claude Code POSTs each event's payload to ``/hookrun-install/<EVENT>``; the answer comes from
the same ``execute`` and merge as ``hookrun run`` and always goes back as 200 + JSON, because
Claude Code drops a plain-text body and treats every non-2xx as a non-blocking error. Replies
leave in one write on a ``TCP_NODELAY`` socket: headers and body in two writes cost about
40 ms per reply on a kept-alive connection (Nagle against delayed ACK).
"""

from __future__ import annotations

import hmac
import http.client
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple

from hookswarm.executor import hookenv
from hookswarm.executor.graph import Threads
from hookswarm.executor.merge import Response, with_note
from hookswarm.executor.run import Invocation, execute
from hookswarm.lib import hookconfig as configuration
from hookswarm.lib import process
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.process import start_detached
from hookswarm.lib.swarmdir import make_dirs
from hookswarm.lib.warm import Pool
from hookswarm.settings.entries import entry_timeout, hookrun_executable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hookswarm.lib.hookconfig import Config

ROUTE = "/hookrun-install/"
STATUS_ROUTE = "/hookrun-status"
STOP_ROUTE = "/hookrun-stop"
TOKEN_ENV = "HOOKRUN_TOKEN"
STATE_FILE = "serve.json"
DEFAULT_IDLE = 8 * 3600.0
FRESH_RUN_TIMEOUT = 600.0
# Claude Code stops waiting for an http entry at its timeout, which install sized from the same
# hooks; the answer leaves this long before, so it arrives (a hook not done by then has timed out).
ANSWER_SLACK = 1.0


class ServeOptions(NamedTuple):
    """What one server runs: whose hooks, where it listens, who may call it."""

    project: str
    config_path: str
    port: int
    token: str
    environ: Mapping[str, str]
    idle: float = DEFAULT_IDLE
    warm: bool = True  # Python script hooks start from zygotes
    restart_argv: tuple[str, ...] = ()  # starts a replacement (empty: changed modules only
    # get fresh processes)
    replacing: bool = False  # started to replace a server whose call modules changed


class Notes:
    """Failures a reply could not carry, for the next reply's ``systemMessage``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        with self._lock:
            if line not in self._lines:
                self._lines.append(line)

    def take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
            return lines


class ConfigWatch:
    """hookrun.toml as last read: reloaded when it changes; an invalid new one keeps the old."""

    def __init__(self, path: str, notes: Notes) -> None:
        self.path = path
        self._notes = notes
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._config: Config | None = None

    def current(self) -> Config | None:
        """The config to run (None: none valid yet, so ``execute`` reports the problem)."""
        key = _file_key(self.path)
        with self._lock:
            if key != self._key:
                self._key = key
                self._reload()
            return self._config

    def _reload(self) -> None:
        try:
            self._config = configuration.load(self.path)
        except ConfigError as exc:
            if self._config is not None:
                self._notes.add(f"hookrun serve: {exc}; still running the previous hookrun.toml; "
                                "run `hookrun validate` to see every problem")


class ModuleWatch:
    """The files of the modules ``call`` hooks imported, as they were when imported.

    Python cannot unload a module, and ``importlib.reload`` leaves the old objects behind, so
    a changed module means a new process: events go to a fresh ``hookrun run`` until the
    server's replacement, started with the new code, takes over.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, int, int] | None] = {}

    def note(self, config: Config | None) -> None:
        """Remember the files of the call modules imported so far."""

        modules = {h.call.partition(":")[0] for h in config.hooks if h.call} if config else set()
        with self._lock:
            for name in modules - set(self._seen):
                path = getattr(sys.modules.get(name), "__file__", None)
                if path:
                    self._seen[path] = _file_key(path)

    def changed(self) -> list[str]:
        with self._lock:
            return [path for path, key in self._seen.items() if _file_key(path) != key]


def _file_key(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def answer(options: ServeOptions, watch: ConfigWatch, notes: Notes, event: str,
           raw: bytes, *, warm: Pool | None = None, modules: ModuleWatch | None = None,
           threads: Threads | None = None) -> bytes:
    """The JSON body for one event: the merged answer, with pending notes as systemMessage."""
    config = watch.current()
    within = answer_within(config, event)
    if modules is not None and modules.changed():
        response = _fresh_run(options, event, raw)
    else:
        response = execute(Invocation(raw=raw, event=event, config_path=options.config_path,
                                      environ=options.environ, cwd=_cwd(raw, options.project),
                                      config=config, warm=warm, threads=threads,
                                      kept_environ=True, within=within)).response
        if modules is not None:
            modules.note(config)
    lines = notes.take()
    if response.exit_code == 2:  # an exit-2 block has no JSON form here; install avoids it
        lines.append(response.stderr.strip())
        response = response._replace(stdout="", exit_code=0)
    if lines:
        response = with_note(response, "\n".join(lines))
    return (response.stdout or "{}").encode("utf-8", "replace")


def answer_within(config: Config | None, event: str) -> float | None:
    """Seconds the hooks of ``event`` may take before their answer must leave."""
    hooks = config.for_event(event) if config is not None else []
    return entry_timeout(hooks) - ANSWER_SLACK if hooks else None


def _fresh_run(options: ServeOptions, event: str, raw: bytes) -> Response:
    """The event run by a new ``hookrun run`` process, which imports the call modules anew."""

    argv = [hookrun_executable(), "run", event, "--config", options.config_path]
    cwd = _cwd(raw, options.project)
    child = process.start(argv, cwd=cwd, env=hookenv.for_event(options.environ, event,
                                                                _payload(raw)))
    if isinstance(child, process.ProcessOutcome):
        return Response(stdout=json.dumps({"systemMessage": f"hookrun serve: {child.launch_error}"
                                                            }))
    outcome = child.communicate(raw, timeout=FRESH_RUN_TIMEOUT, max_output=1 << 24)
    stdout = outcome.stdout.decode("utf-8", "replace").strip()
    return Response(stdout=stdout, stderr=outcome.stderr.decode("utf-8", "replace"),
                    exit_code=outcome.exit_code or 0)


def _cwd(raw: bytes, project: str) -> str:
    """The session's working directory from the payload, where a command hook would start."""
    cwd = _payload(raw).get("cwd")
    return cwd if isinstance(cwd, str) and os.path.isdir(cwd) else project


def _payload(raw: bytes) -> dict[str, Any]:
    """The event's payload as far as it is a JSON object (``hookrun run`` judges the rest)."""
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


class Server(ThreadingHTTPServer):
    """One project's server: each connection on a thread of its own."""

    daemon_threads = True
    allow_reuse_address = True
    allow_reuse_port = True  # a replacement listens beside this one before it stops

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        super().__init__(("127.0.0.1", options.port), _Handler)
        self.notes = Notes()
        self.watch = ConfigWatch(options.config_path, self.notes)
        self.last_active = time.monotonic()
        self.requests = 0
        self.started = time.time()
        self.stopping = threading.Event()
        self.modules = ModuleWatch()
        self.threads = Threads()
        self._connections = 0  # accepted and not yet closed: a request may be on its way
        self._idle_again = threading.Condition()
        self.replaced = False
        self.warm: Pool | None = None
        if options.warm:

            self.warm = Pool(os.path.join(options.project, ".swarm", "hooks"))

    def touch(self) -> None:
        self.last_active = time.monotonic()
        self.requests += 1

    def status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "port": self.server_address[1],
                "project": self.options.project, "config": self.options.config_path,
                "started": round(self.started, 3), "requests": self.requests,
                "idle_exit_s": self.options.idle, "stopping": self.stopping.is_set()}

    def stop(self, reason: str) -> None:
        """Stop serving (from any thread but the one in ``serve_forever``)."""
        if not self.stopping.is_set():
            self.stopping.set()
            if not self.replaced:  # the replacement's state is the one that counts now
                write_state(self.options.project, {**self.status(),
                                                   "stopped": round(time.time(), 3),
                                                   "reason": reason})
            threading.Thread(target=self.shutdown, daemon=True).start()

    def server_bind(self) -> None:
        if self.options.port and not self.options.replacing:
            _refuse_a_taken_port(self.options.port)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle_again:
            self._connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._idle_again:
            self._connections -= 1
            self.last_active = time.monotonic()
            self._idle_again.notify_all()

    def idle_for(self, now: float) -> float:
        """Seconds without an open connection (0 while one is open)."""
        with self._idle_again:
            return 0.0 if self._connections else now - self.last_active

    def close_down(self, timeout: float) -> None:
        """After ``serve_forever``: answer what is on its way, then close.

        Connections still queued would be reset by closing the socket, and a request arriving
        on a kept-alive connection would be cut off by exiting: both are answered (with
        ``Connection: close``) until every connection has closed, or ``timeout``.
        """
        self.stopping.set()
        self.timeout = 0.0
        while select.select([self.socket], [], [], 0)[0]:
            self.handle_request()
        self.server_close()
        with self._idle_again:
            self._idle_again.wait_for(lambda: self._connections == 0, timeout)

    def replace_when_changed(self) -> None:
        """Call modules changed: start a server with the new code on this port, then stop."""
        if self.replaced or not self.options.restart_argv or not self.modules.changed():
            return
        self.replaced = True
        threading.Thread(target=self._replace, daemon=True).start()

    def _replace(self) -> None:

        log = os.path.join(os.path.dirname(state_path(self.options.project)), "serve.log")
        started = start_detached([*self.options.restart_argv, "--replacing"],
                                 cwd=self.options.project, env=self.options.environ, log=log,
                                 ready_within=10.0)
        if isinstance(started, str):
            self.replaced = False
            self.notes.add(f"hookrun serve: a changed call hook module needs a new server, "
                           f"which did not start ({started}); events run in fresh processes")
            return
        self.stop("replaced by a server with the changed call hook modules")


def _refuse_a_taken_port(port: int) -> None:
    """Raise ``EADDRINUSE`` when something listens on ``port``: with ``SO_REUSEPORT`` this
    server would share it (another project's server, one slow to answer), and the kernel
    would split Claude Code's events between the two, the other answering 401."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authorised():
            return self._send(401, b'{"error": "hookrun serve: wrong or missing token"}')
        self.server.touch()
        if self.path == STOP_ROUTE:
            self._send(200, b"{}")
            return self.server.stop("stopped by hookrun serve --stop")
        if not self.path.startswith(ROUTE):
            return self._send(404, b'{"error": "hookrun serve: unknown path"}')
        event = self.path[len(ROUTE):].split("?", 1)[0]
        server = self.server
        self._send(200, answer(server.options, server.watch, server.notes, event, raw,
                               warm=server.warm, modules=server.modules, threads=server.threads))
        server.replace_when_changed()

    def do_GET(self) -> None:
        if self.path != STATUS_ROUTE or not self._authorised():
            return self._send(404 if self._authorised() else 401, b"{}")
        self._send(200, json.dumps(self.server.status()).encode())

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.server.options.token.encode())

    def _send(self, status: int, body: bytes) -> None:
        if self.server.stopping.is_set():  # the client must not send this connection more
            self.close_connection = True
        head = (f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
                "Content-Type: application/json\r\n"
                + ("Connection: close\r\n" if self.close_connection else "")
                + f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            self.wfile.write(head + body)
        except OSError as exc:
            self.close_connection = True
            self.server.notes.add(f"hookrun serve: an answer could not be delivered "
                                  f"({exc.strerror or exc}); Claude Code went on without it")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # diagnostics go to the run records, not to a log per request


def state_path(project: str) -> str:
    return os.path.join(project, ".swarm", "hooks", STATE_FILE)


def read_state(project: str) -> dict[str, Any]:
    try:
        with open(state_path(project), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(project: str, state: Mapping[str, Any]) -> None:
    path = state_path(project)
    make_dirs(os.path.dirname(path))
    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(dict(state), handle)
    os.replace(temp, path)


def downtime_note(previous: Mapping[str, Any], now: float) -> str:
    """What the last server's end means for the hooks since: the gap in which none ran."""
    if not previous:
        return ""
    since = previous.get("stopped")
    if since is None:
        return (f"hookrun serve (pid {previous.get('pid')}) ended without stopping cleanly; "
                "http hook events sent while it was down ran no hooks (they fail open)")
    return (f"hookrun serve was not running for {now - float(since):.0f} s "
            f"({previous.get('reason')}); http hook events sent in that time ran no hooks "
            "(they fail open)")


def serve(options: ServeOptions, *, ready: Any = None, on_sigterm: bool = False) -> None:
    """Serve until stopped, or idle for ``options.idle`` seconds (``on_sigterm``: or SIGTERM,
    which only the main thread can catch); ``ready(port)`` is called once it listens."""

    previous = {} if options.replacing else read_state(options.project)
    server = Server(options)
    note = downtime_note(previous, time.time())
    if note:
        server.notes.add(note)
    write_state(options.project, server.status())
    if on_sigterm:
        signal.signal(signal.SIGTERM, lambda *_: server.stop("terminated by SIGTERM"))
    threading.Thread(target=_idle_watch, args=(server,), daemon=True).start()
    if ready is not None:
        ready(server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.close_down(FRESH_RUN_TIMEOUT)
        if server.warm is not None:
            server.warm.close()


def _idle_watch(server: Server) -> None:
    while not server.stopping.wait(max(0.05, min(1.0, server.options.idle / 4))):
        if server.idle_for(time.monotonic()) >= server.options.idle:
            server.stop(f"exited after {server.options.idle:g} s without an event")


def call(port: int, token: str, path: str, *, method: str = "GET",
         timeout: float = 2.0) -> dict[str, Any] | None:
    """Ask the server on ``port`` (None: nothing answers there, or not with our token)."""

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=b"" if method == "POST" else None,
                           headers={"Authorization": f"Bearer {token}"})
        reply = connection.getresponse()
        body = reply.read()
        data = json.loads(body) if reply.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    return data if isinstance(data, dict) else None
