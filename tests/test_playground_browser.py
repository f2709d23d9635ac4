"""The playground's page in a real headless Chromium (Playwright), against the running Python process.

Every number the page shows is checked against Python's: the loss against the model's loss on the
trainer's batch, a clicked unit's z and a against ``gn.explain(focus=...)``, a weight's ∂L/∂w and the
gradient-flow bars against the model's gradients, a feature-map pixel's worked sum against the
convolution, h_3 against the recurrent layer's own output. The page loads with no console error and
asks no host but 127.0.0.1 for anything.

One browser and one playground serve the module; each test sets the setup it needs (``use``).
Without Chromium or Playwright the module skips, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import time
from urllib.parse import urlparse

import numpy as np
import pytest
from browser import playwright_chromium

import glassnet as gn
from glassnet import nn

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

READY = "body[data-ready='1']"
PANEL_READY = "#explain-panel[data-state='ready']"


# ---------------------------------------------------------------------------
# fixtures: one browser, one playground; a fresh page per test
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with playwright_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def pg(browser):
    p = gn.playground(port=0, open_browser=False)
    try:
        yield p
    finally:
        p.stop()


class Recorder:
    """What a page did: its console errors, uncaught errors and every URL it asked for."""

    def __init__(self, page):
        self.errors, self.urls = [], []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: self.urls.append(r.url))


@pytest.fixture
def page(browser, pg):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg_page = ctx.new_page()
    pg_page.set_default_timeout(15_000)
    rec = Recorder(pg_page)
    pg_page.rec = rec
    try:
        yield pg_page
    finally:
        ctx.close()
        pg.trainer.command({"cmd": "pause"})
    assert rec.errors == [], f"the page logged errors: {rec.errors}"
    outside = [u for u in rec.urls if urlparse(u).hostname != "127.0.0.1"]
    assert outside == [], f"the page asked another host: {outside}"


def use(pg, steps: int = 0, **fields):
    """The playground on a data set's default setup with ``fields`` changed, fresh weights at step 0,
    then ``steps`` training steps."""
    from glassnet.playground.setups import defaults_for

    setup = {**defaults_for(fields.get("data", "moons")), **fields}
    t = pg.trainer
    t.command({"cmd": "pause"})
    t.command({"cmd": "set", **setup})
    t.command({"cmd": "reset"})
    if steps:
        t.command({"cmd": "step", "n": steps})
    return t


def open_page(page, pg, fragment: str = ""):
    page.goto(pg.url + fragment)
    page.wait_for_selector(READY)
    step_at_least(page, pg.trainer.frame()["step"])
    return page


def wait_js(page, expr: str, timeout: float = 15.0):
    """Wait until the JavaScript expression is true. (Polled from Python: Playwright's own
    wait_for_function evaluates strings in the page, which the page's CSP forbids.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expr})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {expr}")
        page.wait_for_timeout(40)


def step_at_least(page, n: int, timeout: float = 15.0):
    wait_js(page, f"Number(document.body.dataset.step) >= {n}", timeout)


def shown(page, selector: str) -> float:
    """A number as the page prints it (a typographic minus read back)."""
    return float(page.inner_text(selector).replace("−", "-"))


def value(page, key: str) -> float:
    return float(page.get_attribute(f'#explain-values [data-key="{key}"]', "data-value"))


def digits_match(shown_value: float, exact: float, digits: int) -> bool:
    """``shown_value`` is ``exact`` printed to ``digits`` significant digits."""
    if exact == 0:
        return shown_value == 0
    unit = 10 ** (math.floor(math.log10(abs(exact))) - digits + 1)
    return abs(shown_value - exact) <= 0.5 * unit * (1 + 1e-9) + 1e-12


def explain_num(v: float) -> str:
    """A number as gn.explain writes it (4 decimals)."""
    from glassnet.explain.records import Fmt

    return Fmt(4).num(v)


def explain_click(page, selector: str, dispatch: bool = False):
    """Click an element and wait for its explanation."""
    page.wait_for_selector(selector, state="attached")
    if dispatch:
        page.dispatch_event(selector, "click")
    else:
        page.click(selector)
    page.wait_for_selector(PANEL_READY)


def batch(trainer):
    """The trainer's current batch as tensors (the one the page explains)."""
    xb, yb = trainer.batch()
    return gn.tensor(xb), gn.tensor(yb)


def forward_backward(trainer, focus=None):
    """A copy of the trainer's model after a forward and backward pass of its current batch (the
    trainer's own model and gradients are left alone); with ``focus``, under gn.explain."""
    model = copy.deepcopy(trainer.model)
    for p in model.parameters():
        p.grad = None   # the copy starts without the last step's gradients
    x, y = batch(trainer)
    if focus is None:
        loss = trainer.loss_fn(model(x), y)
        loss.backward()
        return model, loss, None
    with gn.explain(focus=focus) as ex:
        loss = trainer.loss_fn(model(x), y)
        loss.backward()
    return model, loss, ex


def equation_result(text: str, lhs: str) -> float:
    """The final number of the text equation that starts ``lhs =``."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(lhs + " ="):
            return float(line.rsplit("=", 1)[1].strip().replace("−", "-"))
    raise AssertionError(f"no equation {lhs} = … in the explanation:\n{text[:2000]}")


def linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# ---------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------
def test_page_loads_clean_and_local(page, pg):
    use(pg, data="moons")
    open_page(page, pg)
    assert page.inner_text("#step") == "0"
    assert page.locator('.neuron[data-layer="1"]').count() == 4
    assert page.locator('.neuron[data-layer="2"]').count() == 4
    assert page.locator('.weight[data-layer="1"]').count() == 8   # 2 inputs × 4 units
    assert page.locator(".neuron canvas.heat").count() == 2 + 4 + 4 + 1
    assert page.locator("#boundary").count() == 1
    assert page.is_hidden("#nan-banner")
    page.wait_for_selector('#conn[data-state="live"]')
    asked = [urlparse(u).path.rsplit("/", 1)[-1] for u in page.rec.urls]
    assert "events" in asked and "frame" in asked and "app.js" in asked
    assert "data=moons" in page.url and "hidden=4,4" in page.url   # the setup is in the fragment


def test_step_shows_the_models_loss(page, pg):
    t = use(pg, data="moons")
    open_page(page, pg)
    page.click("#step-btn")
    page.wait_for_selector("#step[data-value='1']")
    assert t.step == 1
    x, y = batch(t)
    with gn.no_grad():
        loss = float(t.loss_fn(t.model(x), y).data)
    wait_js(page, f"Number(document.getElementById('loss').dataset.value) === {float(t.frame()['loss'])!r}")
    assert digits_match(shown(page, "#loss"), loss, 4), (page.inner_text("#loss"), loss)


def test_click_neuron_matches_explain(page, pg):
    t = use(pg, data="moons", steps=5)
    open_page(page, pg)
    explain_click(page, '.neuron[data-layer="1"][data-unit="2"]')
    z, a = value(page, "z"), value(page, "a")
    _, _, ex = forward_backward(t, focus={"sample": 1, "unit": 2})
    text = ex.to_text()
    assert equation_result(text, "z^[1]_12") == float(explain_num(z).replace("−", "-"))
    assert equation_result(text, "a^[1]_12") == float(explain_num(a).replace("−", "-"))
    # and to the model's float precision
    lin = linears(t.model)[0]
    x0 = t.batch()[0][0].astype(np.float64)
    z_np = float(np.asarray(lin.weight.data, np.float64)[1] @ x0 + float(lin.bias.data[1]))
    assert z == pytest.approx(z_np, rel=1e-4, abs=1e-6) and a == pytest.approx(math.tanh(z_np), rel=1e-4, abs=1e-6)
    # the worked computation is shown as MathML, its text a toggle away
    assert page.locator("#explain-forward math").count() >= 2
    assert page.locator("#explain-backward math").count() >= 1
    assert page.is_hidden("#explain-forward .eq-text")
    page.check("#explain-text-toggle")
    assert "z^[1]_12" in page.inner_text("#explain-forward")
    assert page.locator('.neuron.selected[data-layer="1"][data-unit="2"]').count() == 1


def test_click_weight_shows_its_gradient(page, pg):
    t = use(pg, data="moons", steps=3)
    open_page(page, pg)
    explain_click(page, '.weight[data-layer="2"][data-row="1"][data-col="3"]', dispatch=True)
    model, _, _ = forward_backward(t)
    W = linears(model)[1].weight
    assert value(page, "w") == pytest.approx(float(W.data[0, 2]), rel=1e-5)
    assert value(page, "grad") == pytest.approx(float(W.grad.data[0, 2]), rel=1e-4, abs=1e-9)
    assert "W^[2]_13" in page.inner_text("#explain-backward") or page.locator("#explain-backward math").count()


def test_play_then_pause(page, pg):
    use(pg, data="moons", lr=0.1)
    open_page(page, pg)
    before = page.get_attribute("#boundary", "data-checksum")
    page.click("#play")
    page.wait_for_selector("#pause:visible")
    step_at_least(page, 300, timeout=30)
    page.click("#pause")
    page.wait_for_selector("#play:visible")
    page.wait_for_selector("body:not(.running)", state="attached")
    stopped = int(page.inner_text("#step"))
    assert stopped == pg.trainer.step and not pg.trainer.running
    chart = page.locator("#loss-chart")
    assert float(chart.get_attribute("data-last")) < float(chart.get_attribute("data-first")) - 0.05
    assert page.get_attribute("#boundary", "data-checksum") != before
    page.wait_for_timeout(600)
    assert int(page.inner_text("#step")) == stopped == pg.trainer.step


def test_cnn_pixel_receptive_field_and_sum(page, pg):
    t = use(pg, data="digits", model="cnn", steps=2)
    open_page(page, pg)
    sel = '.pixel[data-layer="1"][data-channel="2"][data-row="4"][data-col="5"]'
    page.wait_for_selector(sel)
    explain_click(page, sel)
    rf = page.locator("#receptive-field")
    assert "hidden" not in (rf.get_attribute("class") or "")
    assert rf.get_attribute("data-size") == "3x3"
    assert (rf.get_attribute("data-row"), rf.get_attribute("data-col")) == ("3", "4")   # padding 1: rows 3–5, cols 4–6
    assert page.locator(".in-pixel.in-field").count() == 9
    # the pixel the engine computed, and the k×k sum worked out
    conv = next(m for m in t.model.modules() if isinstance(m, nn.Conv2d))
    img = np.pad(np.asarray(t.batch()[0][0, 0], np.float64), 1)
    W = np.asarray(conv.weight.data, np.float64)[1, 0]
    expected = float((W * img[3:6, 4:7]).sum() + float(conv.bias.data[1]))
    assert value(page, "value") == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert value(page, "sum") == pytest.approx(expected, rel=1e-3, abs=1e-4)
    assert float(page.get_attribute(sel, "data-value")) == pytest.approx(expected, rel=1e-3, abs=1e-4)


def test_rnn_h3_uses_h2(page, pg):
    t = use(pg, data="sine", cell="lstm", steps=2)
    open_page(page, pg)
    sel = '.h-cell[data-t="3"][data-unit="2"]'
    page.wait_for_selector(sel)
    explain_click(page, sel)
    lstm = next(m for m in t.model.modules() if isinstance(m, nn.LSTM))
    x0 = gn.tensor(t.batch()[0][:1])
    with gn.no_grad():
        out = lstm(x0)
    hs = np.asarray((out[0] if isinstance(out, tuple) else out).data, np.float64)[0]   # (T, H)
    assert value(page, "h") == pytest.approx(hs[2, 1], rel=1e-4, abs=1e-6)
    # the gates of step 3 are written with h_2's numbers (4 significant digits, as explain prints them)
    page.check("#explain-text-toggle")
    text = page.inner_text("#explain-forward")
    assert re.search(r"\bi_3,12\b|i_\{?3", text), text[:500]
    h2 = [explain_num(v) for v in hs[1]]
    assert sum(v in text for v in h2) >= len(h2) - 1, (h2, text[:800])
    assert page.locator('.h-cell.uses[data-t="2"][data-unit="2"]').count() == 1


def test_gradient_flow_bars(page, pg):
    t = use(pg, data="moons", steps=1)
    open_page(page, pg)
    bars = page.locator(".grad-bar")
    params = list(t.model.named_parameters())
    assert bars.count() == len(params) == 6
    names = [bars.nth(i).get_attribute("data-name") for i in range(bars.count())]
    assert names == ["W^[1]", "b^[1]", "W^[2]", "b^[2]", "W^[3]", "b^[3]"]
    for i, (_, p) in enumerate(params):
        norm = float(np.linalg.norm(np.asarray(p.grad.data, np.float64)))
        assert float(bars.nth(i).get_attribute("data-norm")) == pytest.approx(norm, rel=1e-5)


def test_learning_rate_from_the_page_is_used_by_the_next_update(page, pg):
    t = use(pg, data="moons", optimizer="sgd", lr=0.03)
    open_page(page, pg)
    page.fill("#lr", "0.5")
    page.press("#lr", "Enter")
    wait_js(page, "location.hash.includes('lr=0.5')")
    assert t.setup["lr"] == 0.5 and t.optimizer.param_groups[0]["lr"] == 0.5
    before = [np.array(p.data, np.float64) for p in t.model.parameters()]
    page.click("#step-btn")
    page.wait_for_selector("#step[data-value='1']")
    for w0, p in zip(before, t.model.parameters()):   # plain SGD: w ← w − 0.5 · ∂L/∂w
        np.testing.assert_allclose(np.asarray(p.data, np.float64), w0 - 0.5 * np.asarray(p.grad.data, np.float64),
                                   rtol=1e-5, atol=1e-6)


def test_reload_mid_training_reconnects_with_one_trainer(page, pg):
    from glassnet.playground.trainer import THREAD_NAME

    def trainers():
        return [th for th in threading.enumerate() if th.name == THREAD_NAME]

    use(pg, data="moons")
    open_page(page, pg)
    n_before = len(trainers())
    page.click("#play")
    step_at_least(page, 20, timeout=20)
    page.reload()
    page.wait_for_selector(READY)
    at_reload = int(page.inner_text("#step"))
    assert at_reload >= 20   # the reload did not reset the training
    page.wait_for_selector('#conn[data-state="live"]')
    step_at_least(page, at_reload + 10, timeout=20)
    assert pg.trainer.running and len(trainers()) == n_before
    page.click("#pause")
    page.wait_for_selector("#play:visible")


def test_setup_in_the_fragment_is_applied(page, pg):
    t = use(pg, data="moons", optimizer="sgd")
    # spiral's own default optimizer is adam: the fragment's sgd (the running setup's too) must win
    open_page(page, pg, "#data=spiral&optimizer=sgd&lr=0.1&hidden=3&activation=relu&noise=0.05")
    page.wait_for_selector('body[data-data="spiral"]')
    assert t.setup["data"] == "spiral" and t.setup["hidden"] == [3] and t.setup["lr"] == 0.1
    assert t.setup["activation"] == "relu" and t.setup["noise"] == 0.05 and t.setup["optimizer"] == "sgd"
    wait_js(page, "document.querySelectorAll('.neuron[data-layer=\"1\"]').length === 3")
    assert page.input_value("#lr") == "0.1" and page.input_value("#activation") == "relu"
    assert page.input_value("#optimizer") == "sgd"
    assert "hidden=3" in page.url and "data=spiral" in page.url


def test_nan_shows_the_banner(page, pg):
    t = use(pg, data="sine", optimizer="sgd", lr=10, n_samples=60)
    open_page(page, pg)
    page.click("#play")
    page.wait_for_selector("#nan-banner:visible", timeout=20_000)
    assert t.nan is not None and not t.running
    text = page.inner_text("#nan-banner")
    assert "learning rate" in text and "reset" in text
    use(pg, data="moons")
    page.wait_for_selector("#nan-banner", state="hidden")


def test_export_as_code(page, pg):
    t = use(pg, data="moons", hidden=[3, 2])
    open_page(page, pg)
    page.click("#export")
    page.wait_for_selector("#export-modal:visible")
    code = page.input_value("#export-code")
    assert code == t.command({"cmd": "export"})["code"]
    assert "import glassnet as gn" in code and "nn.Linear(3, 2)" in code
    page.click("#export-close")
    assert page.is_hidden("#export-modal")


class _StackedLSTM(nn.Module):
    """Two LSTM layers, time-major inside (batch_first=False), the top one read at its last step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(1, 3, num_layers=2)
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(0, 1))
        return self.fc(out[-1])


