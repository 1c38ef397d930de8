"""dss2025.softmax_adaptive_lr: confirmed; n = 2 by hand; softmax SA outputs are class-frequency-like (rows on the
simplex) while linear SA outputs are not."""

import numpy as np
import pytest

from iclcheck.numerics.classification import linear_sa_logits, sample_classes, softmax_sa_output
from iclcheck.proofs.verdict import Verdict


def test_confirmed(claim_result):
    r = claim_result("dss2025.softmax_adaptive_lr")
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]


def test_two_examples_by_hand():
    X = np.array([[[1.0, 0.0], [0.0, 2.0]]])
    Y = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    xq = np.array([[0.5, 0.5]])
    out = softmax_sa_output(X, Y, xq, np.eye(2), 2.0)[0]
    e = np.exp([2.0 * 0.5, 2.0 * 1.0])
    assert out == pytest.approx(e / e.sum())


def test_softmax_outputs_lie_on_the_simplex_linear_ones_do_not():
    rng = np.random.default_rng(1)
    pr = sample_classes(rng, 200, 9, 3, 4)
    s = softmax_sa_output(pr.X, pr.Y, pr.xq, np.eye(3), 1.3)
    assert np.allclose(s.sum(1), 1.0) and np.all(s >= 0)
    lin = linear_sa_logits(pr.X, pr.Y, pr.xq, np.eye(3))
    assert not np.allclose(lin.sum(1), 1.0)
