"""model.summary(): output shapes by a real forward pass, parameter counts, clean-up."""

import pytest

import glassnet as gn

nn = gn.nn


def _numerical_2():
    return nn.Sequential(nn.Conv2d(3, 10, 3), nn.ReLU(), nn.Conv2d(10, 20, 5, stride=2),
                         nn.ReLU(), nn.Conv2d(20, 40, 5, stride=2), nn.Flatten())


def test_cnn_numerical_2_table(capsys):
    text = _numerical_2().summary((3, 39, 39))
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    rows = [ln for ln in lines if "(Conv2d)" in ln or "(Flatten)" in ln]
    assert "(1, 10, 37, 37)" in rows[0] and rows[0].rstrip().endswith("280")      # 3·3·3·10 + 10
    assert "(1, 20, 17, 17)" in rows[1] and rows[1].rstrip().endswith("5,020")
    assert "(1, 40, 7, 7)" in rows[2] and rows[2].rstrip().endswith("20,040")
    assert "(1, 1960)" in rows[3]
    assert "Total params: 25,340" in text


def test_mlp_and_batch_size_and_quiet(capsys):
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    text = model.summary((784,), batch_size=32, verbose=False)
    assert capsys.readouterr().out == ""
    assert "(32, 128)" in text and "(32, 10)" in text
    assert "Total params: 101,770" in text and "Trainable params: 101,770" in text


def test_rnn_tuple_outputs_and_frozen_params():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(4, 8, batch_first=True)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out[:, -1])

    net = Net()
    net.fc.requires_grad_(False)
    text = net.summary((5, 4), batch_size=3, verbose=False)
    assert "[(3, 5, 8), (1, 3, 8)]" in text
    assert "Non-trainable params: 18" in text


def test_summary_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout2d(0.5))
    model.train()
    model.summary((1, 8, 8), verbose=False)
    assert all(m.training for m in model.modules())
    assert all("forward" not in m.__dict__ for m in model.modules())
    with pytest.raises(ValueError, match="input has 3 channels"):
        model.summary((3, 8, 8), verbose=False)
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert model[1].running_mean.numpy().tolist() == [0.0, 0.0]   # no statistics update


def test_summary_docstring_example_runs():
    import doctest

    import glassnet.nn.summary as S

    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for fn in (S.summary, gn.nn.Module.summary):
        for test in doctest.DocTestFinder(recurse=False).find(fn, "summary",
                                                               globs={"gn": gn, "summary": S.summary}):
            runner.run(test)
    assert runner.tries == 5 and runner.failures == 0
