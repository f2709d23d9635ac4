"""One time step of each recurrent cell, forward and backward, on its own (float64).

The fused layer (ops/recurrent.py) runs these steps over a whole sequence and
ops/bptt.py walks them back; here each cell's ``forward_step``,
``local_derivatives`` and ``backward_step`` (ops/rnn_cell.py, lstm_cell.py,
gru_cell.py) run once, on one step's arrays in the cell's internal gate layout
(``layout``), and the gradients that follow from δ_t are checked against
PyTorch's RNNCell, LSTMCell and GRUCell and against central differences of the
cell's own forward step. A faster step can be checked against the same tests.
"""

import numpy as np
import pytest

from glassnet.ops import gru_cell, lstm_cell, rnn_cell

N, I, H = 3, 4, 5
GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}
KINDS = ["tanh", "relu", "lstm", "gru"]


def _params(kind, seed, zero_h=False):
    """One step's input, state and PyTorch-layout weights, named as PyTorch's cells name them."""
    rng = np.random.default_rng(seed)
    G = GATES[kind]
    p = {"input": rng.uniform(-1, 1, (N, I)), "hx": np.zeros((N, H)) if zero_h else rng.uniform(-1, 1, (N, H)),
         "weight_ih": rng.uniform(-0.6, 0.6, (G * H, I)), "weight_hh": rng.uniform(-0.6, 0.6, (G * H, H)),
         "bias_ih": rng.uniform(-0.5, 0.5, G * H), "bias_hh": rng.uniform(-0.5, 0.5, G * H)}
    if kind == "lstm":
        p["cx"] = rng.uniform(-1, 1, (N, H))
    return p


def _gate_major(rows, G):
    """(N, G·H) → (G, N, H), contiguous: the layer's per-step layout."""
    return np.ascontiguousarray(rows.reshape(N, G, H).transpose(1, 0, 2))


def _torch_rows(delta, perm):
    """δ (G, N, H) in internal gate order → (N, G·H) in PyTorch's order."""
    rows = delta.transpose(1, 0, 2).reshape(N, -1)
    return rows if perm is None else rows[:, np.argsort(perm)]


def _weight_grads(p, dx_rows, dh_rows):
    """∂L/∂(input, weights, biases) from one step's δ in PyTorch's row order: input side
    dx_rows, hidden side dh_rows (N, G·H)."""
    return {"input": dx_rows @ p["weight_ih"], "weight_ih": dx_rows.T @ p["input"],
            "weight_hh": dh_rows.T @ p["hx"], "bias_ih": dx_rows.sum(0), "bias_hh": dh_rows.sum(0)}


def _rnn(p, gh, relu, zero_prev=False, need_prev=True):
    z = p["input"] @ p["weight_ih"].T + p["bias_ih"] + p["bias_hh"]
    h = np.empty((N, H))
    rnn_cell.forward_step(z, p["hx"], p["weight_hh"].T, h, np.empty((N, H)), zero_prev, relu)
    D = np.empty((1, N, H))
    rnn_cell.local_derivatives(h[None], relu, D)
    dh_prev = np.empty((N, H)) if need_prev else None
    rnn_cell.backward_step(gh, D[0], p["weight_hh"], dh_prev)
    grads = _weight_grads(p, D[0], D[0])
    grads["hx"] = dh_prev
    return {"h": h}, grads, D[0]


def _lstm(p, gh, gc, zero_prev=False, need_prev=True):
    perm, _, scale, _ = lstm_cell.layout(H)
    z = p["input"] @ p["weight_ih"].T + p["bias_ih"] + p["bias_hh"]
    a = _gate_major(z[:, perm] * scale, 4)  # o, i, f, g; the sigmoid gates' ½ folded in
    wh = p["weight_hh"][perm]
    whT = wh.reshape(4, H, H).transpose(0, 2, 1) * scale.reshape(4, 1, H)
    c, tc, h = np.empty((N, H)), np.empty((N, H)), np.empty((N, H))
    lstm_cell.forward_step(a, p["hx"], p["cx"], whT, c, tc, h, np.empty((4, N, H)), np.empty((N, H)),
                           zero_prev)
    D, K = np.empty((4, 1, N, H)), np.empty((1, N, H))
    lstm_cell.local_derivatives(a[:, None], h[None], tc[None], p["cx"][None], D, K)
    dc, dh_prev = gc.copy(), np.empty((N, H)) if need_prev else None
    lstm_cell.backward_step(gh, D[:, 0], K[0], a[2], dc, wh.reshape(4, H, H), dh_prev,
                            np.empty((4, N, H)), np.empty((N, H)))
    rows = _torch_rows(D[:, 0], perm)
    grads = _weight_grads(p, rows, rows)
    grads["hx"], grads["cx"] = dh_prev, dc
    gates = np.concatenate([a[1], a[2], a[3], a[0]], axis=1)  # PyTorch's i, f, g, o
    return {"h": h, "c": c, "gates": gates}, grads, D[:, 0]


