"""The RNN exercise's notation: parentheses around a product, one index style per tensor, the
output layer's sums in the BPTT summary, and the chapter's W_yh."""

import re

import pytest
from explain_check import check

from glassnet.cli import main
from glassnet.explain import rnn
from glassnet.explain.exercises import ExerciseError

ARGS = {"w_xh": [[0.5], [0.1]], "w_hh": [[0.2, 0], [0, 0.3]], "inputs": [1, 0.5], "b_h": [0, 0.1],
        "targets": [[0.2], [0.1]], "lr": 0.1}


def test_a_product_is_parenthesised_where_it_is_differentiated():
    ex = rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS)
    text = str(ex)
    assert "∂E/∂(W_hh h_1) = [0.2966, 0.1593]" in text
    assert "∂E/∂(W_xh x_2 + b_h) = " in text
    assert not re.search(r"∂E/∂W_hh h", text)
    assert r"\partial \left(W_{hh} h_{1}\right)" in ex.to_latex()
    check(ex)


def test_each_tensor_has_one_index_style():
    text = str(rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS))
    assert "E = (1/2)·((y_1,1 − ŷ_1,1)^2 + (y_2,1 − ŷ_2,1)^2)" in text
    assert not re.search(r"(?<![\w^])(ŷ|y)_\d\d", text)  # never ŷ_11 beside ŷ_1,1


def test_the_output_layer_sums_are_in_the_bptt_summary_before_the_update():
    text = str(rnn.explain_rnn(w_hy=[[1, 0.5]], b_y=[0.1], **ARGS))
    assert text.count("Backward pass") == 1
    bptt, update = text.index("BPTT: each time step"), text.index("SGD step")
    for line in ("∂E/∂W_hy,11 = [t=1] + [t=2] = ", "∂E/∂b_y,1 = [t=1] + [t=2] = ",
                 "∂E/∂W_hh,22 = [t=1] + [t=2] = "):
        assert bptt < text.index(line) < update, line
    assert "several paths add up\n" not in text[bptt:]


def test_w_yh_is_the_chapters_name_for_w_hy():
    by_hy = str(rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS))
    by_yh = str(rnn.explain_rnn(w_yh=[[1, 0.5]], **ARGS))
    assert "W_yh,11" in by_yh and "W_hy" not in by_yh
    assert by_yh == by_hy.replace("W_hy", "W_yh")
    with pytest.raises(ExerciseError, match="W_yh: give the output weights once"):
        rnn.explain_rnn(w_hy=[[1, 0.5]], w_yh=[[1, 0.5]], **ARGS)


