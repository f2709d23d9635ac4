"""RNN, LSTM, GRU and their cells against PyTorch (float64), BPTT as the chapter writes it,
gradient checks, variable lengths, gradient watching and bad inputs."""

import numpy as np
import pytest

import glassnet as gn

T, N, I, H = 5, 4, 3, 6
MODES = ["tanh", "relu", "lstm", "gru"]


def _classes(torch, mode):
    kw = {"nonlinearity": mode} if mode in ("tanh", "relu") else {}
    tcls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(mode, torch.nn.RNN)
    gcls = {"lstm": gn.nn.LSTM, "gru": gn.nn.GRU}.get(mode, gn.nn.RNN)
    return tcls, gcls, kw


def _pair(torch, mode, **kwargs):
    """A PyTorch layer and a glassnet layer with the same (PyTorch-initialised) weights."""
    tcls, gcls, kw = _classes(torch, mode)
    tm = tcls(I, H, **kw, **kwargs)
    gm = gcls(I, H, **kw, **kwargs, dtype=gn.float64)
    missing, unexpected = gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert not missing and not unexpected
    return tm, gm


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=what)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (2, False)])
@pytest.mark.parametrize("lengths", [None, [5, 2, 4, 1]])
@pytest.mark.parametrize("with_state,batch_first", [(True, True), (False, False), (True, False)])
def test_matches_torch(torch, mode, layers, bidirectional, lengths, with_state, batch_first):
    tm, gm = _pair(torch, mode, num_layers=layers, bidirectional=bidirectional,
                   batch_first=batch_first)
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, I) if batch_first else (T, N, I))
    h0, c0 = rng.standard_normal((2, layers * D, N, H))
    tx, gx = torch.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
    th, gh = torch.tensor(h0, requires_grad=True), gn.tensor(h0, requires_grad=True)
    tc, gc = torch.tensor(c0, requires_grad=True), gn.tensor(c0, requires_grad=True)
    t_state = g_state = None
    if with_state:
        t_state = (th, tc) if mode == "lstm" else th
        g_state = (gh, gc) if mode == "lstm" else gh
    if lengths is None:
        t_out, t_hn = tm(tx, t_state)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths),
                                                         batch_first=batch_first, enforce_sorted=False)
        t_out, t_hn = tm(packed, t_state)
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=batch_first, total_length=T)
    g_out, g_hn = gm(gx, g_state, lengths=lengths)
    t_finals = list(t_hn) if mode == "lstm" else [t_hn]
    g_finals = list(g_hn) if mode == "lstm" else [g_hn]
    _close(g_out._data, t_out.detach().numpy(), "output")
    for g, t in zip(g_finals, t_finals):
        _close(g._data, t.detach().numpy(), "final state")
    # one random cotangent per output: every gradient is compared at once
    t_loss, g_loss = 0, 0
    for g, t in zip([g_out] + g_finals, [t_out] + t_finals):
        v = rng.standard_normal(g.shape)
        t_loss = t_loss + (t * torch.tensor(v)).sum()
        g_loss = g_loss + (g * gn.tensor(v)).sum()
    t_loss.backward()
    g_loss.backward()
    _close(gx.grad._data, tx.grad.numpy(), "input grad")
    if with_state:
        _close(gh.grad._data, th.grad.numpy(), "h0 grad")
        if mode == "lstm":
            _close(gc.grad._data, tc.grad.numpy(), "c0 grad")
    t_params = dict(tm.named_parameters())
    assert [n for n, _ in gm.named_parameters()] == list(t_params)
    for name, p in gm.named_parameters():
        _close(p.grad._data, t_params[name].grad.numpy(), name)


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_and_packed_input(torch, mode):
    tm, gm = _pair(torch, mode, num_layers=1, bidirectional=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, I))
    t_out, _ = tm(torch.tensor(x))
    g_out, g_hn = gm(gn.tensor(x))
    _close(g_out._data, t_out.detach().numpy(), "unbatched output")
    assert (g_hn[0] if mode == "lstm" else g_hn).shape == (2, H)

    xs = rng.standard_normal((T, N, I))
    lengths = [3, 5, 1, 4]
    tx, gx = torch.tensor(xs, requires_grad=True), gn.tensor(xs, requires_grad=True)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=False)
    gp = gn.nn.utils.rnn.pack_padded_sequence(gx, lengths, enforce_sorted=False)
    assert gp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert gp.sorted_indices.tolist() == tp.sorted_indices.tolist()
    t_out, t_hn = tm(tp)
    g_out, g_hn = gm(gp)
    assert isinstance(g_out, gn.nn.utils.rnn.PackedSequence)
    _close(g_out.data._data, t_out.data.detach().numpy(), "packed output")
    t_hn = t_hn[0] if mode == "lstm" else t_hn
    g_hn = g_hn[0] if mode == "lstm" else g_hn
    _close(g_hn._data, t_hn.detach().numpy(), "h_n from packed input")
    v = rng.standard_normal(g_out.data.shape)
    (t_out.data * torch.tensor(v)).sum().backward()
    (g_out.data * gn.tensor(v)).sum().backward()
    _close(gx.grad._data, tx.grad.numpy(), "input grad through packing")