def test_stacked_time_major_rnn_shows_each_layer_and_explains_its_cells(browser):
    from glassnet.playground import setups

    gn.manual_seed(0)
    X, y = setups.make_data(setups.validate({"data": "sine", "n_samples": 60}))
    with gn.playground(_StackedLSTM(), (X, y), port=0, open_browser=False) as p:
        p.trainer.command({"cmd": "step", "n": 2})
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            page = ctx.new_page()
            page.set_default_timeout(15_000)
            rec = Recorder(page)
            open_page(page, p)
            frame = p.trainer.frame()["rnn"]
            T, H = len(frame["h"]), len(frame["h"][0])
            page.wait_for_selector('.h-cell[data-layer="2"]')
            for layer in (1, 2):
                assert page.locator(f'.h-cell[data-layer="{layer}"]').count() == T * H
                assert page.locator(f'.gate-cell[data-layer="{layer}"]').count() == 4 * T * H
            explain_click(page, '.h-cell[data-layer="1"][data-t="3"][data-unit="2"]')
            assert value(page, "h") == pytest.approx(frame["layers"][0]["h"][2][1], rel=1e-4, abs=1e-6)
            assert "of layer 1" in page.inner_text("#explain-title")
            assert page.locator('.h-cell.uses[data-layer="1"][data-t="2"][data-unit="2"]').count() == 1
            assert page.locator("#explain-backward li.equation").count() >= 10  # ∂L/∂h_3, ∂L/∂c_3, the gates
            explain_click(page, '.c-cell[data-layer="2"][data-t="4"][data-unit="1"]')
            assert value(page, "value") == pytest.approx(frame["layers"][1]["c"][3][0], rel=1e-4, abs=1e-6)
            assert rec.errors == []
        finally:
            ctx.close()
