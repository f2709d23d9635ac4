"""The playground's HTTP server: the page, its frames as server-sent events, commands by POST.

Standard library only (``http.server.ThreadingHTTPServer``, a daemon thread per connection).
The wire protocol and the security rules are in docs/playground.md:

- it binds ``127.0.0.1`` only, on a random free port unless one is given;
- every path starts with a secret token (``secrets.token_urlsafe(16)``): ``/TOKEN/...``;
  a path without it → 403;
- the ``Host`` header must be ``127.0.0.1:PORT`` or ``localhost:PORT`` → else 403 (DNS
  rebinding); a POST with an ``Origin`` of another site → 403; a POST body is JSON
  (``Content-Type: application/json``, else 415) of bounded size (else 413);
- every response carries ``Content-Security-Policy: default-src 'self'``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``Cache-Control: no-store``;
- only the files under the package's ``static/`` folder are served, by extension
  (``.html``, ``.css``, ``.js`` as ``text/javascript``, ``.svg``, ``.json``); any other path → 404.

Endpoints: ``GET /TOKEN/`` (the page), ``GET /TOKEN/static/FILE``, ``GET /TOKEN/frame`` (the
newest frame, JSON), ``GET /TOKEN/events`` (``text/event-stream``: ``event: frame`` at most
``MAX_RATE`` a second, only frames newer than the last one sent on that stream, a
``: keep-alive`` comment every ``KEEP_ALIVE`` seconds when idle) and ``POST /TOKEN/command``
(a command → the trainer's reply; a bad command → 400 ``{"error": "..."}``).

``PlaygroundServer(trainer).start()`` serves; ``stop()`` ends the event streams, shuts the
server down, closes its socket and joins its threads (the port is free afterwards).
"""

from __future__ import annotations

import json
import math
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from .._text import one_line

HOST = "127.0.0.1"
STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
                 ".json": "application/json"}
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-store"}
MAX_BODY = 64 * 1024  # bytes of a command
MAX_RATE = 15.0  # frames a second per event stream, at most
KEEP_ALIVE = 15.0  # seconds between comments on an idle event stream
SERVER_THREAD = "glassnet-playground-server"  # threads are named NAME-PORT
HTTP_THREAD = "glassnet-playground-http"
_WAIT = 0.25  # longest wait of an event stream between checks for stop


def _finite(obj):
    """``obj`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def to_json(obj) -> bytes:
    """Strict, compact JSON (NaN and infinities become null; NumPy scalars and arrays become
    numbers and lists)."""
    def default(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} is not JSON")

    try:
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=default)
    except ValueError:
        text = json.dumps(_finite(json.loads(json.dumps(obj, default=default))),
                          separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose connection threads are named, tracked and joined on close."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, playground):
        self.playground = playground
        self._lock = threading.Lock()
        self._conn_threads: set = set()
        self._connections: set = set()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        t = threading.Thread(target=self._process, args=(request, client_address),
                             name=f"{HTTP_THREAD}-{self.server_address[1]}", daemon=True)
        with self._lock:
            self._conn_threads.add(t)
            self._connections.add(request)
        t.start()

    def _process(self, request, client_address):
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._conn_threads.discard(threading.current_thread())
                self._connections.discard(request)

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, TimeoutError)) or self.playground.closing.is_set():
            return  # the page went away, or we are stopping
        print(f"glassnet playground: error while answering a request: {type(err).__name__}: "
              f"{one_line(err)}", file=sys.stderr)

    def close_connections(self) -> None:
        """Wake every connection's thread: reads and writes on its socket end at once."""
        with self._lock:
            conns = list(self._connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def join_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._conn_threads)
            threads = [t for t in threads if t is not threading.current_thread()]
            if not threads:
                return
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return


