"""A character-level language model on the built-in fables, trained with truncated BPTT.

    python examples/char_lm.py [--epochs 12] [--seq-len 32]

Many-to-many while training: at every step the model predicts the next
character. The text is cut into 32 parallel streams; each training chunk
continues where the previous one stopped, and the LSTM's state is carried
over with ``detach()`` — the values flow on, but backpropagation through time
stops at the chunk boundary (truncated BPTT). Then one-to-many: from a short
prompt the model writes new text one character at a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn


class CharLM(nn.Module):
    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 192):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)  # out: (N, T, hidden)
        return self.head(out), state                    # scores for the next character


def streams(ids: np.ndarray, n_streams: int) -> np.ndarray:
    """The text as ``n_streams`` rows, each a contiguous piece: (n_streams, length)."""
    length = len(ids) // n_streams
    return ids[:length * n_streams].reshape(n_streams, length)


def generate(model, vocab, prompt: str, n: int, temperature: float = 0.7, seed: int = 0) -> str:
    """One-to-many: feed the prompt, then sample one character at a time."""
    rng = np.random.default_rng(seed)
    model.eval()
    out = list(prompt)
    with gn.no_grad():
        logits, state = model(gn.tensor(vocab.encode(prompt)[None]))
        for _ in range(n):
            z = logits.numpy()[0, -1] / temperature
            p = np.exp(z - z.max())
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(vocab.chars[c])
            logits, state = model(gn.tensor([[c]]), state)
    return "".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seq-len", type=int, default=32, help="steps per truncated-BPTT chunk")
    p.add_argument("--streams", type=int, default=32)
    args = p.parse_args()

    gn.manual_seed(0)
    text = gn.data.load_text()
    vocab = gn.data.CharVocab(text)
    data = streams(vocab.encode(text), args.streams)
    print(f"text: {len(text)} characters, vocabulary {len(vocab)}; {args.streams} streams of "
          f"{data.shape[1]}, chunks of {args.seq_len} steps")
    model = CharLM(len(vocab))
    opt = gn.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.CrossEntropyLoss()

    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        state, total, n = None, 0.0, 0
        # each chunk needs seq_len inputs and, one step ahead, seq_len targets
        for start in range(0, data.shape[1] - args.seq_len, args.seq_len):
            x = gn.tensor(data[:, start:start + args.seq_len])
            y = gn.tensor(data[:, start + 1:start + 1 + args.seq_len])
            if state is not None:  # truncated BPTT: keep the values, cut the graph
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            gn.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item()
            n += 1
        print(f"epoch {epoch:2d}  loss {total / n:.3f} nats/char  ({time.time() - t0:.1f} s)")
        if epoch in (1, args.epochs):
            print("  sample:", repr(generate(model, vocab, "The fox ", 80)))
    print("result: generated text\n" + generate(model, vocab, "The lion ", 300, seed=1))


if __name__ == "__main__":
    main()
