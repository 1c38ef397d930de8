"""The --test-* flags of ``iclcheck precond`` and ``iclcheck loss`` end to end.

Independent routes: for diagonal Sigma, w ~ N(0, I), Gaussian covariates, Gamma*_train is Ahn et al.'s Thm 1 form
g_i = 1/((n+1)/n lam_i + tr/n) and the test loss of the diagonal predictor is the sum over coordinates of
lam'_i - 2 g_i lam'_i^2 + g_i^2 lam'_i ((m+1)/m lam'_i^2 + (tr' + s2')/m lam'_i) (Gaussian fourth moments, written
here by hand in fractions); the test optimum is 'precond' run AT the test setting; the loss command at Gamma*'s LSA
point agrees with precond's test loss (full f(P, Q) vs reduced model)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from iclcheck.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def diag_test_loss(lams, n, lams_t, m, s2t=Fraction(0)):
    tr, trt = sum(lams, Fraction(0)), sum(lams_t, Fraction(0))
    g = [1 / (Fraction(n + 1, n) * lam + tr / n) for lam in lams]
    return sum(lt - 2 * gi * lt ** 2 + gi ** 2 * lt * (Fraction(m + 1, m) * lt ** 2 + (trt + s2t) / m * lt)
               for gi, lt in zip(g, lams_t, strict=True))


@pytest.mark.parametrize("n,m,cov_t,s2t", [(20, 5, None, "0"), (4, 9, "diag:2,4,6", "0"), (6, 6, "diag:1/2,3,1", "1/4")])
def test_precond_test_loss_exact_matches_hand_formula(capsys, n, m, cov_t, s2t):
    lams = [Fraction(1), Fraction(2), Fraction(3)]
    lams_t = lams if cov_t is None else [Fraction(v) for v in cov_t.split(":")[1].split(",")]
    argv = ["precond", "--cov", "diag:1,2,3", "-n", str(n), "--exact", "--test-n", str(m), "--test-noise", s2t]
    if cov_t:
        argv += ["--test-cov", cov_t]
    out = run_json(capsys, *argv)
    t = out["test"]
    want = diag_test_loss(lams, n, lams_t, m, Fraction(s2t))
    assert Fraction(t["loss_exact"]) == want
    assert t["loss"] == pytest.approx(float(want), rel=1e-12)
    # the test optimum is precond at the test setting; the excess is the difference (exactly)
    at_test = run_json(capsys, "precond", "--cov", cov_t or "diag:1,2,3", "-n", str(m), "--noise", s2t, "--exact")
    assert Fraction(t["test_optimum_exact"]) == Fraction(at_test["loss_exact"])
    assert Fraction(t["excess_exact"]) == want - Fraction(at_test["loss_exact"])
    assert t["setting"]["n"] == m and out["setting"]["n"] == n


def test_loss_command_at_gamma_star_point_equals_precond_test_loss(capsys, tmp_path):
    out = run_json(capsys, "precond", "--cov", "random:d=3,cond=10,seed=2", "-n", "12", "--test-n", "4",
                   "--test-cov", "random:d=3,cond=30,seed=7", "--test-covariates", "uniform")
    G = np.array(out["gamma"])
    P = np.zeros((4, 4))
    P[3, 3] = 2.0  # P -> 2P, Q -> Q/2 leaves the predictor unchanged
    Q = np.zeros((4, 4))
    Q[:3, :3] = -G.T / 2
    np.savez(tmp_path / "pq.npz", P=P, Q=Q)
    lo = run_json(capsys, "loss", "--cov", "random:d=3,cond=10,seed=2", "-n", "12", "--params", str(tmp_path / "pq.npz"),
                  "--test-n", "4", "--test-cov", "random:d=3,cond=30,seed=7", "--test-covariates", "uniform")
    assert lo["test"]["loss"] == pytest.approx(out["test"]["loss"], rel=1e-10)
    assert lo["loss"] == pytest.approx(out["loss"], rel=1e-10)
    assert out["test"]["excess"] > 0 and out["test"]["setting"]["covariates"] == "uniform"


def test_table_output_has_the_test_rows(capsys):
    code, out, err = run(capsys, "precond", "--cov", "diag:1,2,3", "-n", "4", "--exact", "--test-cov", "diag:2,4,6",
                         "--test-n", "3")
    assert code == 0 and err == ""
    want = diag_test_loss([1, 2, 3], 4, [Fraction(2), Fraction(4), Fraction(6)], 3)
    assert f"test loss L_test(Gamma*) = {want}" in out
    assert "test optimum L*_test = " in out and "excess L_test(Gamma*) - L*_test = " in out


def test_symbolic_training_length_gives_a_function_of_n(capsys):
    out = run_json(capsys, "precond", "--cov", "diag:1,2,3", "-n", "n", "--exact", "--test-n", "3")
    import sympy as sp

    n = sp.Symbol("n", positive=True, integer=True)
    excess = sp.sympify(out["test"]["excess_exact"], locals={"n": n})
    assert excess.subs(n, 3) == 0 and excess.subs(n, 10) > 0  # Gamma*_n is the test optimum exactly at n = 3
    want = diag_test_loss([1, 2, 3], 10, [1, 2, 3], 3)
    assert sp.sympify(out["test"]["loss_exact"], locals={"n": n}).subs(n, 10) == sp.Rational(want.numerator,
                                                                                           want.denominator)


@pytest.mark.parametrize("argv,flag", [
    (["--test-cov", "eye:3"], "--test-cov"),
    (["--test-n", "0"], "--test-n"),
    (["--test-n", "n"], "--test-n"),
    (["--test-n", "2.5"], "--test-n"),
    (["--test-noise", "-1"], "--test-noise"),
    (["--test-noise", "__import__('os')"], "--test-noise"),
    (["--test-cov", "diag:1,-2"], "--test-cov"),
    (["--test-task-cov", "diag:1"], "--test-task-cov"),
    (["--test-task-cov", "diag:1,0"], "--test-task-cov"),
    (["--test-covariates", "cauchy"], "--test-covariates"),
])
@pytest.mark.parametrize("command", ["precond", "loss"])
def test_bad_test_inputs_exit_2_with_one_line(capsys, tmp_path, command, argv, flag):
    extra = []
    if command == "loss":
        np.savez(tmp_path / "pq.npz", P=np.eye(3), Q=np.eye(3))
        extra = ["--params", str(tmp_path / "pq.npz")]
    try:
        code, out, err = run(capsys, command, "--cov", "diag:1,2", "-n", "5", *extra, *argv)
    except SystemExit as exc:  # argparse choices
        code, err = exc.code, capsys.readouterr().err
    assert code == 2
    assert flag in err and "Traceback" not in err
    if flag != "--test-covariates":
        assert len(err.strip().splitlines()) == 1


def test_exact_needs_exact_test_inputs(capsys):
    code, _, err = run(capsys, "precond", "--cov", "diag:1,2", "-n", "5", "--exact", "--test-cov",
                       "random:d=2,cond=5,seed=0")
    assert code == 2 and "exact test inputs" in err
