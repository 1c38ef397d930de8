"""numerics.dynamics.flow: the exact gradient flow against independent routes (explicit Euler of the same gradient, the
encoded plateau values, the closed-form limit, conserved quantities)."""

import numpy as np
import pytest

from iclcheck.numerics.dynamics.flow import flow, model
from iclcheck.numerics.families.restricted import plateau_losses, saddle_flow
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def test_attnS_visits_the_encoded_plateaus_and_euler_converges_to_it():
    """Explicit Euler of the same gradient (numerics.families.restricted.saddle_flow) from the same start converges to the
    integrated trajectory at first order: halving dt halves the largest loss gap (the gap sits at the steep escapes,
    where Euler's O(dt) time shift shows)."""
    st = Setting.make(np.diag([0.4, 0.3, 0.2]), 20)
    gaps = []
    for dt in (0.1, 0.05):
        rng = np.random.default_rng(5)
        eu = saddle_flow(st, heads=3, rank=1, init=1e-2, dt=dt, steps=int(2000 / dt), rng=rng)
        rng = np.random.default_rng(5)
        th0 = np.concatenate([1e-2 * rng.standard_normal(3), 1e-2 * rng.standard_normal(3 * 3),
                              1e-2 * rng.standard_normal(3 * 3)])
        r = flow(st, "attnS", init=th0, t_max=2000.0, samples=401, heads=3, rank=1)
        i = np.round(r.t / dt).astype(int)
        gaps.append(float(np.max(np.abs(eu.loss[i] - r.loss))))
    assert 1.7 < gaps[0] / gaps[1] < 2.3, gaps  # first order
    pl = plateau_losses(st)
    assert len(r.plateaus) >= 2
    for p, want in zip(r.plateaus, pl, strict=False):
        assert abs(p.loss - want) < 1e-3
    assert r.invariant_drift < 1e-8


def test_one_layer_flow_reaches_gamma_star_and_keeps_balancedness():
    st = Setting.make(np.diag([2.0, 1.0]), 6)
    rng = np.random.default_rng(1)
    D = 3
    P, Q = np.zeros((D, D)), np.zeros((D, D))
    P[2, 2], Q[:2, :2] = 0.5, -0.5 * np.eye(2)  # c = P[d, d] away from 0 (from a fully random start the flow can
    th0 = np.concatenate([P.ravel(), Q.ravel()]) + 0.05 * rng.standard_normal(2 * D * D)  # stall at rank-1 Gamma)
    r = flow(st, "one_layer", init=th0, t_max=300.0, samples=101, f_star=OneLayer(st).min_loss())
    assert r.classification == "global minimum"
    assert np.allclose(r.limit["Gamma"], OneLayer(st).gamma_star(), atol=1e-6)
    assert r.invariant_drift < 1e-7


def test_attnM_conserves_v2_minus_W2_and_descends():
    st = Setting.make(np.diag([1.0, 0.5]), 10)
    r = flow(st, "attnM", init=0.05, t_max=200.0, samples=101, heads=2, seed=2)
    assert r.invariant_drift < 1e-8
    assert np.all(np.diff(r.loss) <= 1e-12)
    assert r.loss[-1] == pytest.approx(plateau_losses(st)[-1], abs=1e-6)


def test_tied_flow_reaches_the_tied_optimum():
    from iclcheck.numerics.families.restricted import optimal_tied_gd

    st = Setting.make(np.eye(3), 12)
    opt = optimal_tied_gd(st, 3)
    r = flow(st, "tied", init=np.array([0.1]), t_max=30.0, samples=301, L=3, f_star=opt.loss)
    assert r.loss[-1] == pytest.approx(opt.loss, rel=1e-8)
    assert r.rates["p"] == pytest.approx(2.0, abs=0.1)  # strict 1-D minimum: f - f* ~ f'^2 / (2 f'') near it (the fit window starts far)


def test_bad_input():
    st = Setting.make(np.eye(2), 5)
    with pytest.raises(InputError, match="model"):
        model(st, "nope")
    with pytest.raises(InputError, match="init"):
        flow(st, "one_layer", init=np.zeros(3), t_max=1.0)
    with pytest.raises(InputError, match="t_max"):
        flow(st, "one_layer", init=0.1, t_max=-1.0)


def test_fast_attnS_gradient_equals_kq_loss_and_grad():
    from iclcheck.numerics.families.restricted import kq_loss_and_grad

    rng = np.random.default_rng(8)
    st = Setting.make(np.diag([1.0, 0.5, 0.25]), 9, Sigma_w=np.diag([1.0, 2.0, 0.5]))
    H, R, d = 3, 2, 3
    m = model(st, "attnS", heads=H, rank=R)
    for _ in range(3):
        th = rng.standard_normal(m.size)
        f, g = m.loss_grad(th)
        k = H * R * d
        f2, (dv, dWK, dWQ) = kq_loss_and_grad(st, th[:H], th[H:H + k].reshape(H, R, d), th[H + k:].reshape(H, R, d))
        g2 = np.concatenate([dv, dWK.ravel(), dWQ.ravel()])
        assert f == pytest.approx(f2, rel=1e-12)
        assert np.allclose(g, g2, rtol=1e-11, atol=1e-12)
