"""The claims moved to a user's setting through ``Claim.at_setting`` (issue 18, part 3): each runs at a non-default
setting with the verdict asserted and one of its numbers recomputed here by another route (numpy written in this
file, no toolkit code), and a setting its statement does not cover is refused (InputError naming the parameter)."""

import json

import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from iclcheck.proofs.registry import Context, UserSetting, all_claims, check_movable
from iclcheck.proofs.report import run_claims
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting


def _spd(d, seed):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T / d + 0.5 * np.eye(d)


def _moved(key, setting):
    [res] = run_claims([all_claims()[key]], Context(setting=setting))
    return res


def _step(res, text):
    [s] = [s for s in res.steps if text in s.name]
    return s


def test_wu_gamma_star_at_a_random_sigma_with_prior_scale_and_noise():
    S, n, psi2, s2 = _spd(3, 1), 7, 2.0, 0.3
    res = _moved("wu2024.gamma_star", Setting.make(S, n, Sigma_w=psi2 * np.eye(3), sigma2=s2))
    assert res.verdict.value == "confirmed"
    # master optimum written out: Gamma* = W S M^-1, M = (n+1)/n S W S + (tr(S W) + s2)/n S
    W = psi2 * np.eye(3)
    M = (n + 1) / n * S @ W @ S + (np.trace(S @ W) + s2) / n * S
    master = W @ S @ np.linalg.inv(M)
    np.testing.assert_allclose(_step(res, "recorded Gamma* = OneLayer").computed, master, rtol=1e-10)
    exact = _moved("wu2024.gamma_star", Setting.make(sp.Matrix([[2, 1], [1, 3]]), 5, Sigma_w=sp.eye(2) * 3,
                                                     sigma2=sp.Rational(1, 2)))
    assert exact.verdict.value == "confirmed" and sum(s.exact for s in exact.steps) == 2


def test_ahn_thm3_at_a_random_sigma_two_layers_and_the_loss_by_monte_carlo():
    S, n, d = _spd(3, 2), 8, 3
    res = _moved("ahn2023.thm3", UserSetting(Setting.make(S, n, Sigma_w="inv"), L=2))
    assert res.verdict.value == "confirmed"
    assert any("every entry" in s.name for s in res.steps)  # the exact full-matrix gradient ran at this Sigma
    a = np.array(_step(res, "restricted optimum certified").computed)
    F = float(_step(res, "restricted optimum certified").detail.split("F(a*) = ")[1].split(";")[0])
    # whitened loss E tr p(S)^2, p(x) = (1 - a_0 x)(1 - a_1 x), S = X^T X / n, X ~ N(0, I): plain numpy
    rng = np.random.default_rng(5)
    X = rng.standard_normal((100_000, n, d))
    Sm = np.einsum("bni,bnj->bij", X, X) / n
    I = np.eye(d)
    Pm = (I - a[0] * Sm) @ (I - a[1] * Sm)
    v = np.einsum("bij,bij->b", Pm, Pm)
    assert abs(v.mean() - F) <= 5 * v.std() / np.sqrt(v.size)


def test_ahn_thm3_beyond_the_exact_gradient_is_inconclusive_not_confirmed():
    res = _moved("ahn2023.thm3", UserSetting(Setting.make(_spd(3, 3), 8, Sigma_w="inv"), L=5))
    assert res.verdict.value == "inconclusive"


def test_gatmiry_at_a_random_sigma_one_and_two_loops():
    st = Setting.make(_spd(3, 4), 8, Sigma_w="inv")
    one = _moved("gatmiry2024.looped_tied", UserSetting(st, L=1))
    assert one.verdict.value == "confirmed"
    assert _step(one, "L = 1: tied a*").computed == sp.Rational(8, 12)  # n/(n+d+1)
    two = _moved("gatmiry2024.looped_tied", UserSetting(st, L=2))
    assert two.verdict.value == "confirmed"
    a = float(two.finding.split("tied a* = ")[1].split(",")[0])
    tied = float(two.finding.split("tied loss ")[1].split(" ")[0])
    # the tied loss E tr (I - a S)^4 (whitened) by plain numpy Monte Carlo
    rng = np.random.default_rng(6)
    X = rng.standard_normal((100_000, 8, 3))
    R = np.eye(3) - a * np.einsum("bni,bnj->bij", X, X) / 8
    R2 = R @ R
    v = np.einsum("bij,bij->b", R2, R2)
    assert abs(v.mean() - tied) <= 5 * v.std() / np.sqrt(v.size)