def test_pack_pad_roundtrip(torch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 2))  # batch_first: N=4, T=3
    lengths = [2, 3, 1, 3]
    for enforce in (False,):
        gp = gn.nn.utils.rnn.pack_padded_sequence(gn.tensor(x), lengths, batch_first=True,
                                                  enforce_sorted=enforce)
        tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first=True,
                                                     enforce_sorted=enforce)
        _close(gp.data._data, tp.data.numpy(), "packed data")
        g_pad, g_len = gn.nn.utils.rnn.pad_packed_sequence(gp, batch_first=True, padding_value=-1.0)
        t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first=True, padding_value=-1.0)
        _close(g_pad._data, t_pad.numpy(), "padded")
        assert g_len.tolist() == t_len.tolist()
    seqs = [rng.standard_normal((n, 2)) for n in (3, 1, 2)]
    _close(gn.nn.utils.rnn.pad_sequence([gn.tensor(s) for s in seqs], batch_first=True)._data,
           torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=True).numpy(),
           "pad_sequence")
    p = gn.nn.utils.rnn.pack_sequence([gn.tensor(s) for s in seqs], enforce_sorted=False)
    assert p.batch_sizes.tolist() == [3, 2, 1]
    from glassnet.nn.utils.rnn import pack_sequence  # importable as in torch.nn.utils.rnn

    assert pack_sequence is gn.nn.utils.rnn.pack_sequence


def test_padding_never_leaks():
    """Changing the padding changes nothing: outputs past each length are zero, h_n is the
    state at the last real step, and padded positions get zero gradient."""
    gm = gn.nn.GRU(I, H, dtype=gn.float64)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((T, N, I))
    lengths = np.array([5, 2, 4, 1])
    pad = np.arange(T)[:, None] >= lengths[None, :]
    x2 = np.where(pad[..., None], 1e3, x)
    outs = []
    for xv in (x, x2):
        xt = gn.tensor(xv, requires_grad=True)
        out, hn = gm(xt, lengths=lengths)
        (out.sum() + hn.sum()).backward()
        outs.append((out._data, hn._data, xt.grad._data))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert (outs[0][0][pad] == 0).all()
    assert (outs[0][2][pad] == 0).all()
    for b, n in enumerate(lengths):  # h_n equals the run on the unpadded sequence alone
        _, hb = gm(gn.tensor(x[:n, b:b + 1]))
        np.testing.assert_allclose(hb._data[0, 0], outs[0][1][0, b], rtol=1e-12)


