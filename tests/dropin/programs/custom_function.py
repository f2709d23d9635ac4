import torch

# A network with a hand-written ReLU, as in PyTorch's "Defining new autograd Functions" tutorial.


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 16)
        self.fc2 = torch.nn.Linear(16, 1)

    def forward(self, x):
        return self.fc2(MyReLU.apply(self.fc1(x)))


def build():
    return Net().double()


def train(model, x, y, steps=200, lr=0.05):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for t in range(steps):
        y_pred = model(x)
        loss = torch.nn.functional.mse_loss(y_pred, y)
        if t % 50 == 49:
            print(t, f"{loss.item():.6f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def data():
    x = torch.linspace(-1, 1, 64, dtype=torch.float64).reshape(-1, 1)
    x = torch.cat([x, x ** 2, x.sin()], dim=1)
    y = (3 * x[:, :1]).sin() + x[:, 1:2]
    return x, y
