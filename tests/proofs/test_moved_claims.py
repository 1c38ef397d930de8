"""Claims moved to a user's setting (Context.setting): confirmed where the statement holds, refused (InputError,
never a verdict) where its hypothesis fails, and the default run untouched.

Independent route for "the statement holds here": an empirical least-squares fit of the one-layer predictor
x_q^T Gamma (1/n) sum_i y_i x_i on prompts drawn directly with numpy in this file (no toolkit code), whose
population limit is the optimal Gamma; the printed Gamma of each theorem (written out here from its statement) must
lie within the fit's standard errors.
"""

import numpy as np
import pytest
import sympy as sp

from iclcheck.cli import main
from iclcheck.proofs.registry import Context, UserSetting, all_claims, check_movable, setting_uses
from iclcheck.proofs.report import run_claims
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def _fit_gamma(Sigma, n, *, sigma2=0.0, prior="identity", samples=300_000, seed=0):
    """Least-squares Gamma of y_q ~ x_q^T Gamma h, h = (1/n) sum y_i x_i, on Gaussian prompts; with standard errors."""
    rng = np.random.default_rng(seed)
    d = Sigma.shape[0]
    lam, U = np.linalg.eigh(Sigma)
    root = (U * np.sqrt(lam)) @ U.T
    W = np.eye(d) if prior == "identity" else np.linalg.inv(Sigma)
    lw, Uw = np.linalg.eigh(W)
    wroot = (Uw * np.sqrt(lw)) @ Uw.T
    X = rng.standard_normal((samples, n, d)) @ root  # (B, n, d)
    xq = rng.standard_normal((samples, d)) @ root  # (B, d)
    w = rng.standard_normal((samples, d)) @ wroot  # (B, d)
    y = np.einsum("bnd,bd->bn", X, w) + np.sqrt(sigma2) * rng.standard_normal((samples, n))
    h = np.einsum("bnd,bn->bd", X, y) / n  # (B, d)
    F = (xq[:, :, None] * h[:, None, :]).reshape(samples, d * d)  # features xq_i h_j
    t = np.einsum("bd,bd->b", xq, w)
    coef, *_ = np.linalg.lstsq(F, t, rcond=None)
    resid = t - F @ coef
    cov = np.linalg.inv(F.T @ F) * resid.var()
    return coef.reshape(d, d), np.sqrt(np.diag(cov)).reshape(d, d)


def _moved(key, setting):
    return run_claims([all_claims()[key]], Context(setting=setting))[0]


def test_thm1_confirmed_at_a_rotated_sigma_and_the_fit_agrees():
    S = np.array([[2.0, 0.6], [0.6, 1.0]])
    n = 6
    res = _moved("ahn2023.thm1", Setting.make(S, n))
    assert res.verdict.value == "confirmed"
    assert any("your Sigma" in s.name for s in res.steps)
    lam, U = np.linalg.eigh(S)
    printed = (U / ((n + 1) / n * lam + lam.sum() / n)) @ U.T  # Thm 1 as printed
    G, se = _fit_gamma(S, n)
    assert np.all(np.abs(G - printed) <= 5 * se), (G, printed, se)


def test_mahankali_thm2_confirmed_with_noise_and_the_fit_agrees():
    S = sp.Matrix([[2, 1], [1, 3]])
    n, s2 = 5, sp.Rational(1, 2)
    res = _moved("mahankali2023.thm2", Setting.make(S, n, Sigma_w="inv", sigma2=s2))
    assert res.verdict.value == "confirmed"
    assert any("exact" in s.name for s in res.steps)  # exact inputs: an exact step ran
    Sf = np.array(S, dtype=float)
    printed = n / (n + 2 + 1 + 0.5) * np.linalg.inv(Sf)  # eta Sigma^-1 as printed
    G, se = _fit_gamma(Sf, n, sigma2=0.5, prior="inverse")
    assert np.all(np.abs(G - printed) <= 5 * se), (G, printed, se)


