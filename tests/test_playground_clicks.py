"""Clicks on the playground: the worked computation of a unit, weight, bias, conv pixel, h_t or gate,
checked against the model, autograd (torch in float64) and the text; MathML that parses."""

import re
import time
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest

import glassnet as gn
from glassnet.explain.mathml import NS
from glassnet.explain.records import Fmt
from glassnet.playground import clicks, frames
from glassnet.playground.trainer import Trainer


def _trainer(setup, steps=5):
    t = Trainer(setup)
    for _ in range(steps):
        t.train_step()
    return t


def _numbers_of_text(s):
    s = re.sub(r"e(−?\d+)", r"×10^\1", s)  # 1.2e−5 is written 1.2 × 10^−5 in MathML
    return Counter(re.findall(r"\d+(?:\.\d+)?", s))


def _check_entries(result):
    for e in result["forward"] + result["backward"]:
        root = ET.fromstring(e["mathml"])  # well-formed XML
        assert root.tag == f"{{{NS}}}math"
        assert _numbers_of_text(" ".join(root.itertext())) == _numbers_of_text(e["text"]), e["text"]


def _torch_grads(model, xb, yb):
    """∂L/∂θ of the MLP's BCE loss on the batch, by torch in float64."""
    torch = pytest.importorskip("torch")
    params = {n: torch.tensor(p._data.astype(np.float64), requires_grad=True) for n, p in model.named_parameters()}
    h = torch.tensor(xb.astype(np.float64))
    linears = [k for k in ("0", "2", "4")]
    for i, k in enumerate(linears):
        h = h @ params[f"{k}.weight"].T + params[f"{k}.bias"]
        h = torch.tanh(h) if i < len(linears) - 1 else torch.sigmoid(h)
    loss = torch.nn.functional.binary_cross_entropy(h, torch.tensor(yb.astype(np.float64)))
    loss.backward()
    return {n: p.grad.numpy() for n, p in params.items()}


@pytest.fixture(scope="module")
def moons():
    return _trainer({"data": "moons"})


def test_neuron_click_gives_z_a_and_their_gradients(moons):
    before = {n: (p._data.copy(), p.grad._data.copy()) for n, p in moons.model.named_parameters()}
    r = clicks.explain(moons, {"kind": "neuron", "layer": 1, "unit": 3, "sample": 2})
    xb, _ = moons.batch()
    W, b = moons.model[0].weight._data, moons.model[0].bias._data
    z = (xb[1] @ W[2] + b[2])
    assert r["values"]["z"] == pytest.approx(float(z), rel=1e-6)
    assert r["values"]["a"] == pytest.approx(np.tanh(float(z)), rel=1e-6)
    assert r["forward"][0]["text"].startswith("z^[1]_23 = ") and r["forward"][1]["text"].startswith("a^[1]_23 = ")
    assert Fmt(4).num(r["values"]["a"]) in r["forward"][1]["text"].split(" = ")[-1]
    assert [e["text"].split(" = ")[0] for e in r["backward"]] == ["∂L/∂a^[1]_23", "∂L/∂z^[1]_23"]
    assert r["values"]["grad"] == pytest.approx(r["values"]["grad_a"] * (1 - r["values"]["a"] ** 2), rel=1e-5)
    _check_entries(r)
    for n, p in moons.model.named_parameters():  # nothing updated, the gradients put back
        assert np.array_equal(p._data, before[n][0]) and np.array_equal(p.grad._data, before[n][1])


