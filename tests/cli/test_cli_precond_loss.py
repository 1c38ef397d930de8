"""``iclcheck precond`` and ``iclcheck loss`` end to end (through iclcheck.cli.main).

Independent routes for the expected values:
- Ahn et al. 2023, Thm 1 as printed: Gamma*_ii = 1 / ((n+1)/n lam_i + (1/n) sum_k lam_k) (diagonal Sigma,
  w ~ N(0, I), Gaussian, no noise), computed with fractions.Fraction; its loss from the brute-force
  moment expansion of the literal model (theory.derive), not from the matrix closed form.
- the exact (rational) path against the float path; the loss at Gamma*'s LSA point (loss command,
  full f(P, Q)) against precond's L* (reduced model); the symbolic polynomial against OneLayer.loss.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from iclcheck.api import precond
from iclcheck.cli import main
from iclcheck.cli.commands.loss import load_params, loss_symbols
from iclcheck.cli.inputs import parse_cov_spec
from iclcheck.numerics.one_layer.closed_form import OneLayer
from iclcheck.theory.derive import derive_reduced_loss
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def parse_poly(text, d, **extra):
    """Test-side parsing of the printed polynomial (q_{i,j} renamed to plain identifiers first)."""
    p, q = loss_symbols(d)
    loc = {s.name: s for s in p} | {f"q_{i + 1}_{j + 1}": q[i, j] for i in range(d + 1) for j in range(d)}
    return sp.parse_expr(re.sub(r"q_\{(\d+),(\d+)\}", r"q_\1_\2", text), local_dict=loc | extra), p, q


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run_cli(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def ahn_thm1_gamma(lams, n):
    """Ahn et al. 2023 Thm 1, printed formula, in exact rationals (-Q_0 block = Gamma*^T, diagonal here)."""
    tr = sum(lams, Fraction(0))
    return [Fraction(1) / (Fraction(n + 1, n) * lam + tr / n) for lam in lams]


def test_precond_diag123_n4_exact_matches_ahn_thm1(capsys):
    code, out, err = run_cli(capsys, "precond", "--cov", "diag:1,2,3", "-n", "4", "--exact")
    assert code == 0 and err == ""
    g = ahn_thm1_gamma([Fraction(1), Fraction(2), Fraction(3)], 4)
    for v in g:  # the table prints the exact rationals
        assert f"{v.numerator}/{v.denominator}" in out
    js = run_json(capsys, "precond", "--cov", "diag:1,2,3", "-n", "4", "--exact")
    expected = [[str(g[i]) if i == j else "0" for j in range(3)] for i in range(3)]
    assert js["gamma_exact"] == expected
    # loss: the brute-force reduced loss of the literal model at the Ahn Gamma (independent of the
    # matrix closed form used by the command)
    st = Setting.make(sp.diag(1, 2, 3), 4)
    L_brute = derive_reduced_loss(st, Gamma=sp.diag(*[sp.Rational(v.numerator, v.denominator) for v in g]))
    assert sp.simplify(sp.Rational(js["loss_exact"]) - L_brute) == 0
    assert js["loss_exact"] == "225/77"  # the value of the two routes above, kept as a regression pin


def test_precond_json_shape_and_exact_float_agreement(capsys):
    js = run_json(capsys, "precond", "--cov", "diag:1,1/2,3/4", "-n", "5", "--task-cov", "diag:2,1,1/3",
                  "--noise", "0.1", "--covariates", "uniform", "--exact")
    assert set(js) - {"schema", "iclcheck_version", "command"} == {"gamma", "loss", "gamma_exact", "loss_exact",
                                                                   "setting"}  # + the envelope (docs/json.md)
    assert {"d": 3, "n": 5, "covariates": "uniform", "sigma2": 0.1, "sigma2_exact": "1/10", "task_cov": "given",
            "cov": "diag:1,1/2,3/4"}.items() <= js["setting"].items()
    G = np.array(js["gamma"])
    Gx = np.array([[float(Fraction(v)) for v in r] for r in js["gamma_exact"]])
    assert G.shape == (3, 3)
    np.testing.assert_allclose(G, Gx, rtol=1e-12, atol=1e-15)
    assert js["loss"] == pytest.approx(float(Fraction(js["loss_exact"])), rel=1e-12)


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--task-cov", "inv"],
        ["--noise", "1/3"],
        ["--covariates", "rademacher", "--task-cov", "inv", "--noise", "2"],
    ],
)
def test_precond_exact_equals_float_nondiagonal(capsys, tmp_path, extra):
    cov = tmp_path / "s.csv"
    cov.write_text("2,1/2,0\n1/2,1,1/4\n0,1/4,3\n")
    if "--covariates" in extra:
        cov.write_text("2,0,0\n0,1,0\n0,0,1/2\n")  # exact non-Gaussian needs a diagonal Sigma
    js = run_json(capsys, "precond", "--cov", str(cov), "-n", "7", "--exact", *extra)
    Gx = np.array([[float(Fraction(v)) for v in r] for r in js["gamma_exact"]])
    np.testing.assert_allclose(np.array(js["gamma"]), Gx, rtol=1e-12, atol=1e-15)
    assert js["loss"] == pytest.approx(float(Fraction(js["loss_exact"])), rel=1e-12)
    assert all("/" in v or v.lstrip("-").isdigit() for r in js["gamma_exact"] for v in r)


def test_symbolic_n_at_4_equals_the_n4_output(capsys):
    sym = run_json(capsys, "precond", "--cov", "diag:1,2,3", "-n", "n", "--exact")
    num = run_json(capsys, "precond", "--cov", "diag:1,2,3", "-n", "4", "--exact")
    assert sym["gamma"] is None and sym["loss"] is None and sym["setting"]["n"] == "n"
    n = sp.Symbol("n", positive=True, integer=True)
    loc = {"n": n}
    for rs, rn in zip(sym["gamma_exact"], num["gamma_exact"], strict=True):
        for es, en in zip(rs, rn, strict=True):
            assert sp.parse_expr(es, local_dict=loc).subs(n, 4) == sp.Rational(en)  # test-side parsing only
    Ls = sp.parse_expr(sym["loss_exact"], local_dict=loc)
    assert Ls.subs(n, 4) == sp.Rational(num["loss_exact"])
    # and the symbolic Gamma is Ahn's formula for every n (checked at several n)
    for nv in (1, 2, 9, 100):
        g = ahn_thm1_gamma([Fraction(1), Fraction(2), Fraction(3)], nv)
        got = [sp.parse_expr(sym["gamma_exact"][i][i], local_dict=loc).subs(n, nv) for i in range(3)]
        assert got == [sp.Rational(v.numerator, v.denominator) for v in g]


def test_precond_latex_and_table(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "precond", "--cov", "diag:1,2,3", "-n", "n", "--format", "latex")
    assert code == 0 and out.startswith("\\Gamma^* = ") and "\\frac{n}{n + 7}" in out and "L^* = " in out
    code, out, _ = run_cli(capsys, "precond", "--cov", "random:d=3,cond=10,seed=1", "-n", "4", "--format", "latex")
    assert code == 0 and "\\begin{matrix}" in out
    code, out, _ = run_cli(capsys, "precond", "--cov", "random:d=30,cond=10,seed=1", "-n", "4")
    assert code == 0 and "corners shown" in out and "minimal loss L* = " in out
    nondiag = tmp_path / "s.csv"
    nondiag.write_text("2,1/2\n1/2,1\n")
    code, out, _ = run_cli(capsys, "precond", "--cov", str(nondiag), "-n", "3", "--format", "latex",
                           "--covariates", "uniform")
    assert code == 0 and "\\frac" not in out and "\\begin{matrix}" in out  # no closed-form root: floats
    code, out, _ = run_cli(capsys, "precond", "--cov", "eye:101", "-n", "4", "--format", "latex")
    assert code == 0 and "\\frac" not in out and "L^* = " in out  # beyond the exact limit: floats


def test_loss_at_gamma_star_equals_precond_loss(capsys, tmp_path):
    """Two routes: full f(P, Q) at the LSA point implementing Gamma* (scaled by g) vs reduced L*."""
    args = ["--cov", "random:d=4,cond=20,seed=3", "-n", "6", "--task-cov", "diag:1,2,1/2,1", "--noise", "0.3",
            "--covariates", "uniform"]
    pre = run_json(capsys, "precond", *args)
    G = np.array(pre["gamma"])
    g = 2.5  # P -> gP, Q -> Q/g leaves f unchanged
    P = np.zeros((5, 5))
    P[4, 4] = g
    Q = np.zeros((5, 5))
    Q[:4, :4] = -G.T / g
    Q[:4, 4] = 7.0  # the last column of Q does not matter
    P[:4, :] = 3.0  # nor do the first d rows of P
    f = tmp_path / "pq.npz"
    np.savez(f, P=P, Q=Q)
    lo = run_json(capsys, "loss", *args, "--params", str(f))
    assert lo["loss"] == pytest.approx(pre["loss"], rel=1e-12)
    assert lo["setting"] == pre["setting"]


def test_loss_exact_at_the_exact_gamma_star(capsys, tmp_path):
    """diag:1,2,3, n=4: Gamma* = diag(4/11, 1/4, 4/21) (Ahn); the loss at P=e e^T, Q11=-Gamma* is L*."""
    g = ahn_thm1_gamma([Fraction(1), Fraction(2), Fraction(3)], 4)
    P = np.zeros((4, 4))
    P[3, 3] = 1
    Q = np.zeros((4, 4))
    Q[:3, :3] = -np.diag([float(v) for v in g])
    f = tmp_path / "pq.npz"
    np.savez(f, P=P, Q=Q)
    lo = run_json(capsys, "loss", "--cov", "diag:1,2,3", "-n", "4", "--params", str(f), "--exact")
    assert lo["loss"] == pytest.approx(225 / 77, rel=1e-13)
    assert abs(float(Fraction(lo["loss_exact"])) - 225 / 77) < 1e-14


@pytest.mark.parametrize(
    ("cov", "extra"),
    [
        ("diag:1,2", []),
        ("diag:1,2,1/2", ["--task-cov", "inv", "--noise", "1/5"]),
        ("diag:2,1/3", ["--covariates", "uniform", "--noise", "1"]),
        ("diag:1,3", ["--covariates", "rademacher", "--task-cov", "diag:2,1"]),
    ],
)
def test_symbolic_loss_evaluated_equals_float_loss(capsys, tmp_path, cov, extra):
    js = run_json(capsys, "loss", "--cov", cov, "-n", "5", "--symbolic", *extra)
    d = len(cov.split(","))
    expr, p, q = parse_poly(js["loss_symbolic"], d)
    assert expr.free_symbols <= set(p) | set(q)
    rng = np.random.default_rng(11)
    Sigma = np.diag([float(Fraction(v)) for v in cov[5:].split(",")])
    W = None
    if "--task-cov" in extra:
        spec = extra[extra.index("--task-cov") + 1]
        W = "inv" if spec == "inv" else np.diag([float(Fraction(v)) for v in spec[5:].split(",")])
    s2 = float(Fraction(extra[extra.index("--noise") + 1])) if "--noise" in extra else 0.0
    law = extra[extra.index("--covariates") + 1] if "--covariates" in extra else "gaussian"
    one = OneLayer(Setting.make(Sigma, 5, Sigma_w=W, sigma2=s2, covariates=law))
    for _ in range(3):
        P = rng.standard_normal((d + 1, d + 1))
        Q = rng.standard_normal((d + 1, d + 1))
        sub = {p[k]: sp.Float(P[d, k], 30) for k in range(d + 1)}
        sub.update({q[i, j]: sp.Float(Q[i, j], 30) for i in range(d + 1) for j in range(d)})
        assert float(expr.subs(sub)) == pytest.approx(one.loss(P, Q), rel=1e-10)


def test_symbolic_loss_with_symbolic_n_at_n4(capsys):
    sym = run_json(capsys, "loss", "--cov", "diag:1,2", "-n", "n", "--symbolic")
    num = run_json(capsys, "loss", "--cov", "diag:1,2", "-n", "4", "--symbolic")
    n = sp.Symbol("n", positive=True, integer=True)
    es, _, _ = parse_poly(sym["loss_symbolic"], 2, n=n)
    en, _, _ = parse_poly(num["loss_symbolic"], 2)
    assert n in es.free_symbols
    assert sp.expand(es.subs(n, 4) - en) == 0
    code, out, _ = run_cli(capsys, "loss", "--cov", "diag:1,2", "-n", "n", "--symbolic", "--format", "latex")
    assert code == 0 and out.startswith("f(P, Q) = ") and "q_{1,1}" in out


BAD_CLI = [
    ["precond", "--cov", "__import__('pathlib').Path('MARKER').touch()", "-n", "4"],
    ["precond", "--cov", "diag:__import__('pathlib').Path('MARKER').touch()", "-n", "4"],
    ["precond", "--cov", "diag:1,,2", "-n", "4"],
    ["precond", "--cov", "diag:nan", "-n", "4"],
    ["precond", "--cov", "diag:1e400", "-n", "4"],
    ["precond", "--cov", "diag:1,-1", "-n", "4"],
    ["precond", "--cov", "diag:1,0", "-n", "4"],
    ["precond", "--cov", "diag:1,1e-13", "-n", "4"],
    ["precond", "--cov", "diag:1,2", "-n", "0"],
    ["precond", "--cov", "diag:1,2", "-n", "2.5"],
    ["precond", "--cov", "diag:1,2", "-n", "n"],
    ["precond", "--cov", "diag:1,2", "-n", "4", "--noise", "-0.5"],
    ["precond", "--cov", "diag:1,2", "-n", "4", "--task-cov", "eye:3"],
    ["precond", "--cov", "/no/such/file.npy", "-n", "4"],
    ["precond", "--cov", "random:d=3,cond=5,seed=0", "-n", "4", "--exact"],
    ["precond", "--cov", "random:d=3,cond=5,seed=0", "-n", "n", "--format", "latex"],
    ["precond", "--cov", "eye:3", "-n", "4", "--covariates", "uniform", "--exact", "--task-cov", "FILE"],
    ["precond", "--cov", "eye:101", "-n", "4", "--exact"],
    ["loss", "--cov", "eye:101", "-n", "4", "--symbolic"],
    ["precond", "--cov", "NONDIAG", "-n", "3", "--exact", "--covariates", "uniform"],
    ["precond", "--cov", "NONDIAG", "-n", "n", "--format", "latex", "--covariates", "uniform"],
    ["loss", "--cov", "NONDIAG", "-n", "3", "--symbolic", "--covariates", "rademacher"],
    ["loss", "--cov", "diag:1,2", "-n", "4"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "/no/such.npz"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "MISSING_Q"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "WRONG_SHAPE"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "NAN"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "PICKLED"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "SINGLE_NPY"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "TRUNCATED"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "TEXT"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "EMPTY"],
    ["loss", "--cov", "diag:1,2", "-n", "4", "--params", "CORRUPT"],
    ["loss", "--cov", "random:d=2,cond=5,seed=0", "-n", "4", "--symbolic"],
    ["loss", "--cov", "diag:1,2", "-n", "n", "--params", "GOOD"],
]


@pytest.mark.parametrize("argv", BAD_CLI, ids=[" ".join(a)[:60] for a in BAD_CLI])
def test_bad_input_one_line_exit_2(capsys, tmp_path, argv):
    files = {
        "MISSING_Q": ("npz", {"P": np.zeros((3, 3))}),
        "WRONG_SHAPE": ("npz", {"P": np.zeros((3, 3)), "Q": np.zeros((2, 2))}),
        "NAN": ("npz", {"P": np.full((3, 3), np.nan), "Q": np.zeros((3, 3))}),
        "PICKLED": ("npz", {"P": np.array([{"x": 1}], dtype=object), "Q": np.zeros((3, 3))}),
        "SINGLE_NPY": ("npy", np.zeros((3, 3))),
        "GOOD": ("npz", {"P": np.zeros((3, 3)), "Q": np.zeros((3, 3))}),
        "FILE": ("csv", "1,1\n1,1\n"),
        "NONDIAG": ("csv", "2,1/2\n1/2,1\n"),
        "TEXT": ("npz", b"hello world"),
        "EMPTY": ("npz", b""),
        "TRUNCATED": ("npz", "truncate"),
        "CORRUPT": ("npz", "corrupt"),
    }
    marker = tmp_path / "evaluated"
    argv = [a.replace("MARKER", str(marker)) for a in argv]
    for k, a in enumerate(argv):
        if a in files:
            kind, content = files[a]
            path = tmp_path / f"{a}.{kind}"
            if isinstance(content, bytes):
                path.write_bytes(content)
            elif isinstance(content, str) and content in ("truncate", "corrupt"):
                np.savez(path, P=np.zeros((3, 3)), Q=np.zeros((3, 3)))
                raw = bytearray(path.read_bytes())
                if content == "truncate":
                    raw = raw[: len(raw) // 2]
                else:  # damage the first member's data, keep the zip directory
                    i = raw.find(b"NUMPY")
                    raw[i + 60 : i + 120] = b"x" * 60
                path.write_bytes(bytes(raw))
            elif kind == "npz":
                np.savez(path, **content)
            elif kind == "npy":
                np.save(path, content)
            else:
                path.write_text(content)
            argv[k] = str(path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"iclcheck {argv[0]}: ")
    assert "Traceback" not in err
    assert not marker.exists()  # nothing was evaluated


def test_argparse_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["precond", "--cov", "eye:2", "-n", "4", "--covariates", "cauchy"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_help_teaches(capsys):
    for cmd in ("precond", "loss"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and "iclcheck " + cmd in out


@settings(max_examples=30)
@given(st.binary(max_size=400), st.sampled_from(["npz", "npy"]))
@example(b"PK\x03\x04", "npz")
@example(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3), }", "npy")
def test_random_bytes_never_crash(tmp_path_factory, data, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"x.{kind}"
    path.write_bytes(data)
    try:
        if kind == "npz":
            load_params(str(path), 2)
        else:
            parse_cov_spec(str(path))
    except InputError as exc:
        assert "\n" not in str(exc)


@st.composite
def exact_settings(draw):
    """Small exact settings: Sigma = A A^T + I (integer A), or diagonal rationals for non-Gaussian laws."""
    d = draw(st.integers(1, 3))
    law = draw(st.sampled_from(["gaussian", "uniform", "rademacher"]))
    ints = st.integers(-3, 3)
    if law == "gaussian":
        A = sp.Matrix(d, d, [draw(ints) for _ in range(d * d)])
        S = A @ A.T + sp.eye(d)
    else:
        S = sp.diag(*[sp.Rational(draw(st.integers(1, 9)), draw(st.integers(1, 4))) for _ in range(d)])
    W = draw(st.sampled_from([None, "inv", "diag"]))
    if W == "diag":
        W = sp.diag(*[sp.Rational(draw(st.integers(1, 5)), draw(st.integers(1, 3))) for _ in range(d)])
    s2 = sp.Rational(draw(st.integers(0, 4)), draw(st.integers(1, 3)))
    return Setting.make(S, draw(st.integers(1, 40)), Sigma_w=W, sigma2=s2, covariates=law)


@given(exact_settings())
@example(Setting.make(sp.diag(1, 2, 3), 4))
@example(Setting.make(sp.Matrix([[3, 2], [2, 11]]), 2))  # L* = 1666/209, which nsimplify once turned into radicals
def test_exact_preconditioner_equals_float_and_is_stationary(setting):
    """Rational Gamma*, L* equal the float route to 1e-12, and Gamma* zeroes the brute-force gradient
    of the reduced loss (theory.derive: the literal model's moments, not the matrix formula)."""
    res = precond(setting, exact=True)  # the exact route (theory.one_layer) and the float one (OneLayer) both
    G_ex, L_ex, G, L = res.gamma_exact, res.loss_exact, res.gamma, res.loss
    assert all(e.is_Rational for e in G_ex) and L_ex.is_Rational
    np.testing.assert_allclose(G, np.array(G_ex.evalf(20), dtype=float), rtol=1e-12, atol=1e-14)
    assert L == pytest.approx(float(L_ex), rel=1e-12)
    if setting.d <= 2:  # the brute-force derivation is cheap only for small d
        Gs = sp.Matrix(setting.d, setting.d, lambda i, j: sp.Symbol(f"g{i}{j}"))
        Lb = derive_reduced_loss(setting, Gamma=Gs)
        at = dict(zip(list(Gs), list(G_ex), strict=True))
        assert all(sp.diff(Lb, g).subs(at) == 0 for g in Gs)
        assert sp.simplify(Lb.subs(at) - L_ex) == 0  # exact rationals: nsimplify turned 1666/209 into radicals


# --- extremes (issue "Trust" points 7, 8) ----------------------------------------------------------------


@pytest.mark.parametrize("n", ["4", "1000000000000", "1000000000000000"])
def test_float_loss_agrees_with_the_exact_rational_for_huge_n(capsys, n):
    # before: 1.5e-5 relative at n = 1e12 (cancellation in tr(S) - ...); the exact route is rational LU
    out = run_json(capsys, "precond", "--cov", "diag:1,2,3", "-n", n, "--noise", "1/3", "--exact")
    exact = Fraction(out["loss_exact"])
    assert abs(out["loss"] - float(exact)) <= 4e-16 * float(exact)


def test_inverse_prior_float_agrees_with_exact_at_high_condition(capsys):
    # diag(1, 1e-11) with Sigma_w = Sigma^-1: Gamma* entries span 11 decades; exact rationals are the reference
    out = run_json(capsys, "precond", "--cov", "diag:1,1e-11,3/7", "-n", "9", "--task-cov", "inv", "--noise", "0.5",
                   "--exact")
    for row, row_ex in zip(out["gamma"], out["gamma_exact"], strict=True):
        for v, e in zip(row, row_ex, strict=True):
            e = Fraction(e)
            assert abs(v - float(e)) <= 4e-16 * abs(float(e))
    assert out["loss"] == pytest.approx(float(Fraction(out["loss_exact"])), rel=4e-16)


@pytest.mark.parametrize(("argv", "fragment"), [
    (["precond", "--cov", "diag:1e155", "-n", "4"], "--cov: is too large"),
    (["precond", "--cov", "eye:2", "-n", "4", "--noise", "1e300"], "--noise: 1e+300 exceeds"),
    (["loss", "--cov", "eye:2", "-n", "4", "--noise", "1e300", "--symbolic"], "--noise"),
    (["precond", "--cov", "diag:1e-200,1e-200", "-n", "4", "--exact"], "--cov: is too small"),
    (["loss", "--cov", "eye:11", "-n", "4", "--symbolic"], "--symbolic: the closed form is printed for d <= 10"),
])
def test_overflowing_scales_are_refused_naming_the_flag(capsys, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err, err


def test_params_overflow_is_a_numerical_failure_exit_3(capsys, tmp_path):
    p = tmp_path / "big.npz"
    np.savez(p, P=np.full((3, 3), 1e100), Q=np.full((3, 3), 1e100))
    code, out, err = run_cli(capsys, "loss", "--cov", "eye:2", "-n", "3", "--params", str(p))
    assert code == 3 and "numerical failure" in err and "overflows float64" in err and err.count("\n") == 1
