"""The loopback server every emulator runs in, with fault injection and a request log.

An emulator is a `EmulatorApp` subclass that declares werkzeug routes. This base adds what
every emulator needs for tests and benchmarks:

- a request log (`app.requests`, or `GET /_sandbox/requests`) to count API calls at the server;
- faults (`app.faults.inject(Fault(...))`, or `POST /_sandbox/faults`): a status with an optional
  `Retry-After`, a slow response, a connection reset before any byte, a body cut short of its
  Content-Length, a valid response whose JSON is truncated, an expired token;
- `ServerThread`, which serves an app on 127.0.0.1 (optionally over TLS) in a background thread.

Example:
    ```python
    app = BambooHREmulator(org)
    with ServerThread(app) as server:
        app.faults.inject(Fault(kind="status", status=429, retry_after="1", path="/reports/custom"))
        httpx.get(server.url + "/api/gateway.php/acme/v1/employees/directory", auth=("key", "x"))
    ```
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

FaultKind = Literal[
    "status", "status_after", "delay", "delay_after", "reset", "short_body", "truncate_json", "expire_token"
]


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next `times` matching requests after skipping `after`.

    kinds:
        status: answer `status` (with `retry_after` as the Retry-After header and `body` if given).
        status_after: run the handler (a write is stored), THEN answer `status` instead of its answer.
        delay: sleep `delay_seconds`, then answer normally.
        delay_after: run the handler (a write is stored), then sleep `delay_seconds` before answering
            (past the client's timeout, the client never learns the write landed).
        reset: close the connection with a TCP reset before answering.
        short_body: answer normally but stop after half the body, with the full Content-Length.
        truncate_json: answer 200 with the body cut in half and a matching Content-Length.
        expire_token: invalidate every issued access token, then answer normally (the emulator's
            auth check then fails with its own 401).
    """

    kind: FaultKind
    path: str = ""
    """Regular expression searched in the request path; empty matches every path."""
    method: str | None = None
    status: int = 500
    retry_after: str | None = None
    body: str | None = None
    delay_seconds: float = 0.0
    times: int = 1
    after: int = 0

    def matches(self, request: Request) -> bool:
        """Whether this fault applies to `request`."""
        if self.method and request.method.upper() != self.method.upper():
            return False
        return not self.path or re.search(self.path, request.path) is not None


class FaultInjector:
    """A thread-safe list of pending faults."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault) -> Fault:
        """Add a fault; it fires on matching requests until its `times` are used up."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """Faults that have not fired their last time yet."""
        with self._lock:
            return list(self._faults)

    def take(self, request: Request) -> Fault | None:
        """The fault to apply to this request, if one matches (and count it as used)."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(request):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None


@dataclass(frozen=True)
class LoggedRequest:
    """One request the emulator received."""

    method: str
    path: str
    query: str
    status: int


@dataclass
class RequestLog:
    """Every request an emulator answered, for counting calls in tests and benchmarks."""

    entries: list[LoggedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: LoggedRequest) -> None:
        """Record one request."""
        with self.lock:
            self.entries.append(entry)

    def count(self, path: str = "", method: str | None = None) -> int:
        """How many requests matched the path regex (and method)."""
        with self.lock:
            return sum(
                1
                for e in self.entries
                if (not path or re.search(path, e.path)) and (method is None or e.method == method)
            )

    def clear(self) -> None:
        """Forget every request."""
        with self.lock:
            self.entries.clear()


class _Abort(Exception):
    """Raised inside the WSGI app to drop the connection (a reset fault)."""