@pytest.mark.parametrize("cell", ["tanh", "relu", "lstm", "gru"])
def test_cells_match_torch(torch, cell):
    rng = np.random.default_rng(5)
    if cell in ("tanh", "relu"):
        tm, gm = torch.nn.RNNCell(I, H, nonlinearity=cell), gn.nn.RNNCell(I, H, nonlinearity=cell,
                                                                         dtype=gn.float64)
    else:
        tm = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell](I, H)
        gm = {"lstm": gn.nn.LSTMCell, "gru": gn.nn.GRUCell}[cell](I, H, dtype=gn.float64)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x, h, c = rng.standard_normal((N, I)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    gx, gh, gc = (gn.tensor(a, requires_grad=True) for a in (x, h, c))
    if cell == "lstm":
        t_out, g_out = torch.cat(tm(tx, (th, tc)), 1), gn.cat(gm(gx, (gh, gc)), 1)
    else:
        t_out, g_out = tm(tx, th), gm(gx, gh)
    _close(g_out._data, t_out.detach().numpy(), "cell output")
    v = rng.standard_normal(g_out.shape)
    (t_out * torch.tensor(v)).sum().backward()
    (g_out * gn.tensor(v)).sum().backward()
    _close(gx.grad._data, tx.grad.numpy(), "x grad")
    _close(gh.grad._data, th.grad.numpy(), "h grad")
    if cell == "lstm":
        _close(gc.grad._data, tc.grad.numpy(), "c grad")
    tp = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        _close(p.grad._data, tp[name].grad.numpy(), name)


@pytest.mark.parametrize("cell", [gn.nn.RNNCell, gn.nn.LSTMCell, gn.nn.GRUCell])
def test_cells_gradcheck(cell):
    m = cell(2, 3, dtype=gn.float64)
    x = gn.randn(2, 2, dtype=gn.float64, requires_grad=True)
    h = gn.randn(2, 3, dtype=gn.float64, requires_grad=True)
    hx = (h, gn.randn(2, 3, dtype=gn.float64, requires_grad=True)) if cell is gn.nn.LSTMCell else h
    params = list(m.parameters())
    assert gn.autograd.gradcheck(lambda *a: m(x, hx), [x, h, *params])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bidirectional,lengths", [(False, None), (True, [3, 1])])
def test_fused_layer_gradcheck(mode, bidirectional, lengths):
    gcls = {"lstm": gn.nn.LSTM, "gru": gn.nn.GRU}.get(mode, gn.nn.RNN)
    kw = {"nonlinearity": mode} if mode in ("tanh", "relu") else {}
    m = gcls(2, 3, bidirectional=bidirectional, dtype=gn.float64, **kw)
    D = 2 if bidirectional else 1
    x = gn.randn(3, 2, 2, dtype=gn.float64, requires_grad=True)
    h0 = gn.randn(D, 2, 3, dtype=gn.float64, requires_grad=True)
    inputs = [x, h0]
    if mode == "lstm":
        c0 = gn.randn(D, 2, 3, dtype=gn.float64, requires_grad=True)
        inputs.append(c0)
    if mode == "relu":  # keep pre-activations away from the kink at 0
        for p in m.parameters():
            p._data *= 0.5

    def run(*_):
        out, hn = m(x, (h0, c0) if mode == "lstm" else h0, lengths=lengths)
        return (out,) + (tuple(hn) if mode == "lstm" else (hn,))

    assert gn.autograd.gradcheck(run, inputs + list(m.parameters()))


def test_chapter_bptt_sum_over_steps():
    """∂E/∂W_xh of a 3-step tanh RNN with per-step MSE equals the chapter's sum over time
    steps of each step's contribution, δ carried back through tanh and W_hh."""
    T3, n_in, n_h = 3, 2, 3
    rng = np.random.default_rng(6)
    rnn = gn.nn.RNN(n_in, n_h, dtype=gn.float64)
    head = gn.nn.Linear(n_h, 1, dtype=gn.float64)
    x = rng.standard_normal((T3, 1, n_in))
    y = rng.standard_normal((T3, 1, 1))
    out, _ = rnn(gn.tensor(x))
    y_hat = head(out)
    E = ((gn.tensor(y) - y_hat) ** 2).mean()  # (1/T) Σ_t (y_t − ŷ_t)²
    E.backward()

    W_xh, W_hh = rnn.weight_ih_l0._data, rnn.weight_hh_l0._data
    b_h = rnn.bias_ih_l0._data + rnn.bias_hh_l0._data
    W_yh, b_y = head.weight._data, head.bias._data
    h = [np.zeros(n_h)]
    for t in range(T3):
        h.append(np.tanh(W_xh @ x[t, 0] + W_hh @ h[-1] + b_h))
    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)
    for k in range(1, T3 + 1):  # the contribution of the error at step k
        y_hat_k = W_yh @ h[k] + b_y
        dy = -2.0 / T3 * (y[k - 1, 0] - y_hat_k)  # ∂E/∂ŷ_k
        delta = (W_yh.T @ dy) * (1 - h[k] ** 2)  # ∂E/∂z_k
        for j in range(k, 0, -1):  # back through ∂h_j/∂h_{j−1} = diag(1 − h_j²) W_hh
            dW_xh += np.outer(delta, x[j - 1, 0])
            dW_hh += np.outer(delta, h[j - 1])
            delta = (W_hh.T @ delta) * (1 - h[j - 1] ** 2)
    np.testing.assert_allclose(rnn.weight_ih_l0.grad._data, dW_xh, rtol=1e-10)
    np.testing.assert_allclose(rnn.weight_hh_l0.grad._data, dW_hh, rtol=1e-10)


