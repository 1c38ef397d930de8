"""theory.softmax against independent routes: direct Gaussian integration (d = 1), Monte Carlo of the literal
softmax read-out, the one-layer master formula (numerics.one_layer.closed_form) and a Monte Carlo of centred GD."""

import numpy as np
import pytest
import sympy as sp

from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.setting import Setting
from iclcheck.theory.softmax import (
    one_step_gd_risk,
    paired_heads_odd,
    paired_heads_series,
    small_beta_series,
    tilting_limit,
    tilting_rate_constant,
)


def test_tilting_limit_symbolic_and_by_integration():
    s11, s12, s22 = sp.symbols("s11 s12 s22")
    S = sp.Matrix([[s11, s12], [s12, s22]])
    b, a = sp.Matrix(sp.symbols("b0:2")), sp.Matrix(sp.symbols("c0:2"))
    assert sp.simplify(tilting_limit(S, b, a) - (b.T * S * a)[0, 0]) == 0
    # d = 1 by direct integration against the N(0, s) density
    x = sp.Symbol("x", real=True)
    s, c, bb = sp.symbols("s c b", positive=True)
    dens = sp.exp(-x**2 / (2 * s)) / sp.sqrt(2 * sp.pi * s)
    num = sp.integrate(bb * x * sp.exp(c * x) * dens, (x, -sp.oo, sp.oo))
    den = sp.integrate(sp.exp(c * x) * dens, (x, -sp.oo, sp.oo))
    assert sp.simplify(num / den - tilting_limit(sp.Matrix([[s]]), sp.Matrix([bb]), sp.Matrix([c]))) == 0


def test_tilting_rate_constant_by_monte_carlo():
    rng = np.random.default_rng(0)
    Sigma, beta, a, s2, n, B = np.diag([1.0, 0.5]), np.array([0.8, -0.6]), np.array([0.4, 0.3]), 0.2, 400, 20_000
    X = rng.standard_normal((B, n, 2)) * np.sqrt(np.diag(Sigma))
    y = X @ beta + rng.standard_normal((B, n)) * np.sqrt(s2)
    e = np.exp(X @ a)
    dev = n * ((e * y).sum(1) / e.sum(1) - beta @ Sigma @ a) ** 2
    want = float(tilting_rate_constant(Sigma, beta, a, s2))
    half = 3.29 * dev.std(ddof=1) / np.sqrt(B)
    assert abs(dev.mean() - want) < half, (dev.mean(), want, half)  # the O(1/n) correction is far below the CI here


@pytest.mark.parametrize("n", [2, 3])
def test_small_temperature_and_paired_head_series(n):
    ser, claimed, _ = small_beta_series(n)
    assert sp.simplify(ser - claimed) == 0
    ser, claimed, _ = paired_heads_series(n)
    assert sp.simplify(ser - claimed) == 0
    assert sp.simplify(paired_heads_odd(n)) == 0


def test_small_series_numerically():
    # the expansions' error is O(beta^2) (softmax) and O(omega^3) (paired): halving the parameter divides it by 4 / 8
    rng = np.random.default_rng(1)
    a, y = rng.standard_normal(5), rng.standard_normal(5)

    def sm(s):
        p = np.exp(s * a)
        return p / p.sum()

    lin = lambda s: y.mean() + s / 5 * np.sum(y * (a - a.mean()))  # noqa: E731
    pair = lambda s: 2 * s / 5 * np.sum(y * (a - a.mean()))  # noqa: E731
    e1, e2 = abs(sm(0.02) @ y - lin(0.02)), abs(sm(0.01) @ y - lin(0.01))
    assert e1 / e2 == pytest.approx(4, rel=0.05)
    f1, f2 = abs((sm(0.02) - sm(-0.02)) @ y - pair(0.02)), abs((sm(0.01) - sm(-0.01)) @ y - pair(0.01))
    assert f1 / f2 == pytest.approx(8, rel=0.05)


@pytest.mark.parametrize("n,d,v,s2", [(40, 5, 0.2, 0.1), (7, 3, 1.0, 0.0), (12, 2, 0.5, 0.3)])
def test_plain_gd_risk_is_the_master_formula(n, d, v, s2):
    _, risk = one_step_gd_risk(n, d, v, s2)
    st = Setting.make(np.eye(d), n, Sigma_w=v * np.eye(d), sigma2=s2)
    assert float(risk) == pytest.approx(OneLayer(st).min_loss(), rel=1e-12)


def test_centred_gd_risk_by_monte_carlo():
    rng = np.random.default_rng(2)
    n, d, v, s2, B = 10, 3, 0.5, 0.2, 200_000
    gamma, risk = one_step_gd_risk(n, d, sp.Rational(1, 2), sp.Rational(1, 5), sp.Rational(1, 5), centred=True)
    X = rng.standard_normal((B, n, d))
    w = rng.standard_normal((B, d)) * np.sqrt(v)
    y = np.einsum("bnd,bd->bn", X, w) + rng.standard_normal((B, n)) * np.sqrt(s2)
    xq = rng.standard_normal((B, d))
    yq = np.einsum("bd,bd->b", xq, w) + rng.standard_normal(B) * np.sqrt(s2)
    Xc = X - X.mean(1, keepdims=True)
    pred = float(gamma) * np.einsum("bd,bd->b", xq, np.einsum("bnd,bn->bd", Xc, y)) / n
    err = (pred - yq) ** 2
    assert abs(err.mean() - float(risk)) < 3.29 * err.std(ddof=1) / np.sqrt(B)
    # it is the plain optimum at n - 1
    assert one_step_gd_risk(n - 1, d, sp.Rational(1, 2), sp.Rational(1, 5), sp.Rational(1, 5))[1] == risk
