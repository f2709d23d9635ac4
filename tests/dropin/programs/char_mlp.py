import torch
import torch.nn.functional as F

# A character-level MLP language model in the manner of makemore: embeddings of the last
# three characters, a tanh hidden layer, cross-entropy, manual updates through p.data,
# and sampling with torch.multinomial.

words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail"]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
block_size = 3


def dataset():
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def build():
    g = torch.Generator().manual_seed(2147483647)
    vocab = len(stoi)
    C = torch.randn((vocab, 4), generator=g, dtype=torch.float64)
    W1 = torch.randn((block_size * 4, 32), generator=g, dtype=torch.float64) * 0.2
    b1 = torch.randn(32, generator=g, dtype=torch.float64) * 0.01
    W2 = torch.randn((32, vocab), generator=g, dtype=torch.float64) * 0.01
    b2 = torch.zeros(vocab, dtype=torch.float64)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    return parameters


def forward(parameters, X):
    C, W1, b1, W2, b2 = parameters
    emb = C[X]
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
    return h @ W2 + b2


def train(parameters, steps=150):
    X, Y = dataset()
    losses = []
    for i in range(steps):
        logits = forward(parameters, X)
        loss = F.cross_entropy(logits, Y)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.5 if i < 100 else 0.05
        for p in parameters:
            p.data += -lr * p.grad
        losses.append(loss.item())
    return losses


def sample(parameters, n=5, seed=42):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        context, name = [0] * block_size, []
        while len(name) < 20:
            logits = forward(parameters, torch.tensor([context]))
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            if ix == 0:
                break
            name.append(itos[ix])
        out.append("".join(name))
    return out
