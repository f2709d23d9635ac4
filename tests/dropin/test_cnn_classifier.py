"""A CNN classifier in the style of PyTorch's MNIST example, written once and run twice:
with ``import torch`` and with ``import glassnet as torch`` (the import lines are the only
difference). Given the same initial weights and no dropout, every loss matches PyTorch's to
float32 rounding; with dropout, both train to comparable losses."""

from __future__ import annotations

import re

import numpy as np
import pytest

# The program. Only IMPORTS changes between the two runs.
PROGRAM = '''
{imports}


class Net(nn.Module):
    def __init__(self, p1=0.25, p2=0.5):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(p1)
        self.dropout2 = nn.Dropout(p2)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(log_interval, model, device, train_loader, optimizer, epoch, log):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % log_interval == 0:
            log.append("Train Epoch: {{}} [{{}}/{{}} ({{:.0f}}%)]\\tLoss: {{:.6f}}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            log.append(f"loss {{loss:.4f}} = {{loss.item():.4f}}, batch {{tuple(data.size())}}")
    return losses


def test(model, device, test_loader, log):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    log.append('Test set: Average loss: {{:.4f}}, Accuracy: {{}}/{{}} ({{:.0f}}%)'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct


def main(images, labels, weights=None, dropout=(0.25, 0.5), epochs=3, lr=1e-3, seed=1):
    torch.manual_seed(seed)
    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    if use_cuda:
        device = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
    elif use_mps:
        device = torch.device("mps")
    else:
        device = torch.device("cpu")

    train_kwargs = {{'batch_size': 32}}
    test_kwargs = {{'batch_size': 100}}
    if use_cuda:
        cuda_kwargs = {{'num_workers': 1, 'pin_memory': True, 'shuffle': True}}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    x = torch.tensor(images, dtype=torch.float32, device=device)
    y = torch.tensor(labels, dtype=torch.long, device=device)
    dataset = TensorDataset(x, y)
    n_train = 320
    train_set = Subset(dataset, range(n_train))
    test_set = Subset(dataset, range(n_train, len(dataset)))
    train_loader = DataLoader(train_set, **train_kwargs)
    test_loader = DataLoader(test_set, **test_kwargs)

    model = Net(*dropout).to(device)
    if weights is not None:
        model.load_state_dict(weights)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    log, losses, tests = [], [], []
    for epoch in range(1, epochs + 1):
        losses += train(4, model, device, train_loader, optimizer, epoch, log)
        tests.append(test(model, device, test_loader, log))
        scheduler.step()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    reloaded = Net(*dropout).to(device)
    reloaded.load_state_dict(torch.load(buffer, map_location=device, weights_only=True))
    log.append("lr now {{:.6f}}".format(scheduler.get_last_lr()[0]))
    return {{"losses": losses, "tests": tests, "log": log,
             "reloaded": test(reloaded, device, test_loader, [])}}
'''

TORCH_IMPORTS = """import io

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Subset, TensorDataset"""


def glassnet_imports(imports: str) -> str:
    """The same import lines with glassnet in place of torch."""
    return imports.replace("import torch\n", "import glassnet as torch\n").replace(
        "torch.", "glassnet.")


def _program(imports: str, name: str) -> dict:
    """The program's names (Net, train, test, main) with the given import lines."""
    namespace = {"__name__": f"dropin_cnn_{name}"}
    code = compile(PROGRAM.format(imports=imports), f"<cnn classifier, {name}>", "exec")
    exec(code, namespace)  # noqa: S102 - the test's own program text
    return namespace


def _run(imports: str, name: str, **kwargs):
    return _program(imports, name)["main"](**kwargs)


def _data(n=420, seed=0):
    """Ten classes of 12×12 images: a fixed random pattern per class plus noise."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(size=(10, 1, 12, 12)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = patterns[labels] + 0.5 * rng.normal(size=(n, 1, 12, 12)).astype(np.float32)
    return images.astype(np.float32), labels.astype(np.int64)


@pytest.fixture
def torch32(torch):
    """PyTorch as a program sees it: float32 by default (the test suite sets float64)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield torch
    torch.set_default_dtype(previous)


def test_only_the_import_lines_differ():
    ours = glassnet_imports(TORCH_IMPORTS)
    assert ours.splitlines()[2:] == [
        "import glassnet as torch", "import glassnet.nn as nn", "import glassnet.nn.functional as F",
        "import glassnet.optim as optim", "from glassnet.optim.lr_scheduler import StepLR",
        "from glassnet.utils.data import DataLoader, Subset, TensorDataset"]


def test_same_weights_give_pytorchs_losses(torch32):
    torch = torch32
    images, labels = _data()
    torch.manual_seed(0)
    start = {k: v.detach().numpy().copy() for k, v in _initial_model(torch).items()}
    import glassnet as gn

    theirs = _run(TORCH_IMPORTS, "torch", images=images, labels=labels, dropout=(0.0, 0.0),
                  weights={k: torch.tensor(v) for k, v in start.items()})
    ours = _run(glassnet_imports(TORCH_IMPORTS), "glassnet", images=images, labels=labels,
                dropout=(0.0, 0.0), weights={k: gn.tensor(v) for k, v in start.items()})
    assert len(ours["losses"]) == len(theirs["losses"]) == 3 * 10
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-4, atol=1e-5)
    for (loss, correct), (tloss, tcorrect) in zip(ours["tests"], theirs["tests"]):
        assert correct == tcorrect
        assert loss == pytest.approx(tloss, rel=2e-4)
    assert ours["reloaded"] == ours["tests"][-1] and theirs["reloaded"] == theirs["tests"][-1]
    # the printed lines: the same text, numbers equal to the printed rounding (a last digit
    # may differ where float32 rounding falls on the other side)
    assert len(ours["log"]) == len(theirs["log"])
    number = re.compile(r"-?\d+\.\d+|\d+")
    for line, tline in zip(ours["log"], theirs["log"]):
        assert number.sub("#", line) == number.sub("#", tline)
        np.testing.assert_allclose([float(v) for v in number.findall(line)],
                                   [float(v) for v in number.findall(tline)], rtol=1e-3, atol=2e-4)
    assert ours["log"][-1] == theirs["log"][-1] == "lr now 0.000343"
    assert "batch (32, 1, 12, 12)" in ours["log"][1]


def _initial_model(torch):
    """PyTorch's initialisation of the program's Net (the weights both runs start from)."""
    return _program(TORCH_IMPORTS, "init")["Net"]().state_dict()


def test_with_dropout_both_train_to_comparable_losses(torch32):
    images, labels = _data()
    theirs = _run(TORCH_IMPORTS, "torch", images=images, labels=labels, epochs=4, lr=1e-2)
    ours = _run(glassnet_imports(TORCH_IMPORTS), "glassnet", images=images, labels=labels,
                epochs=4, lr=1e-2)
    for run in (ours, theirs):  # the dropout masks differ, so the numbers do too
        first, last = np.mean(run["losses"][:5]), np.mean(run["losses"][-10:])
        assert first > 2.0 and last < 0.5 * first
        test_loss, correct = run["tests"][-1]
        assert test_loss < 0.5 and correct >= 90  # of 100 test images
