"""``iclcheck.precond``: Gamma*, L*, the test-setting evaluation and the Bayes baseline, against independent
routes (Ahn et al. Thm 1's diagonal closed form in fractions; the float and exact paths; numerics.shift and
numerics.bayes called directly), and the CLI's JSON body equal to the API result's ``to_dict()``."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

import iclcheck
from iclcheck import InputError


def diag_gamma(s: list[int], n: int) -> list[Fraction]:
    """Gamma*_ii = 1 / ((n+1)/n s_i + tr(Sigma)/n) for Sigma = diag(s), Sigma_w = I, no noise, Gaussian x."""
    tr = sum(s)
    return [1 / (Fraction(n + 1, n) * si + Fraction(tr, n)) for si in s]


@pytest.mark.parametrize(("s", "n"), [([1, 2, 3], 4), ([5, 1], 7), ([2], 1), ([1, 1, 4, 9], 30)])
def test_gamma_is_the_diagonal_closed_form(s, n):
    S = np.diag(s).tolist()
    r = iclcheck.precond(iclcheck.setting(S, n), exact=True)
    want = diag_gamma(s, n)
    assert [Fraction(str(r.gamma_exact[i, i])) for i in range(len(s))] == want
    assert all(r.gamma_exact[i, j] == 0 for i in range(len(s)) for j in range(len(s)) if i != j)
    np.testing.assert_allclose(np.diag(r.gamma), [float(v) for v in want], rtol=1e-13)
    assert r.loss == pytest.approx(float(Fraction(str(r.loss_exact))), rel=1e-12)


def test_float_only_by_default_and_auto_falls_back_to_floats():
    st = iclcheck.setting([[2, 1], [1, 2]], 6, law="uniform")  # exact inputs, but no closed-form Sigma^(1/2)
    r = iclcheck.precond(st)
    assert r.gamma_exact is None and r.gamma.shape == (2, 2)
    np.testing.assert_allclose(r.gamma, iclcheck.gamma_star(st), rtol=1e-14)
    assert iclcheck.precond(st, exact="auto").gamma_exact is None
    with pytest.raises(InputError, match="exact: uniform covariates need Sigma"):
        iclcheck.precond(st, exact=True)


def test_symbolic_n_is_exact_only():
    import sympy as sp

    n = sp.Symbol("n", positive=True, integer=True)
    r = iclcheck.precond(iclcheck.setting([[1, 0], [0, 2]], n), exact=True)
    assert r.gamma is None and r.loss is None
    assert sp.simplify(r.gamma_exact[0, 0] - n / (n + 4)) == 0  # 1 / ((n+1)/n + 3/n)
    with pytest.raises(InputError, match="out"):
        r.out_arrays(True)


def test_test_setting_matches_numerics_shift():
    from iclcheck.numerics.one_layer.shift import shifted_loss

    train, test = iclcheck.setting(np.diag([1.0, 2.0, 3.0]), 20), iclcheck.setting(np.diag([4.0, 8.0, 12.0]), 5)
    r = iclcheck.precond(train, test=test)
    direct = shifted_loss(train, test)
    assert (r.shift.loss, r.shift.test_optimum, r.shift.excess) == (direct.loss, direct.test_optimum, direct.excess)
    assert r.shift.excess > 0
    assert r.shift_exact is None  # float inputs


def test_exact_test_evaluation_agrees_with_floats():
    S = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    r = iclcheck.precond(iclcheck.setting(S, 20), exact=True, test=iclcheck.setting(S, 5))
    loss, opt, exc = r.shift_exact
    assert float(loss) == pytest.approx(r.shift.loss, rel=1e-12)
    assert float(opt) == pytest.approx(r.shift.test_optimum, rel=1e-12)
    assert float(exc) == pytest.approx(r.shift.excess, rel=1e-10)


def test_bayes_baseline_is_numerics_bayes_at_seed_0():
    from iclcheck.numerics.bayes import bayes_risk

    st = iclcheck.setting(np.diag([1.0, 2.0]), 5, Sigma_w="inv", sigma2=0.5)
    r = iclcheck.precond(st, bayes=True)
    direct = bayes_risk(st, rng=np.random.default_rng(0), samples=20_000)
    assert r.bayes.value == direct.value and r.bayes.interval == direct.interval
    assert r.bayes.value < r.loss  # the posterior mean beats the best linear one-layer predictor
    with pytest.raises(InputError, match="bayes"):
        iclcheck.precond(iclcheck.setting(np.eye(21), 5), bayes=True)


def test_bad_arguments_are_input_errors():
    st = iclcheck.setting(np.eye(2), 4)
    with pytest.raises(InputError, match="exact"):
        iclcheck.precond(st, exact="yes")
    with pytest.raises(InputError, match="exact: needs exact inputs"):
        iclcheck.precond(st, exact=True)
    with pytest.raises(InputError, match="test"):
        iclcheck.precond(st, test="diag:1,2")
    with pytest.raises(InputError, match="setting"):
        iclcheck.precond(np.eye(2))


@pytest.mark.parametrize("argv", [
    ("--cov", "diag:1,2,3", "-n", "4", "--exact"),
    ("--cov", "diag:1,1/4", "-n", "10", "--task-cov", "inv", "--noise", "0.1", "--bayes"),
    ("--cov", "diag:1,2,3", "-n", "20", "--test-cov", "diag:4,8,12", "--test-n", "5"),
])
def test_cli_json_body_is_the_api_result(cli_json, api_json, argv):
    from iclcheck.cli.commands.precond import test_setting_from_args
    from iclcheck.cli.inputs import setting_from_args
    from iclcheck.cli.main import build_parser

    args = build_parser().parse_args(["precond", *argv])
    st = setting_from_args(args)
    test = test_setting_from_args(args, st, exact=args.exact)
    res = iclcheck.precond(st, exact=args.exact, test=test, bayes=args.bayes)
    res = replace(res, cov=args.cov, test_cov=args.test_cov if args.test_cov is not None else "train")
    assert cli_json("precond", *argv) == api_json("precond", res, setting=st, cov=args.cov,
                                                          task_cov=args.task_cov)
