"""A loopback HTTP file server for the download tests: 127.0.0.1, a random port, no network.

    with FileServer({"/a/x.gz": data}) as srv:
        srv.fail("/a/x.gz", "truncate")        # the next request for it is cut short
        url = srv.url("/a/")

It answers ``Range: bytes=N-`` with 206 (416 past the end), counts every
request, and fails on demand, request by request: ``404``, ``500``,
``truncate`` (the full Content-Length, half the body, then the connection
closes), ``corrupt`` (one byte changed) and ``norange`` (a Range is ignored:
200 and the whole file).
"""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading


class FileServer:
    def __init__(self, files: dict):
        self.files = dict(files)
        self.faults: dict[str, list] = {}  # path -> faults for its next requests, in order
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header) of each request
        self.sent = 0  # body bytes written, over all requests
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    # -------------------------------------------------------------- set-up
    def fail(self, path: str, *faults: str) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def url(self, prefix: str = "/") -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{prefix}"

    def count(self, path: str | None = None) -> int:
        return sum(1 for p, _ in self.requests if path is None or p == path)

    def start(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def do_GET(self):
                server._serve(self)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- serving
    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        path, rng = h.path, h.headers.get("Range")
        with self._lock:
            self.requests.append((path, rng))
            queue = self.faults.get(path)
            fault = queue.pop(0) if queue else None
        if path not in self.files or fault == "404":
            return h.send_error(404, "Not Found")
        if fault == "500":
            return h.send_error(500, "Internal Server Error")
        body = self.files[path]
        if fault == "corrupt":
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        start = 0
        if rng and fault != "norange":
            start = int(rng.removeprefix("bytes=").partition("-")[0])
            if start >= len(body):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(body)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            h.send_response(200)
        piece = body[start:]
        h.send_header("Content-Length", str(len(piece)))
        h.send_header("Content-Type", "application/octet-stream")
        h.end_headers()
        if fault == "truncate":
            piece = piece[:len(piece) // 2]
            h.close_connection = True
        h.wfile.write(piece)
        h.wfile.flush()
        with self._lock:
            self.sent += len(piece)


def free_port() -> int:
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
