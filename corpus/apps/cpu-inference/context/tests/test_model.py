import numpy as np
import pytest

from inference.model import CLASSES, Model


@pytest.fixture(scope="module")
def model():
    return Model()


def test_shapes(model):
    assert model.n_features == 4
    assert model.predict_proba([[5.0, 3.4, 1.5, 0.2]]).shape == (1, len(CLASSES))


def test_probabilities_sum_to_one(model):
    p = model.predict_proba(np.random.default_rng(0).normal(5, 1, size=(10, 4)))
    assert np.allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize("row,label", [
    ([5.1, 3.5, 1.4, 0.2], "setosa"),
    ([7.7, 3.0, 6.1, 2.3], "virginica"),
])
def test_known_points(model, row, label):
    assert model.predict([row]) == [label]
