"""Built-in data: digits, text, 2-D toy sets, synthetic series and windows."""

import numpy as np
import pytest

import glassnet as gn


def test_load_digits_shapes_and_values():
    X, y = gn.data.load_digits()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.all(np.isin(X * 16, np.arange(17)))  # counts 0..16 scaled by 1/16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))
    Xf, _ = gn.data.load_digits(as_images=False)
    assert Xf.shape == (1797, 64)
    np.testing.assert_array_equal(Xf[5], X[5].reshape(-1))
    X[0, 0, 0] = 7  # the caller's copy: the next load is unaffected
    assert gn.data.load_digits()[0][0, 0, 0] == 0


def test_digits_look_like_digits():
    # the mean image of each class differs from the others: a nearest-mean classifier is far
    # better than chance on real digits (about 90 %) and at chance on noise
    X, y = gn.data.load_digits(as_images=False)
    means = np.stack([X[y == c].mean(0) for c in range(10)])
    pred = np.argmin(((X[:, None] - means[None]) ** 2).sum(-1), 1)
    assert (pred == y).mean() > 0.85


def test_digits_split_stratified_and_seeded():
    Xtr, ytr, Xte, yte = gn.data.digits_split(0.2, seed=0)
    assert len(Xtr) == 1437 and len(Xte) == 360
    assert Xtr.shape[1:] == (8, 8)
    counts = np.bincount(yte, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38
    again = gn.data.digits_split(0.2, seed=0)
    np.testing.assert_array_equal(again[1], ytr)
    other = gn.data.digits_split(0.2, seed=1)
    assert not np.array_equal(other[1], ytr)
    # train and test are disjoint and together are the whole set
    allX = np.concatenate([Xtr, Xte]).reshape(1797, -1)
    assert len(np.unique(allX, axis=0)) == len(np.unique(gn.data.load_digits()[0].reshape(1797, -1),
                                                         axis=0))
    assert len(gn.data.digits_split(100, seed=0)[3]) == 100
    with pytest.raises(ValueError, match="test_size must be a fraction"):
        gn.data.digits_split(1.5)


def test_load_text_and_vocab():
    text = gn.data.load_text()
    assert 20_000 < len(text) < 60_000 and text.startswith("OLD FABLES")
    v = gn.data.CharVocab(text)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.max() == len(v) - 1
    assert v.decode(ids) == text
    assert gn.data.CharVocab("hello").encode("hell").tolist() == [1, 0, 2, 2]
    assert gn.data.CharVocab(["b", "a"]).decode(gn.tensor([1, 0])) == "ab"
    with pytest.raises(ValueError, match="'z' at position 1 is not in the vocabulary"):
        gn.data.CharVocab("abc").encode("azb")
    with pytest.raises(ValueError, match="ids must be in"):
        gn.data.CharVocab("abc").decode([3])
    with pytest.raises(ValueError, match="unknown text 'nope'"):
        gn.data.load_text("nope")


def test_char_windows():
    X, Y = gn.data.char_windows(np.arange(7), 3)
    assert X.tolist() == [[0, 1, 2], [3, 4, 5]] and Y.tolist() == [[1, 2, 3], [4, 5, 6]]
    X, Y = gn.data.char_windows(np.arange(7), 3, step=1)
    assert len(X) == 4
    with pytest.raises(ValueError, match="at least seq_len"):
        gn.data.char_windows(np.arange(3), 3)


TOYS = [gn.data.make_xor, gn.data.make_moons, gn.data.make_circles, gn.data.make_spirals,
        gn.data.make_blobs]


@pytest.mark.parametrize("make", TOYS, ids=lambda f: f.__name__)
def test_toy_sets_shapes_and_determinism(make):
    X, y = make(101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    X2, y2 = make(101, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make(101, seed=4)
    assert not np.array_equal(X, X3)
    gn.manual_seed(11)
    a = make(50)[0]
    gn.manual_seed(11)
    np.testing.assert_array_equal(a, make(50)[0])


def test_toy_geometry():
    X, y = gn.data.make_xor(4, noise=0.0, shuffle=False)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    X, y = gn.data.make_circles(200, factor=0.3, seed=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1, rtol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-6)
    X, y = gn.data.make_moons(100, seed=0)
    assert np.bincount(y).tolist() == [50, 50]
    X, y = gn.data.make_spirals(300, n_classes=3, seed=0)
    assert np.bincount(y).tolist() == [100, 100, 100] and np.abs(X).max() <= 1.0 + 1e-6
    X, y = gn.data.make_blobs(90, centers=[[0, 0], [10, 10], [-10, 5]], cluster_std=0.1, seed=0)
    np.testing.assert_allclose(X[y == 1].mean(0), [10, 10], atol=0.1)


@pytest.mark.parametrize("call, msg", [
    (lambda: gn.data.make_moons(0), "n_samples must be an integer >= 2"),
    (lambda: gn.data.make_xor(10, noise=-1), "noise must be a non-negative"),
    (lambda: gn.data.make_circles(10, factor=1.5), r"factor must be in \[0, 1\)"),
    (lambda: gn.data.make_spirals(10, n_classes=1), "n_classes must be an integer >= 2"),
    (lambda: gn.data.make_blobs(10, centers=np.zeros((2, 3))), r"centers must have shape \(k, 2\)"),
])
def test_toy_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


def test_series_and_windows():
    s = gn.data.noisy_series(500, seed=0)
    assert s.shape == (500,) and s.dtype == np.float32
    np.testing.assert_array_equal(s, gn.data.noisy_series(500, seed=0))
    assert not np.array_equal(s, gn.data.noisy_series(500, seed=1))
    assert s[-50:].mean() > s[:50].mean()  # the upward trend is there (0.02 per step)
    X, y = gn.data.make_windows(s, window=30, horizon=2)
    assert X.shape == (469, 30, 1) and y.shape == (469, 2) and X.dtype == np.float32
    np.testing.assert_array_equal(X[10, :, 0], s[10:40])
    np.testing.assert_array_equal(y[10], s[40:42])
    waves = gn.data.sine_waves(4, 20, seed=0)
    assert waves.shape == (4, 20) and np.abs(waves).max() <= 1.5
    Xw, yw = gn.data.make_windows(waves, 5)
    assert Xw.shape == (4 * 15, 5, 1) and yw[15, 0] == waves[1, 5]
    with pytest.raises(ValueError, match=r"window \(30\) \+ horizon \(1\) is longer"):
        gn.data.make_windows(np.zeros(20), 30)
    with pytest.raises(ValueError, match="series must be 1-d"):
        gn.data.make_windows(np.zeros((2, 2, 2)), 1)


def test_a_missing_built_in_file_is_named(monkeypatch):
    from glassnet.data import text

    monkeypatch.setitem(text.TEXTS, "lost", ("lost.txt", "a text that is not shipped"))
    with pytest.raises(FileNotFoundError, match=r"load_text: the built-in file .*lost\.txt is missing"):
        gn.data.load_text("lost")
