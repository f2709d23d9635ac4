"""A sine-wave predictor in the style of PyTorch's time_sequence_prediction example
(programs/time_sequence_prediction.py: two stacked LSTMCells and a Linear layer, .double(),
LBFGS with a closure, prediction of future steps under no_grad), read once and run with
``import torch`` and with ``import glassnet as torch`` (only the import lines change). Given
the same initial weights, the loss of every closure call, the test losses and the
predictions match PyTorch's to float64 rounding, and both print the same lines."""

import numpy as np
import pytest
from dropin_switch import PROGRAMS, load


@pytest.fixture
def torch1(torch):
    """PyTorch on one thread: this program is many small ops, which threads only slow down."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(previous)


def test_only_the_import_lines_differ():
    program = load("time_sequence_prediction", "glassnet")
    assert program.torch.__name__ == "glassnet"
    assert program.nn.__name__ == "glassnet.nn" and program.optim.__name__ == "glassnet.optim"
    assert program.np.__name__ == "numpy"
    source = (PROGRAMS / "time_sequence_prediction.py").read_text()
    assert source.count("import torch\n") == 1 and "glassnet" not in source


def test_same_weights_give_pytorchs_losses_and_predictions(torch1, capsys):
    torch = torch1
    t, g = load("time_sequence_prediction", "torch"), load("time_sequence_prediction", "glassnet")
    data = t.make_data()
    assert data.shape == (20, 100) and data.dtype == np.float64
    np.testing.assert_array_equal(g.make_data(), data)
    torch.manual_seed(0)
    tm, gm = t.build(), g.build()
    assert all(p.dtype == torch.float64 for p in tm.parameters())
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert all(p.dtype == g.torch.float64 for p in gm.parameters())

    capsys.readouterr()
    t_losses, t_test, t_pred = t.train(tm, data, steps=2, future=20)
    t_out = capsys.readouterr().out
    g_losses, g_test, g_pred = g.train(gm, data, steps=2, future=20)
    g_out = capsys.readouterr().out

    assert len(g_losses) == len(t_losses) > 2  # every closure call of every LBFGS step
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-8)
    np.testing.assert_allclose(g_test, t_test, rtol=1e-8)
    assert g_pred.shape == t_pred.shape == (3, 99 + 20) and g_pred.dtype == np.float64
    np.testing.assert_allclose(g_pred, t_pred, rtol=1e-8, atol=1e-12)
    assert g_out == t_out and g_out.count("loss: ") == len(g_losses) + 2
    assert g_test[-1] < 0.2 * g_test[0] and g_losses[-1] < 0.1 * g_losses[0]  # it learns
    for a, b in zip(gm.parameters(), tm.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-8, atol=1e-12)
