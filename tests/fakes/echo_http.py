"""A loopback HTTP server for fan-out tests and benchmarks: answers ``{"path": ..., "n": ...}``.

Keep-alive (HTTP/1.1), 127.0.0.1, a free port. ``/fail/...`` answers 500; ``/flaky/K/...``
answers 500 to the first K requests for that path, then 200; ``/echo`` (POST) returns the body.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        seen = self.server.count(self.path)
        parts = self.path.strip("/").split("/")
        if parts[0] == "fail" or (parts[0] == "flaky" and seen <= int(parts[1])):
            self._send(500, {"error": "scripted failure", "path": self.path})
            return
        self._send(200, {"path": self.path, "n": seen})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, {"echo": json.loads(body or b"null")})

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 workers connect at once; the default 5 drops connections

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()

    def count(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]


class EchoHTTP:
    """``with EchoHTTP() as server: server.url``; ``server.hits`` counts requests per path."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def hits(self) -> Counter[str]:
        return self._server.hits

    def __enter__(self) -> EchoHTTP:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    """Serve as a process (for benchmarks): prints ``ready URL``, serves until killed."""
    with EchoHTTP() as server:
        print(f"ready {server.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