class _Handler(BaseHTTPRequestHandler):
    server_version = "glassnet-playground"
    timeout = 30  # seconds a silent client may hold a connection
    server: _HTTPServer

    # ---------------------------------------------------------------- responses
    def end_headers(self):
        for k, v in SECURITY_HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):
        if self.server.playground.log:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj):
        self._send(status, to_json(obj), "application/json")

    def _error(self, status: int, message: str):
        self._json(status, {"error": message})

    # ---------------------------------------------------------------- checks
    def _route(self) -> list | None:
        """The path's parts after the token (``[]`` for ``/TOKEN``), or None after answering 403
        (a foreign Host, a missing or wrong token)."""
        pg = self.server.playground
        if self.headers.get("Host", "") not in pg.hosts:
            self._error(403, "forbidden: the Host header must be 127.0.0.1:PORT or localhost:PORT")
            return None
        parts = self.path.split("?", 1)[0].split("#", 1)[0].split("/")
        token = unquote(parts[1]) if len(parts) > 1 else ""
        if parts[0] != "" or not secrets.compare_digest(token.encode(), pg.token.encode()):
            self._error(403, "forbidden: open the playground's URL with its token")
            return None
        return parts[2:]

    # ---------------------------------------------------------------- GET
    def do_GET(self):
        parts = self._route()
        if parts is None:
            return
        if parts == []:  # /TOKEN: the page's relative URLs need the slash
            self._send(308, b"", "text/plain", {"Location": f"/{self.server.playground.token}/"})
        elif parts == [""]:
            self._static(["index.html"])
        elif parts == ["frame"]:
            pg = self.server.playground
            self._send(200, pg.frame_json(pg.trainer.frame()), "application/json")
        elif parts == ["events"]:
            self._events()
        elif len(parts) >= 2 and parts[0] == "static":
            self._static(parts[1:])
        else:
            self._error(404, "not found")

    do_HEAD = do_GET

    def _static(self, parts: list):
        """A file under static/ — only there, and only of a known type; anything else → 404."""
        names = [unquote(p) for p in parts]
        if any(n in ("", ".", "..") or "/" in n or "\\" in n or "\0" in n or ":" in n for n in names):
            self._error(404, "not found")
            return
        root = STATIC.resolve()
        path = root.joinpath(*names).resolve()
        kind = CONTENT_TYPES.get(path.suffix.lower())
        if kind is None or not path.is_relative_to(root) or not path.is_file():
            self._error(404, "not found")
            return
        try:
            body = path.read_bytes()
        except OSError:
            self._error(404, "not found")
            return
        self._send(200, body, kind)

    def _events(self):
        """Server-sent events: the newest frame at once, then each newer one (at most MAX_RATE a
        second; frames in between are skipped), a comment when idle; ends when the playground
        stops or the page goes away."""
        pg = self.server.playground
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        last_id, last_write = 0, time.monotonic()
        gap = 1.0 / pg.max_rate
        try:
            while not pg.closing.is_set():
                asked = time.monotonic()
                frame = pg.trainer.wait_frame(last_id, timeout=_WAIT)
                if pg.closing.is_set():
                    break
                now = time.monotonic()
                if frame is None:
                    if pg.trainer_stopped():
                        break
                    if now - asked < _WAIT / 2:  # woken early without a frame: never spin
                        pg.closing.wait(_WAIT / 2)
                    if now - last_write >= pg.keep_alive:
                        self.wfile.write(b": keep-alive\n\n")
                        last_write = now
                    continue
                self.wfile.write(b"event: frame\ndata: " + pg.frame_json(frame) + b"\n\n")
                last_id, last_write = frame["id"], now
                pg.closing.wait(gap)  # the rate cap: the newest frame after the gap, not each one
        except (ConnectionError, TimeoutError, OSError):
            pass  # the page closed the stream, or stop() closed the socket

    # ---------------------------------------------------------------- POST
    def _read_body(self) -> tuple:
        """(body, None) or (None, (status, message)). The body is read before any answer, even a
        refusal, so that closing the connection never resets it under the reply."""
        length = self.headers.get("Content-Length")
        if length is None:
            return None, (411, "a command needs a Content-Length")
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            return None, (400, f"bad Content-Length {length[:40]!r}")
        if n > MAX_BODY:
            left = min(n, 16 * MAX_BODY)
            while left > 0:
                chunk = self.rfile.read(min(left, MAX_BODY))
                if not chunk:
                    break
                left -= len(chunk)
            return None, (413, f"a command is at most {MAX_BODY} bytes, got {n}")
        return self.rfile.read(n), None

    def do_POST(self):
        pg = self.server.playground
        self.close_connection = True
        body, problem = self._read_body()
        parts = self._route()
        if parts is None:
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin not in pg.origins:
            self._error(403, f"forbidden: a command from another origin ({origin[:100]})")
            return
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            self._error(403, "forbidden: a command from another site")
            return
        if parts != ["command"]:
            self._error(404, "not found (commands go to POST command)")
            return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._error(415, f"a command must be sent as application/json, got {ctype or 'no content type'!r}")
            return
        if problem is not None:
            self._error(*problem)
            return
        try:
            cmd = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            self._error(400, f"the command is not JSON: {one_line(err)}"[:300])
            return
        try:
            reply = pg.trainer.command(cmd)
        except ValueError as err:
            self._error(400, one_line(err))
        except TimeoutError as err:
            self._error(504, one_line(err))
        except RuntimeError as err:
            self._error(503, one_line(err))
        else:
            self._json(200, reply)


class PlaygroundServer:
    """Serves one trainer's playground on ``127.0.0.1``: ``start()``, ``url``, ``stop()``.

    ``port=0`` takes a random free port; ``log=True`` writes a line per request on stderr.
    """

    def __init__(self, trainer, port: int = 0, *, token: str | None = None, log: bool = False,
                 max_rate: float = MAX_RATE, keep_alive: float = KEEP_ALIVE):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"playground: port must be an integer from 0 to 65535, got {port!r}")
        self.trainer = trainer
        self.token = token or secrets.token_urlsafe(16)
        self.log = log
        self.max_rate = float(max_rate)
        self.keep_alive = float(keep_alive)
        self.closing = threading.Event()
        self._frame_cache: tuple = (None, b"")
        self._cache_lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._httpd = _HTTPServer((HOST, port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self.hosts = (f"127.0.0.1:{self.port}", f"localhost:{self.port}")
        self.origins = tuple("http://" + h for h in self.hosts)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.token}/"

    # ---------------------------------------------------------------- frames
    def frame_json(self, frame: dict) -> bytes:
        """A frame as JSON bytes, encoded once however many streams send it."""
        with self._cache_lock:
            cached, data = self._frame_cache
            if cached is frame:
                return data
        data = to_json(frame)
        with self._cache_lock:
            self._frame_cache = (frame, data)
        return data

    def trainer_stopped(self) -> bool:
        stopped = getattr(self.trainer, "_stopped", None)
        return bool(stopped is not None and stopped.is_set())

    # ---------------------------------------------------------------- life
    def start(self) -> PlaygroundServer:
        if self._thread is None and not self.closing.is_set():
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"{SERVER_THREAD}-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the event streams, stop serving, close the socket, join every thread (idempotent)."""
        with self._stop_lock:
            self.closing.set()
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(timeout)
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd.join_threads(timeout)

    def __repr__(self) -> str:
        state = "stopped" if self.closing.is_set() else "serving"
        return f"<PlaygroundServer {self.url} ({state})>"