def test_ahn_thm2_at_d1_and_the_optimum_by_exact_moments():
    n = 4
    res = _moved("ahn2023.thm2", Setting.make(np.eye(1), n))
    assert res.verdict.value == "confirmed"
    a = np.sort(np.array(_step(res, "scalar family").computed))
    # d = 1: s = chi2_n / n, E s^k = prod_{j<k} (n + 2j) / n; F(a) = E (1 - a0 s)^2 (1 - a1 s)^2
    m = [np.prod([(n + 2 * j) / n for j in range(k)]) for k in range(5)]

    def F(x):
        c = np.polynomial.polynomial.polymul([1, -x[0]], [1, -x[1]])
        c2 = np.polynomial.polynomial.polymul(c, c)
        return sum(ck * m[k] for k, ck in enumerate(c2))

    best = optimize.minimize(F, [0.2, 0.8], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    np.testing.assert_allclose(np.sort(best.x), a, atol=1e-6)


def test_ahn_thm5_at_d4_and_the_loss_by_a_numpy_relu_forward_pass():
    d, n = 4, 9
    res = _moved("ahn2023.thm5", Setting.make(np.eye(d), n))
    assert res.verdict.value == "confirmed"
    a = 2 * n / (2 * (d + 2) + n - 1)  # the printed A = -a I
    # one ReLU layer at P = e e^T, Q11 = -a I: TF = -(1/n) sum_i y_i ReLU(x_i^T (-a I) x_q), target w^T x_q
    rng = np.random.default_rng(7)
    B = 200_000
    X = rng.standard_normal((B, n, d))
    xq = rng.standard_normal((B, d))
    w = rng.standard_normal((B, d))
    y = np.einsum("bnd,bd->bn", X, w)
    tf = -np.mean(y * np.maximum(-a * np.einsum("bnd,bd->bn", X, xq), 0.0), axis=1)
    v = (tf - np.einsum("bd,bd->b", xq, w)) ** 2
    printed = _step(res, "closed-form loss at the printed point").computed
    assert abs(v.mean() - printed) <= 5 * v.std() / np.sqrt(B)


def test_vonoswald_prop1_on_prompts_of_a_noisy_uniform_law():
    res = _moved("vonoswald2023.prop1", Setting.make(_spd(4, 8), 9, sigma2=0.5, covariates="uniform"))
    assert res.verdict.value == "confirmed"
    assert all(s.deviation is not None and s.deviation < 1e-12 for s in res.steps)


def _master(S, W, n, s2):
    """Gamma* = W S M^-1 and L* = tr(S W) - tr(Gamma* S W S), M = (n+1)/n S W S + (tr(S W) + s2)/n S (Gaussian)."""
    M = (n + 1) / n * S @ W @ S + (np.trace(S @ W) + s2) / n * S
    G = W @ S @ np.linalg.inv(M)
    return G, float(np.trace(S @ W) - np.trace(G @ S @ W @ S)), M


def test_wu_near_bayes_at_a_random_sigma():
    S, n, psi2, s2 = _spd(3, 9), 10, 2.0, 0.5
    res = _moved("wu2024.near_bayes_optimal", Setting.make(S, n, Sigma_w=psi2 * np.eye(3), sigma2=s2))
    assert res.verdict.value == "confirmed"
    _, L, _ = _master(S, psi2 * np.eye(3), n, s2)
    assert _step(res, "L* = sum_i").expected == pytest.approx(L, rel=1e-10)
    assert f"L* = {L:.6g}" in res.finding


def test_wu_context_length_at_a_random_sigma_and_a_test_length():
    S, n, k, s2 = _spd(3, 10), 10, 4, 0.5
    res = _moved("wu2024.context_length_mismatch",
                 UserSetting(Setting.make(S, n, sigma2=s2), test=Setting.make(S, k, sigma2=s2)))
    assert res.verdict.value == "confirmed"
    Gn, _, _ = _master(S, np.eye(3), n, s2)
    Gk, _, Mk = _master(S, np.eye(3), k, s2)
    D = Gn - Gk
    assert _step(res, "excess").computed == pytest.approx(float(np.trace(D.T @ S @ D @ Mk)), rel=1e-9)
    np.testing.assert_allclose(_step(res, "Gamma*_k^-1").computed, np.linalg.inv(Gk) - np.linalg.inv(Gn), rtol=1e-9)


def test_vonoswald_gdpp_and_giannou_on_prompts_of_an_anisotropic_law():
    st = Setting.make(np.diag([100.0, 1.0, 0.01]), 30, sigma2=0.2)
    for key in ("vonoswald2023.gdpp", "giannou2025.newton_two_layers"):
        res = _moved(key, st)
        assert res.verdict.value == "confirmed"
        assert all(s.deviation is not None and s.deviation < 1e-12 for s in res.steps)


def test_zhang2025_plateaus_at_a_random_lambda():
    S, n = _spd(4, 11), 9
    res = _moved("zhang2025.attnS.plateau_losses", Setting.make(S, n))
    assert res.verdict.value == "confirmed"
    # L(M_m) = tr L - sum_{i<=m} lam_i / (1 + (1 + tr L/lam_i)/N), eigenvalues decreasing; at m = D it is the
    # one-layer optimum tr(S) - tr(Gamma* S^2) of the master formula written out here
    lam = np.sort(np.linalg.eigvalsh(S))[::-1]
    want = [lam.sum() - sum(v / (1 + (1 + lam.sum() / v) / n) for v in lam[:m]) for m in range(5)]
    np.testing.assert_allclose(_step(res, "Eckart-Young").expected, want, rtol=1e-12)
    _, L, _ = _master(S, np.eye(4), n, 0.0)
    assert _step(res, "Eckart-Young").computed[-1] == pytest.approx(L, rel=1e-10)


def test_zfb_thm4_2_at_a_random_lambda_noisy_test_law_and_length_by_monte_carlo():
    S, N, M, s2 = _spd(2, 12), 6, 3, 0.4
    W = np.diag([1.0, 2.0])
    res = _moved("zfb2024.thm4_2.prediction_error",
                 UserSetting(Setting.make(S, N, Sigma_w=W, sigma2=s2), test=Setting.make(S, M, Sigma_w=W, sigma2=s2)))
    assert res.verdict.value == "confirmed"
    value = float(_step(res, "Thm 4.2 RHS = master").expected)
    # the trained predictor x_q^T Gamma (1/M) sum y_i x_i, Gamma = Gamma_ZFB^-1 = ((1+1/N) S + tr(S)/N I)^-1, on test
    # prompts of length M with noisy labels and a noisy query target: plain numpy Monte Carlo
    G = np.linalg.inv((1 + 1 / N) * S + np.trace(S) / N * np.eye(2))
    rng = np.random.default_rng(13)
    B = 400_000
    root = np.linalg.cholesky(S)
    X = rng.standard_normal((B, M + 1, 2)) @ root.T
    w = rng.standard_normal((B, 2)) * np.sqrt(np.diag(W))
    y = np.einsum("bmd,bd->bm", X, w) + np.sqrt(s2) * rng.standard_normal((B, M + 1))
    h = np.einsum("bmd,bm->bd", X[:, :M], y[:, :M]) / M
    v = (np.einsum("bd,de,be->b", X[:, M], G, h) - y[:, M]) ** 2
    assert abs(v.mean() - value) <= 5 * v.std() / np.sqrt(B)


def test_zfb_covariate_shift_at_a_random_lambda_and_a_scaled_test_covariance():
    S, N, M, c2 = _spd(3, 14), 9, 4, 2.25
    res = _moved("zfb2024.sec4_2.covariate_shift", UserSetting(Setting.make(S, N), test=Setting.make(c2 * S, M)))
    assert res.verdict.value == "confirmed"
    # the master loss of the trained Gamma = ((1+1/N) S + tr(S)/N I)^-1 at (c^2 S, M), w ~ N(0, I), written out:
    # tr S' - 2 tr(G S'^2) + tr(G^T S' G M'), M' = (M+1)/M S'^2 + tr(S')/M S'
    G = np.linalg.inv((1 + 1 / N) * S + np.trace(S) / N * np.eye(3))
    Sp = c2 * S
    want = np.trace(Sp) - 2 * np.trace(G @ Sp @ Sp) + np.trace(G.T @ Sp @ G @ ((M + 1) / M * Sp @ Sp
                                                                                + np.trace(Sp) / M * Sp))
    assert float(_step(res, "derived finite-M error").expected) == pytest.approx(want, rel=1e-10)


def test_ahn_lemma1_at_a_user_law_is_refuted_as_printed_and_confirmed_as_released():
    res = _moved("ahn2023.lemma1", UserSetting(Setting.make(_spd(3, 15), 7, Sigma_w="inv", covariates="uniform"), L=2))
    assert res.verdict.value == "refuted"  # the same verdict as at the built-in settings (non-symmetric A_l)
    assert [s.status.value for s in res.steps] == ["pass", "fail", "pass", "pass"]
    assert res.finding and "A_l^T" in res.finding


def test_akyurek_algebra_on_prompts_of_a_user_law():
    res = _moved("akyurek2023.ridge_bayes_constructions",
                 Setting.make(_spd(4, 16), 9, Sigma_w=2 * np.eye(4), sigma2=0.3, covariates="uniform"))
    assert res.verdict.value == "confirmed"
    assert all(s.deviation is not None and s.deviation < 1e-11 for s in res.steps)
    assert "lambda=0.15" in res.steps[0].name  # lambda = sigma^2 / tau^2 = 0.3 / 2


def test_mahankali_thm3_at_d2_n5_with_noise_and_the_relu_eta_by_stein():
    d, n, s2 = 2, 5, 0.5
    res = _moved("mahankali2023.thm3", Setting.make(np.eye(d), n, sigma2=s2))
    assert res.verdict.value == "confirmed"
    # ReLU single index: E_x relu(beta^T x) x = beta / 2 (Stein), so m = 1/4; E[(f^2 + s2)|x|^2] =
    # E[relu(t)^2 t^2] + (d-1) E[relu(t)^2] + s2 d = 3/2 + (d-1)/2 + s2 d; eta = n m / (E2 + (n-1) m)
    m, e2 = 0.25, 1.5 + (d - 1) / 2 + s2 * d
    eta = n * m / (e2 + (n - 1) * m)
    name = _step(res, "full-LSA gradient at the GD point vanishes (relu").name
    assert f"eta*={eta:.4g}" in name


def test_zwb_gap_at_a_random_sigma_and_psi_by_the_master_formula():
    S, n, s2 = _spd(3, 17), 9, 0.3
    W = np.diag([1.0, 2.0, 0.5])
    res = _moved("zwb2024.gd_beta_vs_lsa", Setting.make(S, n, Sigma_w=W, sigma2=s2))
    assert res.verdict.value == "confirmed"
    v = np.linalg.eigh(S)[1][:, -1]
    mu = np.sqrt(np.trace(W)) * v
    gap = _master(S, W + np.outer(mu, mu), n, s2)[1] - _master(S, W, n, s2)[1]  # t = 1
    printed = _step(res, "gap > 0").detail.split("gap = ")[1].split(";")[0].split(", ")
    assert float(printed[2]) == pytest.approx(gap, rel=1e-4)  # printed to 5 significant digits


def test_zfb_balanced_limit_at_a_random_lambda():
    S, N = _spd(3, 18), 9
    res = _moved("zfb2024.thm4_1.balanced_limit", Setting.make(S, N))
    assert res.verdict.value == "confirmed"
    Gam = (1 + 1 / N) * S + np.trace(S) / N * np.eye(3)  # ZFB's Gamma written out
    Gi = np.linalg.inv(Gam)
    u_star = np.trace(Gi @ Gi) ** 0.25
    step = _step(res, "flow limit u(t)")
    assert step.expected == pytest.approx(u_star, rel=1e-12)
    assert abs(step.computed - u_star) < 1e-8 and abs(step.computed - 1 / u_star) > 1e6 * abs(step.computed - u_star)  # not -1/4


@pytest.mark.parametrize(("key", "setting", "what"), [
    ("wu2024.gamma_star", lambda: Setting.make(np.eye(2), 5, Sigma_w=np.diag([1.0, 2.0])), "Sigma_w"),
    ("wu2024.gamma_star", lambda: Setting.make(np.eye(2), 5, covariates="uniform"), "covariates"),
    ("ahn2023.thm3", lambda: Setting.make(np.eye(2), 5), "Sigma_w"),
    ("ahn2023.thm3", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv", sigma2=0.1), "sigma2"),
    ("ahn2023.thm3", lambda: UserSetting(Setting.make(np.eye(2), 5, Sigma_w="inv"), L=21), "L"),
    ("gatmiry2024.looped_tied", lambda: UserSetting(Setting.make(np.eye(2), 5, Sigma_w="inv"), L=13), "L"),
    ("gatmiry2024.looped_tied", lambda: Setting.make(np.eye(2), 5, Sigma_w=np.diag([1.0, 2.0])), "Sigma_w"),
    ("ahn2023.thm2", lambda: Setting.make(np.diag([1.0, 2.0]), 5), "Sigma"),
    ("ahn2023.thm2", lambda: Setting.make(np.eye(4), 5), "Sigma"),
    ("ahn2023.thm2", lambda: UserSetting(Setting.make(np.eye(2), 5), L=3), "L"),
    ("ahn2023.thm5", lambda: Setting.make(2 * np.eye(2), 5), "Sigma"),
    ("ahn2023.thm5", lambda: Setting.make(np.eye(2), 5, sigma2=0.5), "sigma2"),
    ("vonoswald2023.prop1", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("wu2024.near_bayes_optimal", lambda: Setting.make(np.eye(2), 5), "sigma2"),
    ("wu2024.near_bayes_optimal", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv", sigma2=1), "Sigma_w"),
    ("wu2024.context_length_mismatch", lambda: UserSetting(Setting.make(np.eye(2), 5),
                                                           test=Setting.make(2 * np.eye(2), 5)), "test setting"),
    ("wu2024.context_length_mismatch", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("vonoswald2023.gdpp", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("giannou2025.newton_two_layers", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("zhang2025.attnS.plateau_losses", lambda: Setting.make(np.eye(2), 5, sigma2=0.1), "sigma2"),
    ("zhang2025.attnS.plateau_losses", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv"), "Sigma_w"),
    ("zfb2024.thm4_2.prediction_error", lambda: UserSetting(Setting.make(np.eye(2), 5),
                                                            test=Setting.make(np.eye(2), 5, sigma2=1)), "test setting"),
    ("zfb2024.thm4_2.prediction_error", lambda: Setting.make(np.eye(2), 5, covariates="uniform"), "covariates"),
    ("zfb2024.sec4_2.covariate_shift", lambda: Setting.make(np.eye(2), 5, sigma2=0.1), "sigma2"),
    ("zfb2024.sec4_2.covariate_shift", lambda: UserSetting(Setting.make(np.eye(2), 5),
                                                           test=Setting.make(np.eye(2), 5, sigma2=1)), "test setting"),
    ("ahn2023.lemma1", lambda: Setting.make(np.eye(2), 5, sigma2=0.1), "sigma2"),
    ("akyurek2023.ridge_bayes_constructions", lambda: Setting.make(np.eye(2), 5), "sigma2"),
    ("mahankali2023.thm3", lambda: Setting.make(np.diag([1.0, 2.0]), 5), "Sigma"),
    ("mahankali2023.thm3", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv"), "Sigma_w"),
    ("mahankali2023.thm3", lambda: Setting.make(np.eye(10), 50), "n"),
    ("zwb2024.gd_beta_vs_lsa", lambda: Setting.make(np.eye(2), 5, covariates="uniform"), "covariates"),
    ("zfb2024.thm4_1.balanced_limit", lambda: Setting.make(np.eye(2), 5, sigma2=0.1), "sigma2"),
    ("zfb2024.thm4_1.balanced_limit", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv"), "Sigma_w"),
    ("ahn2023.thm4", lambda: Setting.make(np.eye(2), 5), "Sigma_w"),
    ("ahn2023.thm4", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv", sigma2=0.1), "sigma2"),
    ("ahn2023.thm4", lambda: UserSetting(Setting.make(np.eye(2), 5, Sigma_w="inv"), L=4), "L"),
    ("fu2023.thm5_1", lambda: UserSetting(Setting.make(np.eye(2), 5), L=2), "L"),
    ("akyurek2023.ridge_bayes_constructions", lambda: Setting.make(np.eye(2), 5, Sigma_w="inv", sigma2=1), "Sigma_w"),
])
def test_a_setting_outside_the_statement_is_refused_naming_the_parameter(key, setting, what):
    with pytest.raises(InputError) as e:
        check_movable(all_claims()[key], setting())
    assert e.value.what == what and key in e.value.problem


def test_every_movable_built_in_claim_runs_through_its_declared_hook():
    claims = all_claims()
    movable = [k for k, c in claims.items() if c.parameters]
    assert len(movable) >= 25
    assert all(claims[k].at_setting is not None for k in movable), [k for k in movable if claims[k].at_setting is None]


def test_a_hook_without_parameters_is_rejected_and_the_old_pattern_still_runs():
    from iclcheck.proofs.registry import Claim
    from iclcheck.proofs.verdict import Checker

    with pytest.raises(ValueError, match="at_setting"):
        Claim(key="x.y", title="t", source="s", statement="st", notation="no", verify=lambda ctx: Checker(),
              at_setting=lambda ctx, user: Checker())

    def old(ctx):  # a plugin's verify that reads ctx.setting itself (no hook)
        chk = Checker()
        chk.decided("saw the setting", ctx.setting is not None, "old pattern")
        return chk

    c = Claim(key="x.old", title="t", source="s", statement="st", notation="no", verify=old, parameters=("Sigma", "n"))
    assert c.run(Context(setting=Setting.make(np.eye(2), 3))).verdict.value == "confirmed"


def test_list_shows_what_each_claim_moves_in(capsys):
    import json

    from iclcheck.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert " moves " in out and "of them run at your setting" in out
    assert main(["list", "--format", "json"]) == 0
    rows = {c["key"]: c for c in json.loads(capsys.readouterr().out)["claims"]}
    assert rows["ahn2023.thm3"]["movable"] and rows["ahn2023.thm3"]["parameters"] == ["Sigma", "n", "Sigma_w", "L"]
    assert not rows["lu2024.phenomenology"]["movable"] and "proportional limit" in rows["lu2024.phenomenology"]["fixed"]


def _gdpp_loss_mc(a, b, d, n, samples, seed):
    """E (TF - w^T x_q)^2 of the literal (11) layers at A_l = a_l I, B_l = b_l I on whitened prompts (x, w ~ N(0, I)):
    Z <- Z + (1/n) P Z M Z^T Q Z, P = [[B, 0], [0, 1]], Q = -[[A, 0], [0, 0]], M masking the query column."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, n + 1, d))  # the last token is the query
    w = rng.standard_normal((samples, d))
    Z = np.concatenate([X, np.einsum("bnd,bd->bn", X, w)[..., None]], axis=2)  # (B, n+1, d+1), tokens as rows
    target = Z[:, n, d].copy()
    Z[:, n, d] = 0.0
    for al, bl in zip(a, b, strict=True):
        Xa = Z[:, :, :d]  # (B, n+1, d)
        scores = -al * np.einsum("bid,bjd->bij", Xa[:, :n], Xa)  # (B, n, n+1): z_i^T Q z_j over context i
        upd = np.einsum("bid,bij->bjd", Z[:, :n], scores) / n  # (B, n+1, d+1): sum_i z_i (z_i^T Q z_j)
        upd[:, :, :d] *= bl
        Z = Z + upd
    v = (-Z[:, n, d] - target) ** 2
    return v.mean(), v.std() / np.sqrt(samples)


def test_ahn_thm4_at_a_random_sigma_two_layers_and_the_loss_by_a_numpy_forward_pass():
    d, n = 2, 12
    res = _moved("ahn2023.thm4", UserSetting(Setting.make(_spd(d, 19), n, Sigma_w="inv"), L=2))
    assert res.verdict.value == "confirmed", [(s.name, s.status.value, s.detail) for s in res.steps]
    note = res.finding
    a = np.array(json.loads(note.split("a = ")[1].split(", b = ")[0]))
    b = np.array(json.loads(note.split(", b = ")[1].split(" (")[0]))
    F = float(note.split("F = ")[1].split(" vs")[0])
    # the loss does not depend on Sigma (whitening): the literal (11) forward pass on whitened prompts, plain numpy
    mean, se = _gdpp_loss_mc(a, b, d, n, 200_000, 21)
    assert abs(mean - F) <= 5 * se, (mean, se, F)


def test_fu_thm5_1_at_a_user_law_is_refuted_as_printed_and_the_corrected_layer_holds():
    res = _moved("fu2023.thm5_1", Setting.make(_spd(3, 20), 8, sigma2=0.3, covariates="uniform"))
    assert res.verdict.value == "refuted"
    assert [s.status.value for s in res.steps] == ["fail", "pass", "pass", "pass"]
    assert res.finding and "V_2 = -V_1" in res.finding

