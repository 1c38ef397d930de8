"""The hand-written backprop against central finite differences, the re-associated forward pass
against the literal one, and a tiny training run that lowers the loss."""

import numpy as np
import pytest

from iclcheck.numerics.forward import predict, sample_prompts
from iclcheck.numerics.training import dist_to_identity, family, forward_backward, train
from iclcheck.theory.setting import Setting

# (family, d, n, L, seed, rtol): central differences with h = 1e-6 have truncation error O(h^2 f''')
# and rounding error O(eps f / h) ~ 1e-10 relative; 1e-6 leaves four orders of margin on both.
CASES = [
    ("full", 2, 4, 1, 0, 1e-6),
    ("full", 3, 5, 3, 1, 1e-6),
    ("gd", 3, 6, 2, 2, 1e-6),
    ("gdpp", 2, 5, 3, 3, 1e-6),
    ("gdpp-scalar", 3, 4, 3, 4, 1e-6),
]


@pytest.mark.parametrize("name,d,n,L,seed,rtol", CASES)
def test_backprop_matches_finite_differences(name, d, n, L, seed, rtol):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    st = Setting.make(A @ A.T + np.eye(d), n, Sigma_w="inv")
    fam = family(name, st, L)
    th = fam.init(rng, scale=0.5)
    pr = sample_prompts(st, 9, rng)

    def f(t):
        Ps, Qs = fam.to_PQ(t)
        return forward_backward(Ps, Qs, pr.Z0, pr.yq, grad=False)[0]

    Ps, Qs = fam.to_PQ(th)
    _, _, dP, dQ = forward_backward(Ps, Qs, pr.Z0, pr.yq)
    g = fam.pullback(dP, dQ)
    h = 1e-6
    num = np.array([(f(th + h * e) - f(th - h * e)) / (2 * h) for e in np.eye(th.size)])
    np.testing.assert_allclose(g, num, rtol=rtol, atol=rtol * np.max(np.abs(num)))


def test_reassociated_forward_equals_literal_forward():
    rng = np.random.default_rng(7)
    st = Setting.make(np.diag([1.0, 2.0, 0.5]), 6)
    pr = sample_prompts(st, 11, rng)
    Ps = rng.standard_normal((3, 4, 4)) * 0.4
    Qs = rng.standard_normal((3, 4, 4)) * 0.4
    _, r, _, _ = forward_backward(Ps, Qs, pr.Z0, pr.yq, grad=False)
    np.testing.assert_allclose(r, predict(pr.Z0, list(Ps), list(Qs)) - pr.yq, rtol=1e-12, atol=1e-12)


def test_tiny_training_run_lowers_the_loss():
    st = Setting.make(np.eye(3), 8, Sigma_w="inv")
    res = train(st, 2, family_name="gd", steps=150, batch=256, lr=0.1, rng=np.random.default_rng(0))
    first, last = res.history[0][1], res.history[-1][1]
    assert last < 0.6 * first, (first, last)


def test_dist_to_identity():
    assert dist_to_identity(3.0 * np.eye(4)) == pytest.approx(0.0, abs=1e-15)
    M = np.diag([1.0, -1.0])  # alpha* = 0: the distance is the whole matrix
    assert dist_to_identity(M) == pytest.approx(1.0)


def test_summarize_reads_the_restricted_family_exactly():
    from iclcheck.numerics.multilayer import family_params
    from iclcheck.numerics.training import TrainResult, summarize

    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 3))
    st = Setting.make(A @ A.T + np.eye(3), 7, Sigma_w="inv")
    Ps, Qs = family_params(st.Sigma, [0.4, 1.3], [0.7, 0.0])
    fam = family("gdpp", st, 2)
    info = summarize(TrainResult(family=fam, theta=np.zeros(fam.size), Ps=np.array(Ps), Qs=np.array(Qs)), st)
    np.testing.assert_allclose([e["a"] for e in info["layers"]], [0.4, 1.3], rtol=1e-12)
    np.testing.assert_allclose([e["b"] for e in info["layers"]], [0.7, 0.0], atol=1e-12)
    assert max(e["dist_A"] for e in info["layers"]) < 1e-12


def test_paired_gap_of_a_model_with_itself_is_zero():
    from iclcheck.numerics.training import paired_gap

    st = Setting.make(np.eye(2), 5)
    P = np.zeros((1, 3, 3))
    P[0, 2, 2] = 1.0
    Q = np.zeros((1, 3, 3))
    Q[0, :2, :2] = -0.5 * np.eye(2)
    la, gap = paired_gap(st, P, Q, P, Q, samples=2000, rng=np.random.default_rng(0))
    assert gap.mean == 0.0 and la.mean > 0