def test_watch_gradients_records_per_step_norms(torch):
    tm, gm = _pair(torch, "tanh")
    model = gn.nn.Sequential(gm)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((T, N, I))
    w = rng.standard_normal((T, N, H))
    with gn.nn.utils.rnn.watch_gradients(model) as watch:
        out, _ = model(gn.tensor(x))
        (out * gn.tensor(w)).sum().backward()
    norms = watch.hidden_grad_norms["0.l0"]
    assert norms.shape == (T,)
    # reference: the same loop with PyTorch's RNNCell, each h_t's total gradient
    cell = torch.nn.RNNCell(I, H)
    cell.load_state_dict({k[:-3]: v for k, v in tm.state_dict().items()})
    h, hs = torch.zeros(N, H), []
    for t in range(T):
        h = cell(torch.tensor(x[t]), h)
        h.retain_grad()
        hs.append(h)
    sum((hh * torch.tensor(w[t])).sum() for t, hh in enumerate(hs)).backward()
    np.testing.assert_allclose(norms, [hh.grad.norm().item() for hh in hs], rtol=1e-9)
    assert set(watch.weight_grad_norms) == {f"0.{n}" for n, _ in gm.named_parameters()}
    np.testing.assert_allclose(watch.weight_grad_norms["0.weight_hh_l0"],
                               np.linalg.norm(gm.weight_hh_l0.grad._data))
    assert "0.l0" in watch.report()
    # outside the block nothing is recorded
    out, _ = model(gn.tensor(x))
    out.sum().backward()
    assert len(watch.records) == 1


def test_truncated_bptt_detach():
    """A hidden state carried across chunks with detach() passes values, not gradients."""
    lstm = gn.nn.LSTM(I, H, dtype=gn.float64)
    x = gn.randn(2 * T, N, I, dtype=gn.float64, requires_grad=True)
    x1, x2 = x._data[:T], x._data[T:]
    c1 = gn.tensor(x1, requires_grad=True)
    _, (h, c) = lstm(c1)
    state = (h.detach(), c.detach())
    out2, _ = lstm(gn.tensor(x2), state)
    out2.sum().backward()
    assert c1.grad is None  # the first chunk is cut off
    full, _ = lstm(x)
    np.testing.assert_allclose(out2._data, full._data[T:], rtol=1e-12)  # same values as one run