def test_the_command_takes_w_yh(capsys):
    base = ["explain", "rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0; 0 0.3", "--inputs", "1,0.5",
            "--targets", "0.2,0.1"]
    assert main(base + ["--w-yh", "1 0.5"]) == 0
    out = capsys.readouterr().out
    assert "ŷ_1,1 = W_yh,11·h_1,1 + W_yh,12·h_1,2" in out and "∂E/∂W_yh,12 = [t=1] + [t=2]" in out
    assert main(base + ["--w-yh", "1 0.5", "--w-hy", "1 0.5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "W_yh: give the output weights once" in err
    assert main(base + ["--w-yh", "1 0.5 2"]) == 1
    assert "W_yh: expected a matrix" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# the fused layer's backward: BPTT step by step
# ---------------------------------------------------------------------------
def _direction(gn, mode, x, W_ih, W_hh, b_ih, b_hh, reverse, H):
    """One direction of a recurrent layer written out step by step (glassnet autograd, float64), every
    intermediate kept with retain_grad: per time index {h, c, the gates, their pre-activations}."""
    T, N = x.shape[:2]
    h = c = gn.zeros(N, H, dtype=gn.float64)
    kept = [None] * T
    for s in (range(T - 1, -1, -1) if reverse else range(T)):
        a, b = x[s] @ W_ih.T + b_ih, h @ W_hh.T + b_hh
        if mode == "lstm":
            pre = [(a + b)[:, k * H:(k + 1) * H] for k in range(4)]
            i, f, g, o = gn.sigmoid(pre[0]), gn.sigmoid(pre[1]), gn.tanh(pre[2]), gn.sigmoid(pre[3])
            c = f * c + i * g
            h = o * gn.tanh(c)
            step = {"i": i, "f": f, "g": g, "o": o, "c": c, "δi": pre[0], "δf": pre[1], "δg": pre[2], "δo": pre[3]}
        elif mode == "gru":
            pr, pz = a[:, :H] + b[:, :H], a[:, H:2 * H] + b[:, H:2 * H]
            r, z = gn.sigmoid(pr), gn.sigmoid(pz)
            pn = a[:, 2 * H:] + r * b[:, 2 * H:]
            n = gn.tanh(pn)
            h = (1 - z) * n + z * h
            step = {"r": r, "z": z, "n": n, "δr": pr, "δz": pz, "δn": pn}
        else:
            z = a + b
            h = gn.tanh(z) if mode == "tanh" else gn.relu(z)
            step = {"z": z}
        step["h"] = h
        for v in step.values():
            v.retain_grad()
        kept[s] = step
    return kept, h, c


@pytest.mark.parametrize("kind,kw", [("RNN", {}), ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
                                     ("LSTM", {}), ("LSTM", {"bidirectional": True}), ("GRU", {}),
                                     ("GRU", {"bidirectional": True})])
def test_the_fused_layers_bptt_equals_autograd_on_the_unrolled_recurrence(kind, kw):
    """Every ∂L/∂h_t the fused layer's backward writes (the output's part, plus step t+1's, or h_n's at
    the last step), each gate's and pre-activation's gradient, equal autograd's on the same recurrence
    written out step by step, in both directions, with a loss that reads every h_t, h_n and c_n."""
    import numpy as np

    import glassnet as gn
    from glassnet.explain.records import Fmt
    from glassnet.explain.rnn import BpttEq

    gn.manual_seed(3)
    layer = getattr(gn.nn, kind)(2, 2, dtype=gn.float64, **kw)
    rng = np.random.default_rng(0)
    xv = rng.uniform(-1, 1, (3, 2, 2))  # T, N, inputs: 12 worked elements, each in full
    D = 2 if kw.get("bidirectional") else 1
    wy, wn = rng.uniform(-1, 1, (3, 2, 2 * D)), rng.uniform(-1, 1, (D, 2, 2))
    with gn.explain(max_elements=16) as ex:
        out, state = layer(gn.tensor(xv))
        h_n = state[0] if kind == "LSTM" else state
        loss = (out * gn.tensor(wy)).sum() + (h_n * gn.tensor(wn)).sum()
        if kind == "LSTM":
            loss = loss + (state[1] * gn.tensor(wn)).sum()
        loss.backward()
    check(ex)
    mode = {"RNN": kw.get("nonlinearity", "tanh")}.get(kind, kind.lower())
    x = gn.tensor(xv)
    dirs, total = [], 0
    for d in range(D):
        sfx = "_l0" + ("_reverse" if d else "")
        p = [gn.tensor(np.asarray(getattr(layer, n + sfx).data), requires_grad=True)
             for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        kept, h, c = _direction(gn, mode, x, *p, reverse=bool(d), H=2)
        outs = gn.stack([k["h"] for k in kept])
        total = total + (outs * gn.tensor(wy[:, :, 2 * d:2 * d + 2])).sum() + (h * gn.tensor(wn[d])).sum()
        if kind == "LSTM":
            total = total + (c * gn.tensor(wn[d])).sum()
        dirs.append(kept)
    total.backward()
    worked = [[e for e in s.items if isinstance(e, BpttEq)] for s in ex.steps
              if s.phase == "backward" and s.op == "RecurrentLayer"]
    assert len(worked) == D
    for eqs in worked:  # backward runs the reverse direction's layer first
        d = D - 1 - worked.index(eqs)
        keys = {e.key for e in eqs}
        assert keys == {"h", "z"} if mode in ("tanh", "relu") else keys >= {"h", "δ" + ("i" if mode == "lstm" else "r")}
        assert {e.at for e in eqs} == {(t, n, j) for t in range(3) for n in range(2) for j in range(2)}
        for e in eqs:
            t, n, j = e.at
            assert e.result.v == pytest.approx(float(dirs[d][t][e.key].grad.data[n, j]), rel=1e-9, abs=1e-12), \
                (d, e.key, e.at)
        last = 0 if d else 2
        text = next(e for e in eqs if e.key == "h" and e.at[0] == last).sides[0].text(Fmt(4))
        assert text.startswith("(from the output) + (from h_n)")
