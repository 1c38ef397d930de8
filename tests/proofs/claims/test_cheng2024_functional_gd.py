"""cheng2024.functional_gd: confirmed (two seeds); one layer by hand for each kernel; the check can fail (a missing
1/n or a query that is a key breaks the identity)."""

import numpy as np
import pytest

from iclcheck.numerics.attention.kernel_attention import functional_gd, functional_gd_weights, predict
from iclcheck.numerics.model.lsa import build_prompts
from iclcheck.proofs.verdict import Verdict


@pytest.mark.parametrize("seed", [0, 5])
def test_confirmed(claim_result, seed):
    r = claim_result("cheng2024.functional_gd", seed=seed)
    assert r.verdict is Verdict.CONFIRMED, [(s.name, s.detail) for s in r.steps if s.status.value != "pass"]
    assert sum(s.exact for s in r.steps) >= 5


@pytest.mark.parametrize("kind,h", [("linear", lambda g: g), ("relu", lambda g: max(g, 0.0)), ("exp", np.exp)])
def test_one_layer_by_hand(kind, h):
    # n = 2, d = 1: f_1(x_q) = (eta / 2) (y_1 h(x_1 x_q) + y_2 h(x_2 x_q))
    X, y, xq, eta = np.array([[[0.5], [-1.5]]]), np.array([[2.0, 1.0]]), np.array([[0.8]]), 0.7
    want = eta / 2 * (2.0 * h(0.5 * 0.8) + 1.0 * h(-1.5 * 0.8))
    assert predict(kind, build_prompts(X, y, xq), *functional_gd_weights(1, [eta]))[0] == pytest.approx(want, rel=1e-14)
    assert functional_gd(kind, X, y, xq, [eta])[0] == pytest.approx(want, rel=1e-14)


def test_softmax_one_layer_by_hand():
    X, y, xq, eta = np.array([[[0.5], [-1.5]]]), np.array([[2.0, 1.0]]), np.array([[0.8]]), 0.7
    e = np.exp(np.array([0.4, -1.2]))
    want = eta * (2.0 * e[0] + 1.0 * e[1]) / e.sum()
    assert predict("softmax", build_prompts(X, y, xq), *functional_gd_weights(1, [eta]))[0] == pytest.approx(want)


def test_negative_controls():
    rng = np.random.default_rng(0)
    X, y, xq = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 5)), rng.standard_normal((3, 2))
    Ps, Qs = functional_gd_weights(2, [0.5, 0.5])
    Z = build_prompts(X, y, xq)
    want = functional_gd("exp", X, y, xq, [0.5, 0.5])
    assert not np.allclose(predict("exp", Z, Ps * 5, Qs), want)  # their step without the 1/n
    assert not np.allclose(predict("exp", Z, Ps, Qs, mask=False), want)  # the query as a key
