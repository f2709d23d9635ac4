"""Datasets, DataLoader, random_split, collate and transforms."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.data import transforms as T


def _ds(n=23):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n)
    return gn.data.TensorDataset(X, y)


class Plain(gn.data.Dataset):
    """A dataset without get_batch: exercises the per-sample path and default_collate."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(2, i, np.float32), i


def test_tensor_dataset_items_and_len():
    ds = _ds()
    assert len(ds) == 23
    x, y = ds[4]
    assert isinstance(x, gn.Tensor) and x.tolist() == [12.0, 13.0, 14.0] and y.item() == 4
    assert ds[-1][1].item() == 22
    with pytest.raises(IndexError, match="out of range for 23 samples"):
        ds[23]


def test_tensor_dataset_checks_first_dims():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\), \(4,\)"):
        gn.data.TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        gn.data.TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        gn.data.TensorDataset(np.zeros(3), np.float32(1))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size, drop_last", [(5, False), (5, True), (23, False), (50, False)])
def test_every_sample_once_per_epoch(shuffle, batch_size, drop_last):
    ds = _ds()
    loader = gn.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                                seed=1)
    for _ in range(2):
        seen = []
        sizes = []
        for xb, yb in loader:
            assert isinstance(xb, gn.Tensor) and isinstance(yb, gn.Tensor)
            np.testing.assert_array_equal(xb.data[:, 0], yb.data * 3)  # rows stay paired
            seen.extend(yb.tolist())
            sizes.append(len(yb))
        assert len(sizes) == len(loader)
        if drop_last:
            assert all(s == batch_size for s in sizes)
            assert len(seen) == 23 // batch_size * batch_size and len(set(seen)) == len(seen)
        else:
            assert sorted(seen) == list(range(23))
            assert sum(sizes) == 23
        if not shuffle:
            assert seen == sorted(seen)
        elif not drop_last:
            assert seen != sorted(seen)


def test_len_of_loader():
    assert len(gn.data.DataLoader(_ds(23), batch_size=5)) == 5
    assert len(gn.data.DataLoader(_ds(23), batch_size=5, drop_last=True)) == 4
    assert len(gn.data.DataLoader(_ds(20), batch_size=5, drop_last=True)) == 4


def _orders(loader, epochs=3):
    return [np.concatenate([yb.data for _, yb in loader]).tolist() for _ in range(epochs)]


def test_seeded_shuffles_repeat_and_differ_between_epochs():
    a = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True, seed=7))
    b = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True, seed=7))
    c = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True, seed=8))
    assert a == b
    assert a != c
    assert a[0] != a[1]  # a fresh order every epoch


def test_global_seed_controls_default_shuffle():
    gn.manual_seed(3)
    a = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True))
    gn.manual_seed(3)
    b = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True))
    gn.manual_seed(4)
    c = _orders(gn.data.DataLoader(_ds(), batch_size=4, shuffle=True))
    assert a == b and a != c


def test_generator_argument_and_state_dict():
    loader = gn.data.DataLoader(_ds(), batch_size=4, shuffle=True,
                                generator=np.random.default_rng(5))
    state = loader.state_dict()
    first = _orders(loader, 1)
    loader.load_state_dict(state)
    assert _orders(loader, 1) == first
    with pytest.raises(ValueError, match="not both"):
        gn.data.DataLoader(_ds(), shuffle=True, seed=1, generator=np.random.default_rng(1))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        gn.data.DataLoader(_ds(), shuffle=True, generator=5)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        gn.data.DataLoader(_ds(), batch_size=bad)


def test_slow_path_matches_fast_path():
    plain = Plain(11)
    loader = gn.data.DataLoader(plain, batch_size=4, shuffle=True, seed=2)
    xs, ys = zip(*loader)
    assert [len(y) for y in ys] == [4, 4, 3]
    assert sorted(np.concatenate([y.data for y in ys]).tolist()) == list(range(11))
    assert ys[0].dtype == np.int64 and xs[0].dtype == np.float32 and xs[0].shape == (4, 2)
    X = np.repeat(np.arange(11, dtype=np.float32)[:, None], 2, 1)
    fast = gn.data.DataLoader(gn.data.TensorDataset(X, np.arange(11)), batch_size=4, shuffle=True,
                              seed=2)
    loader = gn.data.DataLoader(plain, batch_size=4, shuffle=True, seed=2)
    for (xa, ya), (xb, yb) in zip(loader, fast):
        np.testing.assert_array_equal(xa.data, xb.data)
        np.testing.assert_array_equal(ya.data, yb.data)