def test_eq7_and_mahankali_thm1_and_zfb_at_isotropic_settings():
    assert _moved("ahn2023.eq7", Setting.make(sp.eye(3) * 2, 7)).verdict.value == "confirmed"
    assert _moved("mahankali2023.thm1", Setting.make(sp.eye(2), 4, sigma2=sp.Rational(1, 3))).verdict.value == \
        "confirmed"
    assert _moved("zfb2024.thm4_1", Setting.make(np.diag([1.0, 3.0]), 5)).verdict.value == "confirmed"


def test_eq7_scaled_statement_matches_the_fit():
    c, n, d = 2.0, 4, 2
    G, se = _fit_gamma(c * np.eye(d), n)
    printed = 1 / ((n - 1) / n + (d + 2) / n) / c * np.eye(d)  # eq. (7) in the units x -> x / sqrt(c)
    assert np.all(np.abs(G - printed) <= 5 * se)


def test_beyond_the_certificate_size_the_verdict_is_inconclusive_not_confirmed():
    res = _moved("ahn2023.thm1", Setting.make(np.eye(12) * 1.5, 50))
    assert res.verdict.value == "inconclusive"
    assert any(s.status.value == "inconclusive" and "not checked" in s.detail for s in res.steps)


@pytest.mark.parametrize(("key", "setting", "what"), [
    ("mahankali2023.thm2", lambda: Setting.make(np.eye(3), 5, Sigma_w="inv", covariates="uniform"), "covariates"),
    ("ahn2023.thm1", lambda: Setting.make(np.eye(2), 5, covariates="rademacher"), "covariates"),
    ("ahn2023.thm1", lambda: Setting.make(np.eye(2), 5, sigma2=0.1), "sigma2"),
    ("ahn2023.thm1", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("ahn2023.eq7", lambda: Setting.make(np.diag([1.0, 2.0]), 5), "Sigma"),
    ("mahankali2023.thm1", lambda: Setting.make(np.eye(2) * 3, 5), "Sigma"),
    ("mahankali2023.thm2", lambda: Setting.make(np.eye(2), 5), "Sigma_w"),
    ("vonoswald2023.setup", lambda: Setting.make(np.eye(2), 5), "setting"),
])
def test_a_failed_hypothesis_is_refused_not_refuted(key, setting, what):
    claim = all_claims()[key]
    with pytest.raises(InputError) as e:
        check_movable(claim, setting())
    assert e.value.what == what and key in e.value.problem
    with pytest.raises(InputError):  # run_claims refuses before running anything: no verdict at all
        run_claims([claim], Context(setting=setting()))


def test_setting_uses_names_what_moves():
    assert setting_uses(Setting.make(np.eye(2), 3)) == ("Sigma", "n")
    assert setting_uses(UserSetting(Setting.make(np.eye(2), 3, sigma2=1, Sigma_w="inv", covariates="uniform"),
                                    L=2)) == ("Sigma", "n", "Sigma_w", "sigma2", "law", "L")


def test_default_context_has_no_setting_and_unmoved_claims_keep_parameters_empty():
    assert Context().setting is None and Context().moved is None
    moved = {k for k, c in all_claims().items() if c.parameters}
    assert {"ahn2023.thm1", "ahn2023.eq7", "mahankali2023.thm1", "mahankali2023.thm2", "zfb2024.thm4_1"} <= moved


def test_cli_moves_skips_and_refuses(capsys):
    assert main(["verify", "ahn2023.eq7", "vonoswald2023.setup", "--cov", "eye:2", "-n", "5"]) == 0
    out, err = capsys.readouterr()
    assert "vonoswald2023.setup is not run at this setting" in err and "ahn2023.eq7" in out
    assert "at your setting: d=2, n=5" in out
    assert main(["verify", "vonoswald2023.setup", "--cov", "eye:2", "-n", "5"]) == 2
    assert "none of the selected claims" in capsys.readouterr().err
    assert main(["verify", "ahn2023.eq7", "--cov", "eye:2", "-n", "5", "--noise", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--noise" in err and "ahn2023.eq7" in err
    assert main(["verify", "ahn2023.eq7", "--cov", "eye:2", "-n", "5", "-L", "2"]) == 2
    assert "-L" in capsys.readouterr().err
    assert main(["verify", "ahn2023.eq7", "--noise", "0.1"]) == 2  # a setting option without --cov/-n
    assert main(["verify", "ahn2023.eq7", "--cov", "eye:2"]) == 2
