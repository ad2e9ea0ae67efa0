"""Data sets and preparation helpers (haibal_py/numeric/datasets.py): the shipped digits, the
scikit-learn loaders (wired to a stand-in module; without scikit-learn the error names the
extra), splits, shuffling, normalisation, one-hot, batches, and their errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from haibal_py import datasets
from haibal_py.datasets import DatasetError

ROOT = Path(__file__).resolve().parent.parent


def test_digits_are_shipped_and_load_without_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # importing it would fail
    x, y = datasets.load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.array_equal(x, np.round(x))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    images, y2 = datasets.load_digits(images=True)
    assert images.shape == (1797, 8, 8) and np.array_equal(images.reshape(1797, 64), x) and np.array_equal(y, y2)
    assert datasets.digits_path() == ROOT / "examples" / "data" / "digits.npz"
    # the first image is scikit-learn's well-known 0
    assert y[0] == 0 and images[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]


def test_digits_from_another_file_and_errors(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.arange(2 * 64, dtype=np.uint8).reshape(2, 8, 8) % 17, target=np.array([3, 4]))
    monkeypatch.setenv("HAIBAL_DIGITS", str(path))
    x, y = datasets.load_digits()
    assert x.shape == (2, 64) and y.tolist() == [3, 4]
    np.savez(tmp_path / "bad.npz", pixels=np.zeros(3))
    with pytest.raises(DatasetError, match="not a digits.npz"):
        datasets.load_digits(path=tmp_path / "bad.npz")
    with pytest.raises(DatasetError, match="no digits file"):
        datasets.load_digits(path=tmp_path / "missing.npz")


def _fake_sklearn(monkeypatch):
    module = types.ModuleType("sklearn")
    sub = types.ModuleType("sklearn.datasets")
    calls = []

    def loader(name, n, d):
        def load(return_X_y=False):
            calls.append((name, return_X_y))
            return np.arange(n * d, dtype=np.float64).reshape(n, d), np.arange(n) % 3
        return load

    sub.load_iris = loader("iris", 150, 4)
    sub.load_wine = loader("wine", 178, 13)
    sub.load_breast_cancer = loader("breast_cancer", 569, 30)
    module.datasets = sub
    monkeypatch.setitem(sys.modules, "sklearn", module)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", sub)
    return calls


@pytest.mark.parametrize("name,shape", [("iris", (150, 4)), ("wine", (178, 13)), ("breast_cancer", (569, 30))])
def test_scikit_learn_loaders(monkeypatch, name, shape):
    calls = _fake_sklearn(monkeypatch)
    x, y = datasets.load(name)
    assert x.shape == shape and x.dtype == np.float32 and y.dtype == np.int64
    assert calls == [(name, True)]


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(DatasetError, match="install the optional 'datasets' extra"):
        datasets.load_iris()
    with pytest.raises(DatasetError, match="unknown data set 'mnist'; known: digits, iris"):
        datasets.load("mnist")


def test_shuffle_is_seeded_and_keeps_pairs():
    x, y = np.arange(10) * 10, np.arange(10)
    a, b = datasets.shuffle(x, y, seed=3)
    assert np.array_equal(a, b * 10) and not np.array_equal(b, np.arange(10))
    a2, _ = datasets.shuffle(x, y, seed=3)
    assert np.array_equal(a, a2)
    assert sorted(datasets.shuffle(x, seed=4).tolist()) == x.tolist()
    with pytest.raises(DatasetError, match="different numbers of samples: \\[10, 9\\]"):
        datasets.shuffle(x, y[:9])


def test_train_test_split():
    x, y = np.arange(20)[:, None] * 1.0, np.arange(20)
    x_tr, x_te, y_tr, y_te = datasets.train_test_split(x, y, test_size=0.25, seed=0)
    assert len(x_te) == 5 and len(x_tr) == 15 and np.array_equal(x_tr[:, 0], y_tr)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    _, x_te2, _, _ = datasets.train_test_split(x, y, test_size=0.25, seed=0)
    assert np.array_equal(x_te, x_te2)
    tr, te, = datasets.train_test_split(y, test_size=3, shuffle=False)  # as scikit-learn: the test part last
    assert tr.tolist() == list(range(17)) and te.tolist() == [17, 18, 19]
    (tr,), (va,), (te,) = datasets.train_val_test_split(y, validation_size=2, test_size=3, shuffle=False)
    assert tr.tolist() == list(range(15)) and va.tolist() == [15, 16] and te.tolist() == [17, 18, 19]
    with pytest.raises(DatasetError, match="test_size must be a fraction"):
        datasets.train_test_split(y, test_size=1.5)
    with pytest.raises(DatasetError, match="leaves nothing"):
        datasets.train_test_split(y, test_size=20)


def test_stratified_splits_keep_class_proportions():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    _, y_te = datasets.train_test_split(y, test_size=0.2, seed=1, stratify=y)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    (tr,), (va,), (te,) = datasets.train_val_test_split(y, validation_size=0.1, test_size=0.2, seed=2, stratify=y)
    assert np.bincount(te).tolist() == [12, 6, 2] and np.bincount(va).tolist() == [6, 3, 1]
    assert len(tr) == 70


def test_train_val_test_split():
    x, y = np.arange(50)[:, None], np.arange(50)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = datasets.train_val_test_split(x, y, validation_size=0.1,
                                                                             test_size=0.2, seed=0)
    assert (len(y_tr), len(y_va), len(y_te)) == (35, 5, 10)
    assert sorted(np.concatenate([y_tr, y_va, y_te]).tolist()) == list(range(50))
    assert np.array_equal(x_va[:, 0], y_va)
    with pytest.raises(DatasetError, match="leave no training samples"):
        datasets.train_val_test_split(y, validation_size=0.5, test_size=0.5)


def test_normalize():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (100, 4)).astype(np.float32)
    mm = datasets.normalize(x)
    assert mm.dtype == np.float32
    np.testing.assert_allclose(mm.min(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(mm.max(axis=0), 1, atol=1e-6)
    st = datasets.normalize(x, "standard")
    np.testing.assert_allclose(st.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(st.std(axis=0), 1, atol=1e-5)
    test = rng.normal(3, 2, (10, 4)).astype(np.float32)
    scaled = datasets.normalize(test, "standard", reference=x)
    np.testing.assert_allclose(scaled, (test - x.mean(0)) / x.std(0), rtol=1e-4, atol=1e-5)
    ranged = datasets.normalize(np.array([[1, 5], [3, 5]]), feature_range=(-1, 1))
    assert ranged.dtype == np.float32 and ranged.tolist() == [[-1, -1], [1, -1]]  # constant column: the low end
    whole = datasets.normalize(np.arange(6.0).reshape(2, 3), axis=(0, 1))
    assert whole.max() == 1 and whole.min() == 0
    with pytest.raises(DatasetError, match="method must be one of \\['minmax', 'standard'\\]"):
        datasets.normalize(x, "zscore")
    with pytest.raises(DatasetError, match="reference shape \\(10, 3\\) does not fit x shape \\(100, 4\\)"):
        datasets.normalize(x, reference=test[:, :3])


def test_one_hot():
    out = datasets.one_hot([2, 0, 1])
    assert out.dtype == np.float32 and out.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert datasets.to_categorical(np.array([[1], [0]]), num_classes=3).shape == (2, 3)
    assert datasets.one_hot(np.array([[0, 1]]), 2).shape == (1, 2, 2)
    with pytest.raises(DatasetError, match="label 3 is outside \\[0, 3\\)"):
        datasets.one_hot([3], num_classes=3)
    with pytest.raises(DatasetError, match="negative"):
        datasets.one_hot([-1, 0])
    with pytest.raises(DatasetError, match="integers"):
        datasets.one_hot([0.5])


def test_batch():
    x, y = np.arange(10), np.arange(10) * 2
    parts = datasets.batch(x, y, batch_size=4)
    assert [len(a) for a, _ in parts] == [4, 4, 2] and np.array_equal(parts[2][1], [16, 18])
    assert [len(a) for a in datasets.batch(x, batch_size=4, drop_remainder=True)] == [4, 4]
    with pytest.raises(DatasetError, match="batch_size must be a positive integer"):
        datasets.batch(x, batch_size=0)


def test_digits_train_an_mlp_above_95_percent():
    from haibal_py import layers, models, optimizers
    from haibal_py.numeric.seeding import set_random_seed

    x, y = datasets.load_digits()
    x = x / 16.0
    x_tr, x_te, y_tr, y_te = datasets.train_test_split(x, y, test_size=0.2, seed=0, stratify=y)
    set_random_seed(0)
    model = models.Sequential([layers.Input((64,)), layers.Dense(64, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=8, batch_size=32, verbose=0)
    assert model.evaluate(x_te, y_te, verbose=0)[1] >= 0.95
