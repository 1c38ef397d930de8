"""Hypothesis properties of the one-layer landscape (numerics.critical, numerics.certificate). Cheap: d <= 3.

Metamorphic relations (derived by hand, see tests/properties/test_one_layer_properties.py):
- rotation: for Gaussian covariates and orthogonal U, Sigma -> U Sigma U^T, Sigma_w -> U Sigma_w U^T is
  the change of coordinates x -> U x, w -> U w, so f'(E P E^T, E Q E^T) = f(P, Q), E = diag(U, 1), i.e.
  (b, c, Q11, q21) -> (U b, c, U Q11 U^T, U q21) maps critical points to critical points with the same
  loss and the same Hessian inertia (the map is orthogonal on theta and commutes with the scaling);
- scaling: P -> g P, Q -> Q / g leaves f, the point and its classification unchanged.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from iclcheck.numerics.certificate import certify
from iclcheck.numerics.critical import _Backend, classify, find_critical_points
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.numerics.one_layer.derivatives import grad_flat, loss_flat, pack_parts, unpack_parts
from iclcheck.theory.setting import Setting


@st.composite
def settings_(draw, gaussian_only=False):
    d = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    lam = np.exp(rng.uniform(0, np.log(draw(st.sampled_from([2.0, 10.0, 50.0]))), size=d))
    U = np.linalg.qr(A)[0]
    Sigma = (U * lam) @ U.T
    prior = draw(st.sampled_from([None, "inv", "given"]))
    B = rng.normal(size=(d, d))
    W = B @ B.T / d + 0.3 * np.eye(d) if prior == "given" else prior
    cov = "gaussian" if gaussian_only else draw(st.sampled_from(["gaussian", "uniform", "rademacher"]))
    n = draw(st.integers(1, 12))
    sigma2 = draw(st.sampled_from([0.0, 0.1, 1.0]))
    return Setting.make(Sigma, n, Sigma_w=W, sigma2=sigma2, covariates=cov), seed


@given(settings_())
@example((Setting.make(np.diag([1.0, 4.0]), 1, sigma2=0.0), 0))
def test_predicted_point_found_stationary_global_and_certified(arg):
    setting, seed = arg
    ol = OneLayer(setting)
    land = find_critical_points(ol, starts=16, seed=seed)
    hits = [p for p in land.points if p.distance_to_predicted < 1e-6]
    assert len(hits) == 1, [(p.kind, p.loss, p.distance_to_predicted) for p in land.points]
    p = hits[0]
    assert p.kind == "global-min" and p.index == 0
    assert p.grad_norm <= land.grad_tol
    # nothing found below it
    assert all(q.loss >= p.loss - land.loss_tol for q in land.points)
    c = certify(ol)
    if not c.certified and "rounding margin" in c.reason:
        # a loss at float resolution (e.g. d = 1 Rademacher, n = 1, no noise: x^2 is constant and the
        # predictor is exact, f* = 0): a relative gap is unattainable in float64; the bound is still true
        assert c.lower_bound <= p.loss + land.loss_tol and c.predicted_upper <= 1e-9 * max(1.0, float(np.trace(ol.SW)))
        return
    assert c.certified, c.reason
    assert 0 <= c.gap <= c.gap_tol
    assert c.lower_bound <= p.loss + land.loss_tol and p.loss - c.lower_bound <= c.gap_tol + land.loss_tol


@given(settings_(gaussian_only=True), st.integers(0, 2**16))
def test_rotation_maps_critical_points_with_same_loss_and_classification(arg, useed):
    setting, seed = arg
    d = setting.d
    U = np.linalg.qr(np.random.default_rng(useed).normal(size=(d, d)))[0]
    W = setting.Sigma_w
    rot = Setting.make(U @ setting.Sigma @ U.T, setting.n, Sigma_w=U @ W @ U.T, sigma2=setting.sigma2)
    ol, olr = OneLayer(setting), OneLayer(rot)
    land = find_critical_points(ol, starts=4, seed=seed)
    for p in land.points:
        b, c, Q11, q21 = unpack_parts(p.theta, d)
        th = pack_parts(U @ b, c, U @ Q11 @ U.T, U @ q21)
        assert abs(loss_flat(olr, th) - p.loss) <= 1e-10 * max(1.0, abs(p.loss))
        # theta -> theta' is orthogonal and grad f'(theta') = O grad f(theta): same norm up to rounding
        assert np.linalg.norm(grad_flat(olr, th)) <= 2 * land.grad_tol
        index, n_zero, _ = classify(olr, th)
        assert (index, n_zero) == (p.index, p.n_zero)


@given(settings_(), st.floats(0.05, 20.0), st.booleans())
@example(
    (Setting.make(np.array([[1.80572635, 0.25240118], [0.25240118, 1.21569238]]), 8,
                  Sigma_w=np.array([[0.70096625, 0.61713061], [0.61713061, 1.26820353]]), sigma2=0.1,
                  covariates="rademacher"), 65536),
    0.375, False,
)  # a minimum far out along a flat valley (|theta| ~ 200): loss rounding ~ 3e-8
def test_classification_invariant_under_rescaling(arg, g, neg):
    setting, seed = arg
    d = setting.d
    ol = OneLayer(setting)
    land = find_critical_points(ol, starts=3, seed=seed, methods=("descent",))
    be = _Backend(ol)
    g = -g if neg else g
    for p in land.points:
        th = p.theta.copy()
        th[: d + 1] *= g
        th[d + 1 :] /= g
        # f is a sum of terms that are large far out along flat valleys (Rademacher): rounding bound
        rounding = max(be.rounding(th), be.rounding(p.theta))
        assert abs(loss_flat(ol, th) - p.loss) <= 1e-12 * max(1.0, abs(p.loss)) + 2 * rounding
        assert classify(ol, th)[:2] == (p.index, p.n_zero)
