"""``gn.utils.data`` as ``torch.utils.data``: the same names, arguments and batches; samplers;
the DataLoader knobs PyTorch programs pass; num_workers runs in the main process."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


def _one_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_utils_data_reexports_gn_data():
    for name in ("Dataset", "DataLoader", "TensorDataset", "Subset", "ConcatDataset", "random_split",
                 "IterableDataset", "RandomSampler", "SequentialSampler", "BatchSampler",
                 "SubsetRandomSampler", "WeightedRandomSampler", "default_collate"):
        assert getattr(gn.utils.data, name) is getattr(gn.data, name)
    assert gn.utils.data.DistributedSampler is gn.distributed.DistributedSampler
    assert gn.utils.data.get_worker_info() is None


def _xy(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return X, np.arange(n)


def test_loader_batches_match_torch_in_order(torch):
    X, y = _xy()
    ours = DataLoader(TensorDataset(gn.tensor(X), gn.tensor(y)), batch_size=4, shuffle=False,
                      num_workers=2, pin_memory=True, persistent_workers=False, timeout=0,
                      prefetch_factor=None, worker_init_fn=None)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=4)
    assert len(ours) == len(theirs) == 3
    for (xb, yb), (txb, tyb) in zip(ours, theirs):
        np.testing.assert_array_equal(xb.data, txb.numpy())
        np.testing.assert_array_equal(yb.data, tyb.numpy())
    assert len(ours.dataset) == 10 and ours.num_workers == 2


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, i * i], np.float32), i % 2


def test_samplers_give_torchs_orders_and_lengths(torch):
    data = list(range(7))
    assert list(SequentialSampler(data)) == list(torch.utils.data.SequentialSampler(data))
    for drop_last in (False, True):
        assert list(BatchSampler(range(7), 3, drop_last)) == \
            list(torch.utils.data.BatchSampler(range(7), 3, drop_last))
        assert len(BatchSampler(range(7), 3, drop_last)) == \
            len(torch.utils.data.BatchSampler(range(7), 3, drop_last))
    g = gn.Generator().manual_seed(0)
    order = list(RandomSampler(data, generator=g))
    assert sorted(order) == data and len(RandomSampler(data)) == 7
    long = list(RandomSampler(data, num_samples=10, generator=g))
    assert len(long) == 10 and sorted(long[:7]) == data
    drawn = list(RandomSampler(data, replacement=True, num_samples=50, generator=g))
    assert len(drawn) == 50 and set(drawn) <= set(data)
    sub = list(SubsetRandomSampler([5, 1, 3], generator=g))
    assert sorted(sub) == [1, 3, 5]
    w = list(WeightedRandomSampler([0.0, 1.0, 0.0, 1.0], 20, generator=g))
    assert len(w) == 20 and set(w) <= {1, 3}
    gn.manual_seed(4)
    a = list(RandomSampler(data))
    gn.manual_seed(4)
    assert list(RandomSampler(data)) == a  # without a generator: the global one, seeded
    _one_line(lambda: RandomSampler(data, num_samples=0), ValueError,
              r"RandomSampler: num_samples must be a positive integer, got 0")
    _one_line(lambda: BatchSampler(data, 0, False), ValueError,
              r"BatchSampler: batch_size must be a positive integer, got 0")
    _one_line(lambda: RandomSampler(data, generator=1), TypeError,
              r"RandomSampler: generator must be a gn.Generator")
    _one_line(lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), ValueError,
              r"cannot draw 2 samples without replacement from 1")


def test_loader_takes_sampler_and_batch_sampler(torch):
    ds = Squares(10)
    sampler = SubsetRandomSampler([0, 2, 4, 6], generator=gn.Generator().manual_seed(1))
    batches = list(DataLoader(ds, batch_size=3, sampler=sampler))
    assert [len(b[1]) for b in batches] == [3, 1]
    assert sorted(int(v) for b in batches for v in b[1].data) == [0, 0, 0, 0]
    bs = BatchSampler(SequentialSampler(ds), batch_size=4, drop_last=True)
    ours = list(DataLoader(ds, batch_sampler=bs))
    theirs = list(torch.utils.data.DataLoader(ds, batch_sampler=torch.utils.data.BatchSampler(
        torch.utils.data.SequentialSampler(ds), 4, True)))
    assert len(ours) == len(theirs) == len(DataLoader(ds, batch_sampler=bs)) == 2
    for (x, c), (tx, tc) in zip(ours, theirs):
        np.testing.assert_array_equal(x.data, tx.numpy())
        np.testing.assert_array_equal(c.data, tc.numpy())
    for kwargs in ({"batch_size": 2}, {"shuffle": True}, {"sampler": range(3)}, {"drop_last": True}):
        _one_line(lambda kw=kwargs: DataLoader(ds, batch_sampler=bs, **kw), ValueError,
                  r"batch_sampler option is mutually exclusive with batch_size, shuffle")
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(ds, batch_sampler=bs, **kwargs)


def test_loader_shuffles_from_a_generator():
    X, y = _xy(20)
    ds = TensorDataset(X, y)
    a = [b[1].tolist() for b in DataLoader(ds, 5, True, generator=gn.Generator().manual_seed(3))]
    b = [b[1].tolist() for b in DataLoader(ds, 5, True, generator=gn.Generator().manual_seed(3))]
    flat = [i for batch in a for i in batch]
    assert a == b and sorted(flat) == list(range(20)) and flat != list(range(20))


def test_batch_size_none_yields_samples(torch):
    ds = Squares(3)
    ours = list(DataLoader(ds, batch_size=None))
    theirs = list(torch.utils.data.DataLoader(ds, batch_size=None))
    assert len(ours) == len(theirs) == 3 == len(DataLoader(ds, batch_size=None))
    for (x, c), (tx, tc) in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(x), tx.numpy())
        assert int(c) == int(tc)
    _one_line(lambda: DataLoader(ds, batch_size=None, drop_last=True), ValueError,
              r"batch_size=None option disables auto-batching")


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.float32(i), i


def test_iterable_dataset_is_batched_in_order(torch):
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(7):
                yield np.float32(i), i

    for drop_last in (False, True):
        ours = [(x.tolist(), y.tolist()) for x, y in DataLoader(Stream(7), 3, drop_last=drop_last,
                                                                 num_workers=3)]
        theirs = [(x.tolist(), y.tolist()) for x, y in
                  torch.utils.data.DataLoader(TorchStream(), 3, drop_last=drop_last)]
        assert ours == theirs
    _one_line(lambda: DataLoader(Stream(3), 2, shuffle=True), ValueError,
              r"an IterableDataset gives its own order")
    _one_line(lambda: len(DataLoader(Stream(3), 2)), TypeError, r"this Stream has no length")
    _one_line(lambda: Stream(3)[0], TypeError, r"Stream is an IterableDataset")


def test_random_split_takes_fractions_and_a_generator_as_torch(torch):
    ds = TensorDataset(*_xy(10))
    for lengths in ([0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [7, 3], [0.25, 0.75]):
        ours = random_split(ds, lengths, generator=gn.Generator().manual_seed(42))
        theirs = torch.utils.data.random_split(range(10), lengths,
                                               generator=torch.Generator().manual_seed(42))
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert all(isinstance(s, Subset) for s in ours)
        assert sorted(int(i) for s in ours for i in s.indices) == list(range(10))
    a = random_split(ds, [5, 5], generator=gn.Generator().manual_seed(1))
    b = random_split(ds, [5, 5], generator=gn.Generator().manual_seed(1))
    assert a[0].indices.tolist() == b[0].indices.tolist()
    _, yb = next(iter(DataLoader(a[0], batch_size=5)))
    assert sorted(yb.tolist()) == sorted(a[0].indices.tolist())
    _one_line(lambda: random_split(ds, [5, 5], generator="x"), TypeError,
              r"random_split: generator must be a gn.Generator or a numpy.random.Generator")


def test_concat_and_subset_as_torch(torch):
    a, b = Squares(3), Squares(2)
    ours, theirs = ConcatDataset([a, b]), torch.utils.data.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 5
    assert [ours[i][1] for i in range(5)] == [theirs[i][1] for i in range(5)]
    assert len(a + b) == 5
    sub, tsub = Subset(a, [2, 0]), torch.utils.data.Subset(a, [2, 0])
    assert [sub[i][1] for i in range(2)] == [tsub[i][1] for i in range(2)]