def test_parameters_and_init():
    m = gn.nn.LSTM(I, 20, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "weight_ih_l1_reverse" in names and len(names) == 16
    assert m.weight_ih_l0.shape == (80, I) and m.weight_ih_l1.shape == (80, 40)
    bound = 1 / np.sqrt(20)
    allw = np.concatenate([p._data.ravel() for p in m.parameters()])
    assert np.abs(allw).max() <= bound and np.abs(allw).max() > 0.95 * bound
    assert abs(allw.mean()) < 0.01
    assert gn.nn.GRU(I, 5, bias=False).weight_hh_l0.shape == (15, 5)
    assert not hasattr(gn.nn.GRU(I, 5, bias=False), "bias_ih_l0")


def test_dropout_between_layers():
    m = gn.nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=gn.float64)
    x = gn.randn(T, N, I, dtype=gn.float64)
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a._data, b._data)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a._data, b._data)


def test_float32_training_step():
    m = gn.nn.LSTM(I, H, batch_first=True)
    x = gn.randn(N, T, I)
    out, (h, _) = m(x)
    assert out.dtype == gn.float32 and h.dtype == gn.float32
    (out ** 2).mean().backward()
    assert m.weight_hh_l0.grad.dtype == gn.float32


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_inputs():
    rnn = gn.nn.RNN(3, 4)
    with pytest.raises(ValueError, match=r"expected input of shape \(T, N, input_size\).*4-D input of shape \(2, 3, 4, 5\)"):
        rnn(gn.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"input has 7 features .* expects input_size=3"):
        rnn(gn.randn(5, 2, 7))
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 2, 4\) but expected \(1, 2, 4\)"):
        rnn(gn.randn(5, 2, 3), gn.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"hx must be a tuple \(h0, c0\)"):
        gn.nn.LSTM(3, 4)(gn.randn(5, 2, 3), gn.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"c0 has shape \(1, 2, 5\) but expected \(1, 2, 4\)"):
        gn.nn.LSTM(3, 4)(gn.randn(5, 2, 3), (gn.zeros(1, 2, 4), gn.zeros(1, 2, 5)))
    with pytest.raises(ValueError, match=r"between 1 and the sequence length 5, got lengths \[6, 2\]"):
        rnn(gn.randn(5, 2, 3), lengths=[6, 2])
    with pytest.raises(ValueError, match=r"lengths must have one entry per sequence .* got shape \(3,\)"):
        rnn(gn.randn(5, 2, 3), lengths=[5, 2, 1])
    with pytest.raises(ValueError, match=r"sorted in decreasing order when enforce_sorted=True, got \[2, 5\]"):
        gn.nn.utils.rnn.pack_padded_sequence(gn.randn(5, 2, 3), [2, 5])
    with pytest.raises(ValueError, match=r"between 1 and the sequence length 5, got lengths \[7, 2\]"):
        gn.nn.utils.rnn.pack_padded_sequence(gn.randn(5, 2, 3), [7, 2])
    with pytest.raises(ValueError, match=r"pack_padded_sequence: lengths must be integers, got \[5.0, 2.5\]"):
        gn.nn.utils.rnn.pack_padded_sequence(gn.randn(5, 2, 3), [5.0, 2.5])
    with pytest.raises(ValueError, match=r"lengths must have one entry .* got shape \(3,\) \(input shape"):
        gn.nn.utils.rnn.pack_padded_sequence(gn.randn(5, 2, 3), [5, 2, 1])
    for p in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=rf"dropout must be a probability in \[0, 1\), got {p}"):
            gn.nn.LSTM(3, 4, num_layers=2, dropout=p)
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'sigmoid' \(expected 'tanh' or 'relu'\)"):
        gn.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'gelu'"):
        gn.nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"input has dtype float64 but the layer's parameters are float32"):
        rnn(gn.randn(5, 2, 3, dtype=gn.float64))
    with pytest.raises(ValueError, match=r"hidden_size must be a positive integer, got 0"):
        gn.nn.GRU(3, 0)
    with pytest.raises(ValueError, match=r"GRUCell: input has 2 features but the cell expects input_size=3"):
        gn.nn.GRUCell(3, 4)(gn.randn(5, 2))
    with pytest.raises(ValueError, match=r"LSTMCell: c has shape \(2, 3\) but expected \(2, 4\)"):
        gn.nn.LSTMCell(3, 4)(gn.randn(2, 3), (gn.zeros(2, 4), gn.zeros(2, 3)))