def test_weight_and_bias_clicks_give_the_batch_gradient(moons):
    xb, yb = moons.batch()
    expected = _torch_grads(moons.model, xb, yb)
    r = clicks.explain(moons, {"kind": "weight", "layer": 2, "row": 2, "col": 3})
    assert r["values"]["w"] == float(moons.model[2].weight._data[1, 2])
    assert r["values"]["grad"] == pytest.approx(expected["2.weight"][1, 2], rel=1e-4, abs=1e-8)
    assert r["backward"][0]["text"].startswith("∂L/∂W^[2]_23 = ")
    # column 3 of W^[2] reads a^[1]_3: the title names it in the layers' terms
    assert r["title"] == "weight W^[2]_23 (from unit 3 of layer 1 to unit 2 of layer 2)"
    assert clicks.explain(moons, {"kind": "weight", "layer": 1, "row": 4, "col": 2})["title"] == \
        "weight W^[1]_42 (from input x_2 to unit 4 of layer 1)"
    assert r["forward"][0]["text"].startswith("z^[2]_12 = ")
    _check_entries(r)
    # the same number as the model's own gradient of that batch's loss, at the current weights
    saved = [p.grad for p in moons.model.parameters()]
    moons.model.zero_grad()
    moons.loss_fn(moons.model(gn.tensor(xb)), gn.tensor(yb)).backward()
    assert r["values"]["grad"] == float(moons.model[2].weight.grad._data[1, 2])
    for p, g in zip(moons.model.parameters(), saved):
        p.grad = g
    r = clicks.explain(moons, {"kind": "bias", "layer": 3, "unit": 1})
    assert r["values"]["b"] == float(moons.model[4].bias._data[0])
    assert r["values"]["grad"] == pytest.approx(expected["4.bias"][0], rel=1e-4)
    assert r["backward"][0]["text"].startswith("∂L/∂b^[3]_1 = ")
    _check_entries(r)


def test_a_wide_layers_weight_is_worked_in_full():
    t = _trainer({"data": "moons", "hidden": [8, 8]}, steps=2)
    r = clicks.explain(t, {"kind": "weight", "layer": 2, "row": 7, "col": 5})
    assert [e["text"].split(" = ")[0] for e in r["backward"]] == ["∂L/∂W^[2]_75"]
    assert r["values"]["grad"] == pytest.approx(float(r["backward"][0]["text"].split(" = ")[-1].replace("−", "-")),
                                                abs=1e-4)


def test_pixel_click_is_the_kernel_sum_and_its_receptive_field():
    t = _trainer({"data": "digits", "n_samples": 200})
    r = clicks.explain(t, {"kind": "pixel", "layer": 1, "channel": 2, "row": 3, "col": 5, "sample": 2})
    xb, _ = t.batch()
    conv = t.model[0]
    padded = np.pad(xb[1, 0].astype(np.float64), 1)
    expected = (padded[2:5, 4:7] * conv.weight._data[1, 0]).sum() + conv.bias._data[1]
    assert r["values"]["value"] == pytest.approx(expected, rel=1e-5)
    assert r["values"]["sum"] == pytest.approx(r["values"]["value"], rel=1e-5)
    assert r["receptive_field"] == {"row": 2, "col": 4, "size": [3, 3]}
    assert r["forward"][0]["text"].count("·") == 9
    # one name for the pixel in every equation: map 2 of layer 1 above, row 3, column 5 below (the
    # title names the sample), z^[1](2)_3,5 as the chapter writes a feature-map pixel
    assert r["forward"][0]["text"].startswith("z^[1]^(2)_3,5 = ")
    assert r["forward"][1]["text"].startswith("a^[1]^(2)_3,5 = max(0, z^[1]^(2)_3,5) = ")
    assert r["backward"][0]["text"].startswith("∂L/∂z^[1]^(2)_3,5 = ∂L/∂a^[1]^(2)_3,5·")
    lhs = next(ET.fromstring(r["forward"][0]["mathml"]).iter(f"{{{NS}}}msubsup"))
    assert ["".join(p.itertext()) for p in lhs] == ["z", "3,5", "[1](2)"]
    assert r["title"] == "pixel (3, 5) of feature map 2 of layer 1, sample 2"
    # the Linear layer after the pooled maps: column 22 reads pixel (2, 2) of pooled map 2 (4×4 maps)
    title = clicks.explain(t, {"kind": "weight", "layer": 2, "row": 1, "col": 22})["title"]
    assert title == "weight W^[2]_1,22 (from pixel (2, 2) of pooled map 2 of layer 1 to unit 1 of layer 2)"
    _check_entries(r)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_state_click_uses_the_previous_one(cell):
    t = _trainer({"data": "sine", "cell": cell, "n_samples": 60})
    r = clicks.explain(t, {"kind": "hidden", "t": 3, "unit": 2, "sample": 4})
    xb, _ = t.batch()
    states, gates = frames.recurrent_states(t.model.rnn, xb[3])
    assert r["values"]["h"] == pytest.approx(states["h"][2, 1], rel=1e-5)
    h_eq = r["forward"][-1]["text"]
    assert h_eq.startswith("h^[rnn]_3,42 = ")
    assert float(h_eq.split(" = ")[-1].replace("−", "-")) == pytest.approx(states["h"][2, 1], abs=1e-4)
    if cell == "rnn":
        assert "W_hh^[rnn],21·h^[rnn]_2,41" in h_eq and "W_xh^[rnn],21·x_431" in h_eq  # uses h_2 and x_3
    else:
        names = [e["text"].split(" = ")[0] for e in r["forward"]]
        assert names[0] == ("i_3,42" if cell == "lstm" else "r_3,42")
        g = "f" if cell == "lstm" else "z"
        r = clicks.explain(t, {"kind": "gate", "gate": g, "t": 3, "unit": 2, "sample": 4})
        assert r["values"]["value"] == pytest.approx(gates[g][2, 1], rel=1e-9)
    _check_entries(r)
    # the frame's h_t and gates are the layer's
    f = frames.rnn_view(t)
    with gn.no_grad():
        out, _ = t.model.rnn(gn.tensor(xb[:1]))
    assert np.allclose(f["h"], out._data[0], rtol=1e-4, atol=1e-6)
    assert np.allclose(states["h"][:, :], frames.recurrent_states(t.model.rnn, xb[3])[0]["h"])


