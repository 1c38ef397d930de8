"""numerics.classification: the task sampler's laws, cross-entropy and accuracy by hand."""

import numpy as np
import pytest

from iclcheck.numerics.classification import accuracy, cross_entropy, sample_classes
from iclcheck.theory.errors import InputError


def test_sampler_shapes_and_laws():
    rng = np.random.default_rng(0)
    pr = sample_classes(rng, 4000, 6, 3, 5, radius=2.0, noise_sd=0.0)
    assert pr.X.shape == (4000, 6, 3) and pr.Y.shape == (4000, 6, 5) and pr.xq.shape == (4000, 3)
    assert np.all(pr.Y.sum(-1) == 1)
    np.testing.assert_allclose(np.linalg.norm(pr.X, axis=-1), 2.0)  # noiseless: on the sphere
    freq = pr.Y.mean((0, 1))
    assert np.all(np.abs(freq - 0.2) < 4.4 * np.sqrt(0.16 / 24000))
    with pytest.raises(InputError):
        sample_classes(rng, 1, 1, 1, 1)


def test_cross_entropy_and_accuracy_by_hand():
    z = np.array([[0.0, np.log(3.0)], [2.0, 1.0]])
    np.testing.assert_allclose(cross_entropy(z, np.array([1, 1])), [np.log(4 / 3), np.log(1 + np.e)])
    np.testing.assert_allclose(cross_entropy(z, np.eye(2)[[1, 1]]), [np.log(4 / 3), np.log(1 + np.e)])
    np.testing.assert_array_equal(accuracy(z, np.array([1, 1])), [1.0, 0.0])