@pytest.mark.parametrize("mode", MODES)
def test_several_graphs_alive_at_once(mode):
    """Sequence buffers are reused between steps only once nothing refers to them: two
    forwards before their backwards give the same gradients as two separate runs."""
    gcls = {"lstm": gn.nn.LSTM, "gru": gn.nn.GRU}.get(mode, gn.nn.RNN)
    kw = {"nonlinearity": mode} if mode in ("tanh", "relu") else {}
    m = gcls(I, H, dtype=gn.float64, **kw)
    xs = [gn.randn(T, N, I, dtype=gn.float64) for _ in range(2)]
    separate = []
    for x in xs:
        out, _ = m(x)
        (out ** 2).sum().backward()
        separate.append(m.weight_hh_l0.grad._data.copy())
        m.zero_grad()
    outs = [m(x)[0] for x in xs]
    values = [o._data.copy() for o in outs]
    for o, g, v in zip(outs, separate, values):
        np.testing.assert_array_equal(o._data, v)
        (o ** 2).sum().backward()
        np.testing.assert_allclose(m.weight_hh_l0.grad._data, g, rtol=1e-12)
        m.zero_grad()


def test_save_load_and_bidirectional_watch(tmp_path):
    model = gn.nn.Sequential(gn.nn.Embedding(10, 4, padding_idx=0),
                             gn.nn.GRU(4, 6, num_layers=2, batch_first=True, bidirectional=True))
    gn.save(model, tmp_path / "m.gn")
    loaded = gn.load(tmp_path / "m.gn")
    ids = gn.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out, _ = model[1](model[0](ids), lengths=[4, 2])
    out2, _ = loaded[1](loaded[0](ids), lengths=[4, 2])
    np.testing.assert_allclose(out._data, out2._data, rtol=1e-6)
    with gn.nn.utils.rnn.watch_gradients(model) as w:
        out.sum().backward()
    assert sorted(w.hidden_grad_norms) == ["1.l0", "1.l0_reverse", "1.l1", "1.l1_reverse"]
    # the second sequence has 2 real steps: no gradient reaches its padded steps
    assert all(n.shape == (4,) and np.isfinite(n).all() for n in w.hidden_grad_norms.values())
    assert model[0].weight.grad._data[0].tolist() == [0.0] * 4  # padding row


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_realistic_size_matches_torch(torch, mode):
    """The sizes of a real model (50 steps, batch 32, hidden 64), not only tiny ones."""
    T2, N2, H2 = 50, 32, 64
    tcls, gcls, kw = _classes(torch, mode)
    tm = tcls(I, H2, **kw)
    gm = gcls(I, H2, **kw, dtype=gn.float64)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((T2, N2, I))
    tx, gx = torch.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
    (tm(tx)[0] ** 2).sum().backward()
    (gm(gx)[0] ** 2).sum().backward()
    _close(gx.grad.numpy(), tx.grad.numpy(), "x.grad")
    for name, p in tm.named_parameters():
        _close(getattr(gm, name).grad.numpy(), p.grad.numpy(), name)


# ---------------------------------------------------------------------------
# LSTM with proj_size
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("layers,bidirectional,lengths,with_state,batch_first", [
    (1, False, None, False, False), (2, True, [5, 2, 4, 1], True, False),
    (2, False, None, True, True), (1, True, [3, 5, 1, 2], False, True)])