def _unrolled_bptt(t):
    """∂L/∂h_t, ∂L/∂c_t, the gates' and their pre-activations' gradients of the trainer's batch, by
    glassnet's autograd on the recurrence written out step by step in float64 (no fused layer),
    every intermediate kept with retain_grad: {name: (T, N, H)}, one dict per layer (the last one
    first-level keys too). The model is ``rnn`` then ``fc`` on the top layer's h_T."""
    xb, yb = t.batch()
    rnn, fc = t.model.rnn, t.model.fc
    H = rnn.hidden_size
    seq = gn.tensor(xb.astype(np.float64))
    N, T = xb.shape[:2]
    layers = []
    for layer in range(rnn.num_layers):
        f64 = {k: gn.tensor(np.asarray(getattr(rnn, f"{k}_l{layer}")._data, np.float64), requires_grad=True)
               for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        W_ih, W_hh, b_ih, b_hh = f64["weight_ih"], f64["weight_hh"], f64["bias_ih"], f64["bias_hh"]
        h = c = gn.zeros(N, H, dtype=gn.float64)
        kept = []
        for s in range(T):
            a, b = seq[:, s] @ W_ih.T + b_ih, h @ W_hh.T + b_hh
            if rnn.mode == "lstm":
                pre = a + b
                parts = [pre[:, k * H:(k + 1) * H] for k in range(4)]
                i, f, g, o = gn.sigmoid(parts[0]), gn.sigmoid(parts[1]), gn.tanh(parts[2]), gn.sigmoid(parts[3])
                c = f * c + i * g
                h = o * gn.tanh(c)
                step = {"i": i, "f": f, "g": g, "o": o, "c": c, "pre": pre}
            elif rnn.mode == "gru":
                pr, pz = a[:, :H] + b[:, :H], a[:, H:2 * H] + b[:, H:2 * H]
                r, z = gn.sigmoid(pr), gn.sigmoid(pz)
                pn = a[:, 2 * H:] + r * b[:, 2 * H:]
                n = gn.tanh(pn)
                h = (1 - z) * n + z * h
                step = {"r": r, "z": z, "n": n, "δr": pr, "δz": pz, "δn": pn}
            else:
                z = a + b
                h = gn.tanh(z)
                step = {"z": z}
            step["h"] = h
            for v in step.values():
                v.retain_grad()
            kept.append(step)
        layers.append(kept)
        seq = gn.stack([k["h"] for k in kept], dim=1)
    yhat = h @ gn.tensor(np.asarray(fc.weight._data, np.float64)).T + gn.tensor(np.asarray(fc.bias._data, np.float64))
    t.loss_fn(yhat, gn.tensor(yb.astype(np.float64))).backward()
    out = []
    for kept in layers:
        grads = {k: np.stack([np.asarray(s[k].grad._data) for s in kept]) for k in kept[0] if k != "pre"}
        if rnn.mode == "lstm":
            pre = np.stack([np.asarray(s["pre"].grad._data) for s in kept])
            for k, g in enumerate("ifgo"):
                grads["δ" + g] = pre[:, :, k * H:(k + 1) * H]
        out.append(grads)
    return {**out[-1], "layers": out}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_state_click_works_bptt_at_that_step(cell):
    """∂L/∂h_t (the output's part plus what flows back from h_{t+1}) and, for LSTM and GRU, each gate's
    gradient at that step equal autograd's on the unrolled recurrence; the equations use step t+1."""
    t = _trainer({"data": "sine", "cell": cell, "n_samples": 60})
    want = _unrolled_bptt(t)
    for step in (3, 10):
        r = clicks.explain(t, {"kind": "hidden", "t": step, "unit": 2, "sample": 4})
        at = (step - 1, 3, 1)
        assert r["values"]["grad"] == pytest.approx(want["h"][at], rel=1e-4, abs=1e-9)
        texts = [e["text"] for e in r["backward"]]
        (h_eq,) = [x for x in texts if x.startswith(f"∂L/∂h^[rnn]_{step},42 = (from the output)")]
        value = float(h_eq.split(" = ")[-1].replace("−", "-"))
        assert value == pytest.approx(want["h"][at], abs=1e-4)
        if step == 3:  # what flows back from step 4: its δ's (a plain RNN's ∂L/∂z_4)
            assert ("∂L/∂z_4,41" if cell == "rnn" else "_4,41") in h_eq
        else:  # the last step: ∂L/∂h_10 is all from the output, which the Linear layer worked
            assert texts[0].startswith("∂L/∂h^[rnn]_10,42 = ") and texts.index(h_eq) == 1
        names = [x.split(" = ")[0] for x in texts[texts.index(h_eq) + 1:]]
        expected = {"rnn": ["∂L/∂z_{t},42"],
                    "lstm": ["∂L/∂c_{t},42"] + [f"{p}_{{t}},42" for g in "ifgo" for p in (f"∂L/∂{g}", f"δ^({g})")],
                    "gru": [f"{p}_{{t}},42" for g in "nzr" for p in (f"∂L/∂{g}", f"δ^({g})")]}[cell]
        assert names == [e.format(t=step) for e in expected]
        if cell == "rnn":
            assert r["values"]["grad_z"] == pytest.approx(want["z"][at], rel=1e-4, abs=1e-9)
        _check_entries(r)
    if cell == "rnn":
        return
    for g in ("ifgoc" if cell == "lstm" else "rzn"):
        r = clicks.explain(t, {"kind": "gate", "gate": g, "t": 3, "unit": 2, "sample": 4})
        at = (2, 3, 1)
        assert r["values"]["grad"] == pytest.approx(want[g][at], rel=1e-4, abs=1e-9), g
        if g != "c":
            assert r["values"]["grad_pre"] == pytest.approx(want["δ" + g][at], rel=1e-4, abs=1e-9), g
            assert r["backward"][-1]["text"].startswith(f"δ^({g})_3,42 = ∂L/∂{g}_3,42·")
        _check_entries(r)


class _TimeMajor(gn.nn.Module):
    """A GRU that runs time-major (batch_first=False): the model turns its (N, T, 1) batch round."""

    def __init__(self):
        super().__init__()
        self.rnn = gn.nn.GRU(1, 4)
        self.fc = gn.nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.rnn(x.transpose(0, 1))
        return self.fc(out[-1])


class _Stacked(gn.nn.Module):
    """Two LSTM layers (num_layers=2), the top one read at its last step."""

    def __init__(self):
        super().__init__()
        self.rnn = gn.nn.LSTM(1, 3, num_layers=2, batch_first=True)
        self.fc = gn.nn.Linear(3, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def _custom(model, steps=3):
    from glassnet.playground import setups

    gn.manual_seed(0)
    X, y = setups.make_data(setups.validate({"data": "sine", "n_samples": 60}))
    t = Trainer(model=model(), data=(X, y))
    for _ in range(steps):
        t.train_step()
    return t


def test_a_time_major_rnn_is_shown_and_explained():
    """batch_first=False: the view and the clicks read the layer's own (T, N, ·) input and output."""
    gn.manual_seed(0)
    t = _custom(_TimeMajor)
    xb, _ = t.batch()
    view = frames.build(t)["rnn"]
    with gn.no_grad():
        out, _ = t.model.rnn(gn.tensor(xb).transpose(0, 1))
    h = np.asarray(out._data)  # (T, N, H)
    assert np.allclose(view["h"], h[:, 0], rtol=1e-4, atol=1e-6)
    assert np.allclose(view["inputs"], xb[0], rtol=1e-5) and set(view["gates"]) == {"r", "z", "n"}
    _, gates = frames.recurrent_states(t.model.rnn, xb[0])
    assert np.allclose(view["gates"]["z"], gates["z"], rtol=1e-4, atol=1e-6) and "layers" not in view
    want = _unrolled_bptt(t)
    r = clicks.explain(t, {"kind": "hidden", "t": 3, "unit": 2, "sample": 4})
    assert r["values"]["h"] == pytest.approx(h[2, 3, 1], rel=1e-5)
    assert r["forward"][-1]["text"].startswith("h^[rnn]_3,42 = ")
    assert r["values"]["grad"] == pytest.approx(want["h"][2, 3, 1], rel=1e-4, abs=1e-9)
    r = clicks.explain(t, {"kind": "gate", "gate": "z", "t": 3, "unit": 2, "sample": 4})
    assert r["values"]["grad"] == pytest.approx(want["z"][2, 3, 1], rel=1e-4, abs=1e-9)
    _check_entries(r)


def test_a_stacked_rnn_shows_and_explains_each_layer():
    """num_layers=2: the frame has both layers' h_t, gates and c_t; a click names its layer (the top
    one by default), layer 2's equations read layer 1's h_t as their input."""
    t = _custom(_Stacked)
    xb, _ = t.batch()
    view = frames.build(t)["rnn"]
    rnn = t.model.rnn
    one = gn.nn.LSTM(1, 3, batch_first=True)  # layer 1 alone, with the stack's weights
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(one, f"{k}_l0")._data[...] = getattr(rnn, f"{k}_l0")._data
    with gn.no_grad():
        h1 = np.asarray(one(gn.tensor(xb))[0]._data)
        h2 = np.asarray(rnn(gn.tensor(xb))[0]._data)
    assert len(view["layers"]) == 2 and set(view["layers"][0]) == {"h", "gates", "c"}
    assert np.allclose(view["layers"][0]["h"], h1[0], rtol=1e-4, atol=1e-6)
    assert np.allclose(view["layers"][1]["h"], h2[0], rtol=1e-4, atol=1e-6)
    assert np.allclose(view["h"], h2[0], rtol=1e-4, atol=1e-6) and view["gates"] == view["layers"][1]["gates"]
    want = _unrolled_bptt(t)["layers"]
    for layer, h in ((1, h1), (2, h2), (None, h2)):
        target = {"kind": "hidden", "t": 3, "unit": 2, "sample": 4, **({"layer": layer} if layer else {})}
        r = clicks.explain(t, target)
        assert r["values"]["h"] == pytest.approx(h[3, 2, 1], rel=1e-5)
        assert r["values"]["grad"] == pytest.approx(want[(layer or 2) - 1]["h"][2, 3, 1], rel=1e-4, abs=1e-9)
        assert r["title"] == f"h_3, unit 2 of layer {layer or 2}, sample 4"
        _check_entries(r)
    r = clicks.explain(t, {"kind": "gate", "gate": "f", "t": 3, "unit": 2, "sample": 4, "layer": 1})
    assert r["values"]["grad_pre"] == pytest.approx(want[0]["δf"][2, 3, 1], rel=1e-4, abs=1e-9)
    with pytest.raises(ValueError, match="layer must be from 1 to 2"):
        clicks.explain(t, {"kind": "hidden", "t": 3, "unit": 2, "layer": 3})


def test_a_bidirectional_or_projected_rnn_is_refused_at_start():
    from glassnet.playground import setups

    X, y = setups.make_data(setups.validate({"data": "sine", "n_samples": 30}))
    for layer, what in ((gn.nn.GRU(1, 4, batch_first=True, bidirectional=True), "bidirectional=False"),
                        (gn.nn.LSTM(1, 4, batch_first=True, proj_size=2), "proj_size=0")):
        model = gn.train.models.SequenceClassifier(layer, 8 if what.startswith("bi") else 2, 1)
        with pytest.raises(ValueError, match=re.escape(what)):
            Trainer(model=model, data=(X, y))


def test_long_equations_are_set_on_lines_for_the_panel(moons):
    """MathML Core does not break lines: a click's long equation is a table, the left side once, then
    each side after "=" and a long sum's further terms on indented lines; short ones stay one line.
    A square of a name with a superscript is parenthesised, and a script's brackets are fences."""
    t = _trainer({"data": "sine", "cell": "lstm", "n_samples": 60}, steps=1)
    r = clicks.explain(t, {"kind": "hidden", "t": 3, "unit": 2, "sample": 4})
    gate = ET.fromstring(r["forward"][0]["mathml"])
    rows = list(gate.iter(f"{{{NS}}}mtr"))
    assert len(rows) >= 3
    firsts = ["".join(row[0].itertext()) for row in rows]
    assert firsts[0] == "i3,42" and all(f == "" for f in firsts[1:])
    starts = [row[1][0][0] for row in rows]  # the first token after the (empty) left column
    assert starts[0].text == "=" and starts[-1].text == "="  # σ(…) = on the first line, the result on the last
    assert any(e.tag == f"{{{NS}}}mspace" for e in starts)  # the sum's further lines
    short = ET.fromstring(r["forward"][-2]["mathml"])  # c_3 = f·c_2 + i·g = …
    assert not list(short.iter(f"{{{NS}}}mtable"))
    n = clicks.explain(moons, {"kind": "neuron", "layer": 1, "unit": 2, "sample": 1})
    square = next(e for e in ET.fromstring(n["backward"][-1]["mathml"]).iter(f"{{{NS}}}msup")
                  if "".join(e[1].itertext()) == "2")
    assert "".join(square[0].itertext()).startswith("(a") and "".join(square[0].itertext()).endswith(")")
    fences = [e for e in ET.fromstring(n["forward"][0]["mathml"]).iter(f"{{{NS}}}mo") if e.text in "[]"]
    assert fences and all(e.get("lspace") == "0" and e.get("rspace") == "0" for e in fences)


def test_bad_click_targets():
    t = _trainer({"data": "sine", "cell": "lstm", "n_samples": 60}, steps=1)
    for target, message in [({"kind": "gate", "gate": "q", "t": 1, "unit": 1}, "gate must be one of i, f, g, o, c"),
                            ({"kind": "hidden", "t": 11, "unit": 1}, "t must be from 1 to 10"),
                            ({"kind": "hidden", "t": 1, "unit": 0}, "unit must be a positive integer"),
                            ({"kind": "neuron", "layer": 1, "unit": 1}, "needs a Linear layer"),
                            ({"kind": "pixel", "layer": 1, "channel": 1, "row": 1, "col": 1}, "needs a Conv2d"),
                            ({"kind": "weight", "layer": 1, "row": 1}, "needs 'col'")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            clicks.explain(t, target)


def test_clicks_are_quick():
    for setup, target in [({"data": "moons"}, {"kind": "neuron", "layer": 2, "unit": 1, "sample": 1}),
                          ({"data": "digits"}, {"kind": "pixel", "layer": 1, "channel": 1, "row": 4, "col": 4}),
                          ({"data": "sine", "cell": "lstm"}, {"kind": "hidden", "t": 5, "unit": 1})]:
        t = _trainer(setup, steps=1)
        clicks.explain(t, target)
        start = time.perf_counter()
        clicks.explain(t, target)
        assert time.perf_counter() - start < 0.5  # ~15-25 ms alone; the benchmark measures it


def test_explanation_to_mathml():
    w = gn.Tensor([0.2, -0.3, 0.9], dtype=gn.float64, requires_grad=True, name="w")
    x = gn.Tensor([0.5, 0.6, 1e-6], dtype=gn.float64, name="x")
    with gn.explain() as ex:
        y = gn.sigmoid(w @ x + 0.5)
        y.backward()
    html = ex.render("mathml")
    root = ET.fromstring(f"<div>{html}</div>")
    maths = root.findall(f"{{{NS}}}math")
    eqs = [eq for _, eq in ex.equations()]
    assert len(maths) >= len(eqs) > 0
    text, shown = ex.to_text(), " ".join(root.itertext())
    for eq in eqs:
        result = Fmt(4).num(eq.result.v).lstrip("−")
        if "e" not in result:
            assert result in text and result in shown
    with pytest.raises(ValueError, match="'mathml'"):
        ex.render("svg")


def test_focus_on_a_time_step():
    rnn = gn.nn.RNN(2, 3, batch_first=True)
    with pytest.raises(ValueError, match="focus step 9 is outside every sequence: step must be 1 to 4"), \
            gn.explain(focus={"step": 9}):
        rnn(gn.randn(5, 4, 2))
    with gn.explain(focus={"step": 2, "sample": 3, "unit": 2}) as ex:
        rnn(gn.randn(5, 4, 2))
    assert "h^[1]_2,32 = tanh(W_xh^[1],21·x_321 + " in ex.to_text()  # time step 2 of sample 3, unit 2