class EmulatorApp:
    """Base WSGI app of an emulator: routing, faults, request log and the `/_sandbox` admin API."""

    name = "emulator"

    def __init__(self) -> None:
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.url_map = Map(
            [
                Rule("/_sandbox/faults", endpoint="_admin_faults", methods=["GET", "POST", "DELETE"]),
                Rule("/_sandbox/requests", endpoint="_admin_requests", methods=["GET", "DELETE"]),
                *self.rules(),
            ],
            strict_slashes=False,
        )

    # --- for subclasses --------------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        """The emulator's routes; each endpoint names a method `on_<endpoint>(request, **values)`."""
        return ()

    def expire_tokens(self) -> None:
        """Invalidate every issued token (the `expire_token` fault); emulators with tokens override it."""

    def admin(self, request: Request, action: str) -> Response:
        """Extra `/_sandbox/<action>` endpoints (mutate the org, ...); subclasses override."""
        raise NotFound()

    # --- WSGI --------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer one request, applying a pending fault that matches it."""
        request = Request(environ)
        is_admin = request.path.startswith("/_sandbox/")
        fault = None if is_admin else self.faults.take(request)
        if fault is not None and fault.kind == "reset":
            _reset_connection(environ)
            self.requests.add(LoggedRequest(request.method, request.path, request.query_string.decode(), 0))
            start_response("500 Internal Server Error", [("Content-Length", "0"), ("Connection", "close")])
            return []
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay_seconds)
        if fault is not None and fault.kind == "expire_token":
            self.expire_tokens()
        if fault is not None and fault.kind == "status":
            response = Response(fault.body or "", status=fault.status)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
        else:
            response = self._dispatch(request)
        if fault is not None and fault.kind == "status_after":
            response = Response(fault.body or "", status=fault.status)
        if fault is not None and fault.kind == "delay_after":
            time.sleep(fault.delay_seconds)
        if fault is not None and fault.kind in ("short_body", "truncate_json"):
            response = _cut(response, short=fault.kind == "short_body")
        if not is_admin:
            self.requests.add(
                LoggedRequest(
                    request.method, request.path, request.query_string.decode(), response.status_code
                )
            )
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            if endpoint == "_admin_faults":
                return self._admin_faults(request)
            if endpoint == "_admin_requests":
                return self._admin_requests(request)
            handler = getattr(self, f"on_{endpoint}")
            result: Response = handler(request, **values)
        except HTTPException as exc:
            return self.http_error(request, exc)
        return result

    def http_error(self, request: Request, exc: HTTPException) -> Response:
        """The vendor's own shape for a routing error (404/405); subclasses override."""
        return Response(exc.description or "", status=exc.code or 500)

    def _admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            spec = request.get_json(force=True)
            for item in spec if isinstance(spec, list) else [spec]:
                self.faults.inject(Fault(**item))
        elif request.method == "DELETE":
            self.faults.clear()
        return json_response([asdict(f) for f in self.faults.pending()])

    def _admin_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            return json_response({"count": 0})
        with self.requests.lock:
            entries = [asdict(e) for e in self.requests.entries]
        return json_response({"count": len(entries), "requests": entries})


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with `Content-Type: application/json`."""
    body = json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, headers=headers, content_type="application/json")


def _cut(response: Response, *, short: bool) -> Response:
    body = response.get_data()
    half = body[: max(1, len(body) // 2)]
    if short:
        # Promise the whole body, send half, then hang up: the client sees a body cut short.
        def partial() -> Iterator[bytes]:
            yield half

        cut = Response(partial(), status=response.status_code, headers=list(response.headers.items()))
        cut.headers["Content-Length"] = str(len(body))
        cut.headers["Connection"] = "close"
        return cut
    cut = Response(half, status=response.status_code, headers=list(response.headers.items()))
    cut.headers["Content-Length"] = str(len(half))
    return cut


def _reset_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise _Abort("no socket to reset")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)


class ServerThread:
    """Serve a WSGI app on 127.0.0.1 in a background thread; `url` is where it listens."""

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self._server.daemon_threads = True  # type: ignore[attr-defined]  # a ThreadingMixIn server
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{port}",
            daemon=True,
        )
        scheme = "https" if ssl_context else "http"
        self.host = host
        self.port = self._server.server_port
        self.url = f"{scheme}://{host}:{self.port}"

    def start(self) -> ServerThread:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