def test_lstm_proj_size_matches_torch(torch, layers, bidirectional, lengths, with_state, batch_first):
    P = 2
    tm = torch.nn.LSTM(I, H, num_layers=layers, bidirectional=bidirectional, proj_size=P,
                       batch_first=batch_first).double()
    gm = gn.nn.LSTM(I, H, num_layers=layers, bidirectional=bidirectional, proj_size=P,
                    batch_first=batch_first, dtype=gn.float64)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(gm.state_dict()) == list(sd)  # same names, same order (weight_hr_l{k} last)
    gm.load_state_dict(sd)
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, T, I) if batch_first else (T, N, I))
    h0, c0 = rng.standard_normal((layers * D, N, P)), rng.standard_normal((layers * D, N, H))
    tx, gx = torch.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
    th, gh = torch.tensor(h0, requires_grad=True), gn.tensor(h0, requires_grad=True)
    tc, gc = torch.tensor(c0, requires_grad=True), gn.tensor(c0, requires_grad=True)
    t_state, g_state = ((th, tc), (gh, gc)) if with_state else (None, None)
    if lengths is None:
        t_out, (t_h, t_c) = tm(tx, t_state)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                         enforce_sorted=False)
        t_out, (t_h, t_c) = tm(packed, t_state)
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=batch_first, total_length=T)
    g_out, (g_h, g_c) = gm(gx, g_state, lengths=lengths)
    assert g_out.shape == tuple(t_out.shape) and g_out.shape[-1] == D * P
    assert g_h.shape == (layers * D, N, P) and g_c.shape == (layers * D, N, H)
    w = rng.standard_normal(tuple(t_out.shape))
    ((t_out * torch.tensor(w)).sum() + 0.3 * t_h.sum() + 0.7 * t_c.sum()).backward()
    ((g_out * gn.tensor(w)).sum() + 0.3 * g_h.sum() + 0.7 * g_c.sum()).backward()
    for g, t, what in [(g_out, t_out, "output"), (g_h, t_h, "h_n"), (g_c, t_c, "c_n")]:
        _close(g.detach().numpy(), t.detach().numpy(), what)
    _close(gx.grad.numpy(), tx.grad.numpy(), "x.grad")
    if with_state:
        _close(gh.grad.numpy(), th.grad.numpy(), "h0.grad")
        _close(gc.grad.numpy(), tc.grad.numpy(), "c0.grad")
    for name, p in tm.named_parameters():
        _close(getattr(gm, name).grad.numpy(), p.grad.numpy(), name + ".grad")


def test_lstm_proj_size_gradcheck_save_load_and_bad_input(tmp_path):
    m = gn.nn.LSTM(2, 3, proj_size=2, bidirectional=True, dtype=gn.float64)
    x = gn.randn(3, 2, 2, dtype=gn.float64, requires_grad=True)
    h0 = gn.randn(2, 2, 2, dtype=gn.float64, requires_grad=True)
    c0 = gn.randn(2, 2, 3, dtype=gn.float64, requires_grad=True)

    def run(*_):
        out, (hn, cn) = m(x, (h0, c0), lengths=[3, 1])
        return out, hn, cn

    assert gn.autograd.gradcheck(run, [x, h0, c0] + list(m.parameters()))
    assert "proj_size=2" in repr(m) and len(m.all_weights[0]) == 5

    gn.save(m, tmp_path / "lstm.safetensors")
    back = gn.load(tmp_path / "lstm.safetensors")
    assert back.proj_size == 2
    np.testing.assert_array_equal(back(x)[0].detach().numpy(), m(x)[0].detach().numpy())

    for bad in (3, 4, -1, 1.5, True):
        with pytest.raises(ValueError, match=rf"proj_size must be an int in \[0, hidden_size=3\).*got {bad!r}"):
            gn.nn.LSTM(2, 3, proj_size=bad)
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 2, 3\) but expected \(1, 2, 2\) "
                                         r"\(num_layers \* num_directions, batch, proj_size\)"):
        gn.nn.LSTM(2, 3, proj_size=2)(gn.randn(4, 2, 2), (gn.zeros(1, 2, 3), gn.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match=r"c0 has shape \(1, 2, 2\) but expected \(1, 2, 3\) "
                                         r"\(num_layers \* num_directions, batch, hidden_size\)"):
        gn.nn.LSTM(2, 3, proj_size=2)(gn.randn(4, 2, 2), (gn.zeros(1, 2, 2), gn.zeros(1, 2, 2)))
