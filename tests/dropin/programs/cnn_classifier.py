# ruff: noqa: PLR0402, UP008, UP032 - written as PyTorch's examples are (import torch.nn as nn, super(Net, self), str.format)
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Subset, TensorDataset

# A CNN classifier in the manner of PyTorch's MNIST example: two convolutions, max pooling,
# dropout, two linear layers, log_softmax and nll_loss; Adadelta with StepLR; the device
# chosen from what is available; TensorDataset and DataLoader; the state dict saved to and
# read back from memory with torch.save/torch.load.


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
            log.append("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            log.append(f"loss {loss:.4f} = {loss.item():.4f}, batch {tuple(data.size())}")
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
    log.append('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct


def main(images, labels, weights=None, dropout=(0.25, 0.5), epochs=3, lr=1.0, seed=1):
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

    train_kwargs = {'batch_size': 32}
    test_kwargs = {'batch_size': 100}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}
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
    optimizer = optim.Adadelta(model.parameters(), lr=lr)
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
    log.append("lr now {:.6f}".format(scheduler.get_last_lr()[0]))
    return {"losses": losses, "tests": tests, "log": log,
             "reloaded": test(reloaded, device, test_loader, [])}
