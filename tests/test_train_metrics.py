"""Metrics as functions and by name."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.train import metrics as M


def test_accuracy_class_indices_and_one_hot():
    out = gn.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 0.0]])
    y = gn.tensor([0, 1, 1, 2])
    assert M.accuracy(out, y) == 0.5
    assert M.accuracy(out.numpy(), np.eye(3)[[0, 1, 1, 2]]) == 0.5


def test_accuracy_binary_probabilities_and_logits():
    y = np.array([1, 0, 1, 0])
    assert M.accuracy(np.array([0.9, 0.4, 0.6, 0.7]), y) == 0.75  # probabilities: 0.5
    assert M.accuracy(np.array([[2.0], [-1.0], [0.3], [-0.2]]), y) == 1.0  # logits: 0
    assert M.accuracy(np.array([0.9, 0.4, 0.6, 0.7]), y, threshold=0.65) == 0.5
    assert M.accuracy(np.array([[0.9], [0.1]]), np.array([[1.0], [0.0]])) == 1.0


def test_top_k_accuracy():
    out = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]])
    y = np.array([2, 1, 0])
    assert M.top_k_accuracy(out, y, k=1) == 0.0
    assert M.top_k_accuracy(out, y, k=2) == pytest.approx(2 / 3)
    assert M.top_k_accuracy(out, y, k=3) == 1.0
    with pytest.raises(ValueError, match="1 <= k <= C"):
        M.top_k_accuracy(out, y, k=4)


def test_confusion_matrix():
    out = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 0.0]])
    cm = M.confusion_matrix(out, np.array([0, 1, 1, 2]))
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    assert cm.sum() == 4 and cm.dtype == np.int64
    np.testing.assert_array_equal(M.confusion_matrix(np.array([0, 1]), np.array([0, 0]),
                                                     num_classes=3),
                                  [[1, 1, 0], [0, 0, 0], [0, 0, 0]])


def test_mse_mae():
    assert M.mse(gn.tensor([1.0, 2.0]), gn.tensor([1.0, 4.0])) == 2.0
    assert M.mae(np.array([[1.0], [2.0]]), np.array([1.0, 4.0])) == 1.0  # (N,1) vs (N,)
    with pytest.raises(ValueError, match="different numbers of values"):
        M.mse(np.zeros(3), np.zeros(2))


def test_metrics_by_name():
    assert M.get_metric("acc") == ("accuracy", M.accuracy)
    assert M.get_metric("mean_absolute_error") == ("mae", M.mae)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        M.get_metric("auc")


def test_accuracy_sample_mismatch():
    with pytest.raises(ValueError, match="output has 2 samples but target has 3"):
        M.accuracy(np.zeros((2, 3)), np.zeros(3, np.int64))
