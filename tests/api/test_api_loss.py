"""``iclcheck.layer_loss``: f(P, Q) of one layer against the reduced-model optimum, the exact and the symbolic
routes against the float one, the test setting, bad arguments, and the CLI's JSON body equal to ``to_dict()``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import iclcheck
from iclcheck import InputError


def lsa_point(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LSA layer that implements the preconditioner G: P = e e^T, Q[:d, :d] = -G^T."""
    d = len(G)
    P, Q = np.zeros((d + 1, d + 1)), np.zeros((d + 1, d + 1))
    P[d, d] = 1.0
    Q[:d, :d] = -np.asarray(G).T
    return P, Q


def test_loss_at_the_optimal_preconditioner_is_l_star():
    st = iclcheck.setting([[1, 0, 0], [0, 2, 0], [0, 0, 3]], 4)
    pre = iclcheck.precond(st, exact=True)
    r = iclcheck.layer_loss(st, P=lsa_point(pre.gamma)[0], Q=lsa_point(pre.gamma)[1])
    assert r.loss == pytest.approx(float(Fraction(str(pre.loss_exact))), rel=1e-12)  # 225/77


def test_exact_and_symbolic_routes_agree_with_floats():
    st = iclcheck.setting([[1, 0], [0, 2]], 5)
    P, Q = lsa_point(np.array([[0.5, 0.25], [-0.125, 0.375]]))  # binary fractions: exact as stored
    P[2, 0] = 0.0625
    r = iclcheck.layer_loss(st, P=P, Q=Q, exact=True, symbolic=True)
    assert r.loss_exact.is_Rational and float(r.loss_exact) == pytest.approx(r.loss, rel=1e-13)
    from iclcheck.one_layer_loss import loss_symbols

    p, q = loss_symbols(2)
    at = {p[k]: sp.Rational(P[2, k]) for k in range(3)} | {q[i, j]: sp.Rational(Q[i, j]) for i in range(3)
                                                           for j in range(2)}
    assert r.loss_symbolic.subs(at) == r.loss_exact


def test_test_setting_is_the_loss_there():
    from iclcheck.numerics.one_layer import OneLayer

    st, test = iclcheck.setting(np.eye(2), 4), iclcheck.setting(np.diag([2.0, 3.0]), 9)
    P, Q = lsa_point(0.3 * np.eye(2))
    r = iclcheck.layer_loss(st, P=P, Q=Q, test=test)
    assert r.test_loss == OneLayer(test).loss(P, Q) and r.test_loss != r.loss


def test_bad_arguments_are_input_errors():
    st = iclcheck.setting(np.eye(2), 4)
    with pytest.raises(InputError, match="P"):
        iclcheck.layer_loss(st)
    with pytest.raises(InputError, match="setting: exact and symbolic need exact inputs"):
        iclcheck.layer_loss(st, symbolic=True)
    with pytest.raises(InputError, match="symbolic"):
        iclcheck.layer_loss(iclcheck.setting(np.eye(11).astype(int).tolist(), 4), symbolic=True)


def test_cli_json_body_is_the_api_result(tmp_path, cli_json, api_json):
    from dataclasses import replace

    st = iclcheck.setting([[1, 0], [0, 2]], 4)
    P, Q = lsa_point(np.array([[0.5, 0.0], [0.0, 0.25]]))
    f = tmp_path / "pq.npz"
    np.savez(f, P=P, Q=Q)
    argv = ("--cov", "diag:1,2", "-n", "4", "--params", str(f), "--symbolic", "--exact", "--test-n", "8")
    test = iclcheck.setting([[1, 0], [0, 2]], 8)
    res = replace(iclcheck.layer_loss(st, P=P, Q=Q, exact=True, symbolic=True, test=test), params=str(f),
                  cov="diag:1,2", test_cov="train")
    assert cli_json("loss", *argv) == api_json("loss", res, setting=st, cov="diag:1,2", task_cov=None)