def test_default_collate_kinds():
    c = gn.data.default_collate
    out = c([{"x": np.ones(2), "name": "a", "w": 0.5}, {"x": np.zeros(2), "name": "b", "w": 1.5}])
    assert out["x"].shape == (2, 2) and out["name"] == ["a", "b"]
    assert out["w"].dtype == np.float32 and out["w"].tolist() == [0.5, 1.5]
    assert c([True, False]).dtype == np.bool_
    assert c([[1, 2], [3, 4]])[0].tolist() == [1, 3]
    with pytest.raises(ValueError, match="different shapes"):
        c([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="collate_fn"):
        c([object()])


def test_custom_collate_fn():
    loader = gn.data.DataLoader(_ds(6), batch_size=4, collate_fn=lambda s: len(s))
    assert list(loader) == [4, 2]


def test_random_split_counts_and_fractions():
    ds = _ds(10)
    a, b = gn.data.random_split(ds, [7, 3], seed=0)
    assert len(a) == 7 and len(b) == 3
    ids = sorted([a[i][1].item() for i in range(7)] + [b[i][1].item() for i in range(3)])
    assert ids == list(range(10))
    parts = gn.data.random_split(ds, [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = gn.data.random_split(_ds(11), [0.5, 0.5], seed=0)
    assert [len(p) for p in parts] == [6, 5]
    again = gn.data.random_split(ds, [7, 3], seed=0)
    assert a.indices.tolist() == again[0].indices.tolist()
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        gn.data.random_split(ds, [6, 3])
    with pytest.raises(ValueError, match="expected 1"):
        gn.data.random_split(ds, [0.5, 0.2])


def test_subset_keeps_fast_path():
    ds = _ds(10)
    sub = gn.data.Subset(ds, [9, 2, 4])
    assert hasattr(sub, "get_batch")
    assert not hasattr(gn.data.Subset(Plain(3), [0]), "get_batch")
    _, yb = next(iter(gn.data.DataLoader(sub, batch_size=3)))
    assert yb.tolist() == [9, 2, 4]


def test_concat_dataset():
    cat = _ds(3) + _ds(2)
    assert len(cat) == 5 and cat[3][1].item() == 0 and cat[-1][1].item() == 1


def test_transforms_sample_and_batch_agree():
    X = np.random.default_rng(0).integers(0, 17, (6, 2, 3, 3)).astype(np.uint8)
    y = np.arange(6) % 4
    tf = T.Compose([T.ToTensor(scale=16), T.Normalize([0.5, 0.25], [0.5, 2.0]), T.Flatten()])
    ds = gn.data.TensorDataset(X, y, transform=tf, target_transform=T.OneHot(4))
    x0, y0 = ds[1]
    want = ((X[1] / 16 - np.array([0.5, 0.25])[:, None, None]) / np.array([0.5, 2.0])[:, None, None])
    np.testing.assert_allclose(x0.data, want.reshape(-1), rtol=1e-6)
    assert y0.tolist() == [0, 1, 0, 0]
    xb, yb = next(iter(gn.data.DataLoader(ds, batch_size=6)))
    assert xb.shape == (6, 18) and yb.shape == (6, 4)
    for i in range(6):
        np.testing.assert_allclose(xb.data[i], ds[i][0].data, rtol=1e-6)
        np.testing.assert_array_equal(yb.data[i], ds[i][1].data)


def test_plain_callable_transform_works_batched():
    ds = gn.data.TensorDataset(np.arange(4.0), transform=lambda v: v * 10)
    (xb,) = next(iter(gn.data.DataLoader(ds, batch_size=4)))
    assert xb.tolist() == [0.0, 10.0, 20.0, 30.0]


def test_transform_errors():
    with pytest.raises(ValueError, match="std must be non-zero"):
        T.Normalize(0.0, 0.0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        T.OneHot(3)(np.array([0, 3]))
    with pytest.raises(ValueError, match="3 channel values"):
        T.Normalize([0, 0, 0], [1, 1, 1])(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="no second tensor"):
        gn.data.TensorDataset(np.zeros(3), target_transform=T.OneHot(2))
