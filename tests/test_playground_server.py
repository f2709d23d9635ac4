"""The playground's HTTP protocol from Python (urllib and http.client, 127.0.0.1 only).

The page and its files with the security headers; the newest frame as JSON; server-sent events
with rising ids at most ~15 a second; commands (step → the model's loss on the trainer's batch, a
new learning rate used by the next update); a reload that gets frames without a second trainer;
refusals (wrong Host, token, cross-origin POST, non-JSON bodies, path traversal, bad commands);
and stop, which frees the port and leaves no thread behind.
"""

from __future__ import annotations

import _thread
import http.client
import itertools
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import numpy as np
import pytest

import glassnet as gn
from glassnet.playground import server as S
from glassnet.playground.trainer import THREAD_NAME

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to 127.0.0.1
SECURITY = {"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _strict(text):
    def no_constant(c):
        raise ValueError(f"not strict JSON: {c}")
    return json.loads(text, parse_constant=no_constant)


def get(url, headers=None, timeout=10):
    """(status, headers, body) of a GET; error statuses are answers too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def post(url, body, headers=None, content_type="application/json", timeout=30):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=h, method="POST")
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.headers, _strict(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers, (_strict(raw) if raw else None)


def command(pg, **cmd):
    status, _, reply = post(pg.url + "command", cmd)
    assert status == 200, reply
    return reply


def raw(pg, method, path, headers=None, body=None, host=True):
    """A request exactly as written (no normalising of the path): (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", pg.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host:
            conn.putheader("Host", f"127.0.0.1:{pg.port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class Events:
    """An event stream read line by line: ``next_frame()``, ``close()``."""

    def __init__(self, url, timeout=10):
        self.r = OPENER.open(urllib.request.Request(url + "events"), timeout=timeout)
        assert self.r.status == 200
        assert self.r.headers["Content-Type"].startswith("text/event-stream")
        self.comments = 0

    def next_frame(self) -> dict:
        event = None
        while True:
            line = self.r.readline()
            assert line, "the stream ended"
            if line.startswith(b":"):
                self.comments += 1
            elif line.startswith(b"event: "):
                event = line[7:].strip()
            elif line.startswith(b"data: "):
                assert event == b"frame"
                assert self.r.readline() == b"\n"  # the event's end
                return _strict(line[6:])

    def close(self):
        self.r.close()


def trainers() -> int:
    return [t.name for t in threading.enumerate()].count(THREAD_NAME)


def threads_of(port: int) -> list:
    """The server's threads of the playground on ``port`` (named NAME-PORT)."""
    return [t.name for t in threading.enumerate()
            if t.name.startswith(("glassnet-playground-server", "glassnet-playground-http"))
            and t.name.endswith(f"-{port}")]


@pytest.fixture(scope="module")
def pg():
    p = gn.playground(setup={"n_samples": 60})
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def paused(pg):
    """The module's playground, paused at step 0 of a fresh moons setup."""
    command(pg, cmd="pause")
    command(pg, cmd="set", data="moons", n_samples=60, lr=0.03, optimizer="sgd", l2=0.0)
    command(pg, cmd="reset")
    yield pg
    command(pg, cmd="pause")


# ---------------------------------------------------------------------------- files
def test_url_is_loopback_with_a_secret_token(pg):
    u = urlsplit(pg.url)
    assert u.scheme == "http" and u.hostname == "127.0.0.1" and u.port == pg.port
    token = u.path.strip("/")
    assert u.path == f"/{token}/" and len(token) >= 20 and "/" not in token
    assert pg.server._httpd.server_address[0] == "127.0.0.1"
    assert repr(pg).startswith(f"<Playground {pg.url} moons, step")


@pytest.mark.parametrize("path, ctype", [
    ("", "text/html"), ("static/app.js", "text/javascript"), ("static/views/util.js", "text/javascript"),
    ("static/style.css", "text/css"), ("static/favicon.svg", "image/svg+xml")])
def test_page_and_static_files_with_the_security_headers(pg, path, ctype):
    status, headers, body = get(pg.url + path)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == ctype
    for k, v in SECURITY.items():
        assert headers[k] == v
    assert int(headers["Content-Length"]) == len(body) > 0
    name = "index.html" if path == "" else path[len("static/"):]
    assert body == (S.STATIC / name).read_bytes()


def test_refusals_carry_the_headers_too(pg):
    for status, headers, _ in (get(pg.url + "static/nosuch.js"), get(pg.url + "nosuch"),
                               get(f"http://127.0.0.1:{pg.port}/wrong-token/")):
        assert status in (403, 404)
        assert all(headers[k] == v for k, v in SECURITY.items())


def test_token_without_slash_redirects_to_the_page(pg):
    status, body = raw(pg, "GET", urlsplit(pg.url).path.rstrip("/"))
    assert status == 308
    status, _, body = get(pg.url.rstrip("/"))  # urllib follows it
    assert status == 200 and b"<html" in body


# ---------------------------------------------------------------------------- frames
def test_frame_is_the_trainers_newest_as_strict_json(paused):
    status, headers, body = get(paused.url + "frame")
    assert status == 200 and headers["Content-Type"] == "application/json"
    f = _strict(body)
    assert f["id"] == paused.trainer.frame()["id"] and f["step"] == 0 and f["running"] is False
    assert {"loss", "setup", "network", "losses"} <= set(f)


def test_events_stream_rising_ids_at_most_15_a_second(paused):
    command(paused, cmd="play")
    ev = Events(paused.url)
    try:
        first = ev.next_frame()  # the newest at once
        t0, ids = time.monotonic(), [first["id"]]
        while time.monotonic() - t0 < 1.5:
            ids.append(ev.next_frame()["id"])
        seconds = time.monotonic() - t0
    finally:
        ev.close()
        command(paused, cmd="pause")
    assert all(b > a for a, b in itertools.pairwise(ids))
    assert len(ids) - 1 <= 15 * seconds + 2, f"{len(ids) - 1} frames in {seconds:.2f} s"
    assert len(ids) >= 4  # training frames do come


def test_events_paused_sends_the_newest_then_keep_alive_comments(paused):
    srv = S.PlaygroundServer(paused.trainer, keep_alive=0.2).start()
    try:
        ev = Events(srv.url)
        assert ev.next_frame()["id"] == paused.trainer.frame()["id"]
        assert ev.r.readline() == b": keep-alive\n"
        command(paused, cmd="step", n=1)  # a command's frame arrives at once
        assert ev.next_frame()["step"] == 1
        ev.close()
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- commands
def test_step_once_reply_is_the_models_loss_on_the_trainers_batch(paused):
    reply = command(paused, cmd="step", n=1)
    assert reply["step"] == 1 and reply["id"] == paused.trainer.frame()["id"]
    t = paused.trainer
    xb, yb = t.batch()
    with gn.no_grad():
        loss = float(t.loss_fn(t.model(gn.tensor(xb)), gn.tensor(yb))._data)
    assert reply["loss"] == loss
    assert _strict(get(paused.url + "frame")[2])["step"] == 1


def test_set_lr_is_used_by_the_next_update(paused):
    reply = command(paused, cmd="set", lr=0.5)
    assert reply["setup"]["lr"] == 0.5 and reply["step"] == 0
    t = paused.trainer
    assert t.setup["optimizer"] == "sgd" and t.setup["l2"] == 0
    # ∂L/∂θ of the batch the next step uses, at the current weights (the trainer is paused)
    xb, yb = t.batch()
    params = dict(t.model.named_parameters())
    for p in params.values():
        p.grad = None
    t.loss_fn(t.model(gn.tensor(xb)), gn.tensor(yb)).backward()
    before = {n: p._data.copy() for n, p in params.items()}
    grads = {n: p.grad._data.copy() for n, p in params.items()}
    command(paused, cmd="step", n=1)
    for n, p in params.items():
        np.testing.assert_allclose(p._data, before[n] - 0.5 * grads[n], rtol=1e-5, atol=1e-7)


def test_a_reload_gets_frames_and_no_second_trainer(paused):
    command(paused, cmd="play")
    try:
        first = Events(paused.url)
        a = [first.next_frame()["id"] for _ in range(2)]
        first.close()
        second = Events(paused.url)  # the reloaded page
        b = [second.next_frame()["id"] for _ in range(2)]
        second.close()
    finally:
        command(paused, cmd="pause")
    assert b[0] >= a[-1] and b[1] > b[0]
    assert trainers() == 1


def test_a_bad_command_is_400_with_one_line(paused):
    for cmd, word in (({"cmd": "fly"}, "cmd"), ({"cmd": "step", "n": 0}, "n"),
                      ({"cmd": "set", "lr": -1}, "lr"), ({"nothing": 1}, "cmd"), ([1, 2], "cmd")):
        status, headers, reply = post(paused.url + "command", cmd)
        assert status == 400, cmd
        assert headers["Content-Type"] == "application/json"
        assert set(reply) == {"error"} and "\n" not in reply["error"] and word in reply["error"]
    assert paused.trainer.step == 0


def test_a_command_must_be_json_of_bounded_size(paused):
    url = paused.url + "command"
    assert post(url, b'{"cmd": "step"}', content_type="text/plain")[0] == 415
    assert post(url, b"cmd=step", content_type="application/x-www-form-urlencoded")[0] == 415
    assert post(url, b'{"cmd": "step"}', content_type=None)[0] in (400, 415)
    status, _, reply = post(url, b'{"cmd": "st')
    assert status == 400 and "not JSON" in reply["error"]
    assert post(url, b"\xff\xfe")[0] == 400
    status, _, reply = post(url, b'{"cmd": "pause", "pad": "' + b"x" * (S.MAX_BODY + 10) + b'"}')
    assert status == 413
    assert post(url, {"cmd": "pause"}, content_type="application/json; charset=utf-8")[0] == 200
    assert paused.trainer.step == 0


def test_only_post_to_command(paused):
    assert post(paused.url + "frame", {"cmd": "pause"})[0] == 404
    assert get(paused.url + "command")[0] == 404
    assert raw(paused, "PUT", urlsplit(paused.url).path + "command", body=b"{}")[0] == 501


# ---------------------------------------------------------------------------- refusals
def test_a_wrong_host_is_403(paused):
    port = paused.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1",
                 f"localhost.evil.example:{port}", f"[::1]:{port}"):
        assert get(paused.url, {"Host": host})[0] == 403, host
        assert post(paused.url + "command", {"cmd": "step"}, {"Host": host})[0] == 403, host
    assert raw(paused, "GET", urlsplit(paused.url).path, host=False)[0] == 403
    assert get(paused.url, {"Host": f"localhost:{port}"})[0] == 200
    assert paused.trainer.step == 0


def test_a_missing_or_wrong_token_is_403(paused):
    base = f"http://127.0.0.1:{paused.port}"
    token = urlsplit(paused.url).path.strip("/")
    for path in ("/", "/frame", "/events", "/static/app.js", "/index.html", f"/{token}x/",
                 f"/{token[:-1]}/frame", "/x/" + token + "/",
                 f"/{token}%2f"):
        assert get(base + path)[0] == 403, path
    assert raw(paused, "GET", f"http://evil.example/{token}/")[0] == 403  # absolute form
    assert post(base + "/command", {"cmd": "step"})[0] == 403
    assert post(base + "/wrong/command", {"cmd": "step"})[0] == 403
    assert paused.trainer.step == 0


def test_a_cross_origin_post_is_403(paused):
    url, port = paused.url + "command", paused.port
    for origin in ("http://evil.example", f"http://127.0.0.1:{port + 1}", "null",
                   f"https://127.0.0.1:{port}", f"http://localhost.evil.example:{port}"):
        status, _, reply = post(url, {"cmd": "step"}, {"Origin": origin})
        assert status == 403 and "origin" in reply["error"], origin
    assert post(url, {"cmd": "step"}, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert paused.trainer.step == 0
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert post(url, {"cmd": "pause"}, {"Origin": origin, "Sec-Fetch-Site": "same-origin"})[0] == 200


TRAVERSALS = ["static/../../__init__.py", "static/../server.py", "static/views/../../server.py",
              "static/..%2f..%2f__init__.py", "static/%2e%2e/%2e%2e/__init__.py",
              "static/%2E%2E%2Fserver.py", "static/%252e%252e/server.py", "static/..%5cserver.py",
              "static/..\\server.py", "static//etc/passwd", "static/%2fetc%2fpasswd",
              "static/app.js%00.py", "static/", "static", "../server.py", "%2e%2e/server.py",
              "static/./app.js", "static/nosuch.js"]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_path_outside_static_is_404(paused, path):
    status, body = raw(paused, "GET", urlsplit(paused.url).path + path)
    assert status in (403, 404), path
    assert b"import " not in body and b"root:" not in body


def test_only_files_inside_static_of_known_types(paused, tmp_path, monkeypatch):
    static = tmp_path / "static"
    static.mkdir()
    (static / "ok.js").write_text("export const a = 1;\n")
    (static / "data.json").write_text("{}")
    (static / "secret.py").write_text("import os\n")
    (static / "noext").write_text("x")
    (tmp_path / "outside.js").write_text("export const secret = 1;\n")
    try:
        os.symlink(tmp_path / "outside.js", static / "link.js")
    except OSError:
        pass
    monkeypatch.setattr(S, "STATIC", static)
    srv = S.PlaygroundServer(paused.trainer).start()
    try:
        assert get(srv.url + "static/ok.js")[:2][0] == 200
        status, headers, _ = get(srv.url + "static/data.json")
        assert status == 200 and headers["Content-Type"] == "application/json"
        for name in ("secret.py", "noext", "link.js", "../outside.js", "%2e%2e/outside.js"):
            status, _, body = get(srv.url + "static/" + name)
            assert status == 404 and b"secret" not in body and b"import" not in body, name
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- life
def test_requests_are_not_logged(paused, capfd):
    get(paused.url)
    get(paused.url + "nosuch")
    get(f"http://127.0.0.1:{paused.port}/wrong/")
    time.sleep(0.05)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_stop_ends_streams_frees_the_port_and_leaves_no_thread():
    before = trainers()
    pg = gn.playground(setup={"n_samples": 40})
    port = pg.port
    assert threads_of(port)
    command(pg, cmd="play")
    ev = Events(pg.url)
    ev.next_frame()
    t0 = time.monotonic()
    pg.stop()
    assert time.monotonic() - t0 < 3
    rest = ev.r.read()  # the stream ends cleanly: what was sent, then EOF
    assert rest == b"" or rest.endswith(b"\n\n")  # no event cut in half
    ev.close()
    assert threads_of(port) == [] and trainers() == before
    assert pg.stopped and "stopped" in repr(pg)
    pg.stop()  # again: nothing happens
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # the port is free
        s.listen()
    finally:
        s.close()


def test_context_manager_a_given_port_and_open_browser(monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = trainers()
    with gn.playground("circles", setup={"n_samples": 40}, port=port, open_browser=True) as pg:
        assert pg.port == port and pg.url.startswith(f"http://127.0.0.1:{port}/")
        assert opened == [pg.url]
        assert pg.trainer.setup["data"] == "circles"
        with pytest.raises(OSError, match="cannot serve"):
            gn.playground(port=port)  # taken
    assert pg.stopped and trainers() == before


def test_block_serves_until_ctrl_c():
    before = trainers()
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    pg = gn.playground(setup={"n_samples": 40}, block=True)
    timer.join()
    assert pg.stopped and time.monotonic() - t0 < 5
    assert trainers() == before


def test_your_own_data_and_model():
    before = trainers()
    X, y = gn.data.make_moons(40, noise=0.1, seed=1)
    with gn.playground(data=(X, y), setup={"hidden": [3], "lr": 0.1}) as pg:  # an MLP sized for it
        f = _strict(get(pg.url + "frame")[2])
        assert f["setup"]["data"] == "custom" and f["setup"]["hidden"] == [3]
        assert [lay["size"] for lay in f["network"]["layers"]] == [2, 3, 1]
        assert command(pg, cmd="step", n=2)["step"] == 2
    model = gn.nn.Sequential(gn.nn.Linear(2, 5), gn.nn.ReLU(), gn.nn.Linear(5, 2))
    with gn.playground(model, "xor", setup={"n_samples": 40}) as pg:  # a data set name for your model
        assert pg.trainer.model is model and len(pg.trainer.X) == 40
        assert command(pg, cmd="step")["step"] == 1
    with pytest.raises(ValueError, match="data"):
        gn.playground(data="nosuch")
    with pytest.raises(ValueError, match="data"):
        gn.playground(model)
    assert trainers() == before


def test_import_glassnet_does_not_load_the_playground():
    import subprocess
    import sys

    code = ("import sys, glassnet; assert not [m for m in sys.modules if 'playground' in m "
            "or m == 'http.server'], sorted(sys.modules); print(callable(glassnet.playground))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout.strip() == "True", r.stderr