def _gru(p, gh, zero_prev=False, need_prev=True):
    _, perm_h, scale_x, scale_h = gru_cell.layout(H)
    b_ih, b_hh = p["bias_ih"], p["bias_hh"]
    b = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]])  # b_hn stays inside r ⊙ (·)
    a = _gate_major((p["input"] @ p["weight_ih"].T + b) * scale_x, 3)  # r, z, n
    wh = p["weight_hh"][perm_h]  # n, r, z
    whT = wh.reshape(3, H, H).transpose(0, 2, 1) * scale_h.reshape(3, 1, H)
    hn, h = np.empty((N, H)), np.empty((N, H))
    gru_cell.forward_step(a, p["hx"], whT, b_hh[2 * H:], hn, h, np.empty((3, N, H)), np.empty((N, H)),
                          zero_prev)
    D = np.empty((4, 1, N, H))  # [n_h, r, z, n_x]
    gru_cell.local_derivatives(a[:, None], hn[None], p["hx"][None], D)
    dh_prev = np.empty((N, H)) if need_prev else None
    gru_cell.backward_step(gh, D[:3, 0], a[1], wh.reshape(3, H, H), dh_prev, np.empty((3, N, H)),
                           np.empty((N, H)))
    D[3, 0] *= gh  # n's input-side δ (the fused layer takes it for all steps at once)
    grads = _weight_grads(p, _torch_rows(D[1:4, 0], None), _torch_rows(D[:3, 0], perm_h))
    grads["hx"] = dh_prev
    return {"h": h, "gates": np.concatenate(list(a), axis=1)}, grads, D[:, 0]


def _step(kind, p, gh, gc, **kw):
    """(outputs, gradients of L = Σ gh ⊙ h_t [+ Σ gc ⊙ c_t], δ) through one step of ``kind``."""
    if kind == "lstm":
        return _lstm(p, gh, gc, **kw)
    if kind == "gru":
        return _gru(p, gh, **kw)
    return _rnn(p, gh, kind == "relu", **kw)


def _seeds(kind, seed):
    rng = np.random.default_rng(100 + seed)
    return rng.standard_normal((N, H)), rng.standard_normal((N, H)) if kind == "lstm" else None


def _torch_step(torch, kind, p, gh, gc):
    """The same step through PyTorch's cell: outputs (with the gates) and gradients."""
    F = torch.nn.functional
    if kind in ("tanh", "relu"):
        cell = torch.nn.RNNCell(I, H, nonlinearity=kind)
    else:
        cell = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind](I, H)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(p[name]))
    t = {k: torch.tensor(p[k], requires_grad=True) for k in ("input", "hx", "cx") if k in p}
    zx = F.linear(t["input"], cell.weight_ih, cell.bias_ih)
    zh = F.linear(t["hx"], cell.weight_hh, cell.bias_hh)
    out = {}
    if kind == "lstm":
        h, c = cell(t["input"], (t["hx"], t["cx"]))
        zi, zf, zg, zo = (zx + zh).chunk(4, 1)
        out["gates"] = torch.cat([torch.sigmoid(zi), torch.sigmoid(zf), torch.tanh(zg), torch.sigmoid(zo)], 1)
        loss = (h * torch.from_numpy(gh)).sum() + (c * torch.from_numpy(gc)).sum()
        out["c"] = c
    else:
        h = cell(t["input"], t["hx"])
        if kind == "gru":
            (xr, xz, xn), (hr, hz, hn) = zx.chunk(3, 1), zh.chunk(3, 1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            out["gates"] = torch.cat([r, z, torch.tanh(xn + r * hn)], 1)
        loss = (h * torch.from_numpy(gh)).sum()
    out["h"] = h
    loss.backward()
    grads = {k: v.grad.numpy() for k, v in t.items()}
    grads.update({name: getattr(cell, name).grad.numpy()
                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    return {k: v.detach().numpy() for k, v in out.items()}, grads


@pytest.mark.parametrize("zero_h", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_step_matches_torch_cell(torch, kind, zero_h):
    """h_t (c_t, the gates) and every gradient of one step against PyTorch's cell; from a
    zero state the step skips W_hh h_{t−1} (``zero_prev``) and must give the same."""
    p = _params(kind, seed=KINDS.index(kind), zero_h=zero_h)
    gh, gc = _seeds(kind, KINDS.index(kind))
    outs, grads, _ = _step(kind, p, gh, gc, zero_prev=zero_h)
    t_outs, t_grads = _torch_step(torch, kind, p, gh, gc)
    for name, expected in t_outs.items():
        np.testing.assert_allclose(outs[name], expected, rtol=1e-12, atol=1e-14, err_msg=name)
    assert grads.keys() == t_grads.keys()
    for name, expected in t_grads.items():
        np.testing.assert_allclose(grads[name], expected, rtol=1e-11, atol=1e-13, err_msg=name)


def _loss(kind, p, gh, gc):
    outs = _step(kind, p, gh, gc)[0]
    return (outs["h"] * gh).sum() + ((outs["c"] * gc).sum() if kind == "lstm" else 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_step_gradients_match_finite_differences(kind):
    """Every gradient from backward_step against central differences of forward_step
    (no PyTorch needed)."""
    p = _params(kind, seed=10 + KINDS.index(kind))
    gh, gc = _seeds(kind, 10 + KINDS.index(kind))
    grads = _step(kind, p, gh, gc)[1]
    eps = 1e-6
    for name, value in p.items():
        numeric = np.empty_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            up = _loss(kind, p, gh, gc)
            value[idx] = old - eps
            down = _loss(kind, p, gh, gc)
            value[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("kind", KINDS)
def test_last_step_gives_delta_only(kind):
    """Where no step before needs ∂L/∂h_{t−1} (dh_prev=None), backward_step still gives the
    same δ_t, and the LSTM's ∂L/∂c is left at ∂L/∂c_t (no forget-gate factor)."""
    p = _params(kind, seed=20)
    gh, gc = _seeds(kind, 20)
    outs, grads, delta = _step(kind, p, gh, gc)
    _, last_grads, last_delta = _step(kind, p, gh, gc, need_prev=False)
    np.testing.assert_array_equal(last_delta, delta)
    assert last_grads["hx"] is None
    if kind == "lstm":  # ∂L/∂c_{t−1} = f ⊙ ∂L/∂c_t
        np.testing.assert_allclose(grads["cx"], outs["gates"][:, H:2 * H] * last_grads["cx"], rtol=1e-14)
