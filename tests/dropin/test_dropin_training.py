"""PyTorch-style programs (tests/dropin/programs) run unchanged under PyTorch and under
glassnet — the source is read once and only its ``import torch`` line is changed — and,
given the same initial weights, reach the same numbers."""

import numpy as np
from dropin_switch import load

import glassnet as gn


def _arrays(values):
    return [v.detach().numpy() for v in values]


def test_custom_autograd_function_program(torch):
    t, g = load("custom_function", "torch"), load("custom_function", "glassnet")
    torch.manual_seed(0)
    tm, gm = t.build(), g.build()
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    tx, ty = t.data()
    gx, gy = g.data()
    np.testing.assert_allclose(gx.numpy(), tx.numpy(), rtol=1e-13, atol=1e-15)
    t_losses, g_losses = t.train(tm, tx, ty), g.train(gm, gx, gy)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-9)
    assert g_losses[-1] < 0.1 * g_losses[0]
    for a, b in zip(_arrays(gm.parameters()), _arrays(tm.parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_char_mlp_with_multinomial_sampling(torch):
    t, g = load("char_mlp", "torch"), load("char_mlp", "glassnet")
    tp = t.build()
    gp = g.build()
    for a, b in zip(gp, tp):  # the same initial weights (the generators differ)
        a.data = gn.tensor(b.detach().numpy())
    t_losses, g_losses = t.train(tp), g.train(gp)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-9)
    assert g_losses[-1] < 0.5 * g_losses[0]
    # sampling: the same model draws names made of its characters, ended by '.'
    names = g.sample(gp, n=20)
    assert all(set(n) <= set(g.chars) for n in names) and any(names)
    again = g.sample(gp, n=20)
    assert names == again  # seeded through the generator


CORPUS = """the cat sat on the mat
the dog sat on the log
a cat and a dog met on the mat
the log was by the mat and the cat sat on it
"""


def test_word_language_model_with_manual_data_updates(torch):
    t, g = load("word_language_model", "torch"), load("word_language_model", "glassnet")
    td, gd = t.Dictionary(), g.Dictionary()
    t_ids, g_ids = t.tokenize(CORPUS, td), g.tokenize(CORPUS, gd)
    assert t_ids.tolist() == g_ids.tolist() and td.idx2word == gd.idx2word
    t_data, g_data = t.batchify(t_ids, 4), g.batchify(g_ids, 4)
    assert t_data.tolist() == g_data.tolist()
    torch.manual_seed(0)
    tm, gm = t.build(len(td.idx2word)), g.build(len(gd.idx2word))
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    t_losses, g_losses = t.train(tm, t_data), g.train(gm, g_data)
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-9)
    assert np.mean(g_losses[-4:]) < np.mean(g_losses[:4])
    for a, b in zip(_arrays(gm.parameters()), _arrays(tm.parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
