"""Exact facts about softmax attention (sympy): the infinite-prompt (Gaussian tilting) limit, the small-temperature
and small-width expansions of one head and of paired heads, and the exact one-step (centred) GD risks they reduce to.

1. Gaussian tilting. For x ~ N(0, Sigma), y = beta^T x + eps and a fixed score vector a = W x_q, the law of large
   numbers gives sum_i softmax(x_i^T a)_i y_i -> E[y e^{x^T a}] / E[e^{x^T a}] = grad log M(a) . beta with the
   Gaussian moment generating function M(t) = exp(t^T Sigma t / 2): the limit is beta^T Sigma W x_q, linear
   attention with preconditioner Sigma W. ``tilting_limit`` derives it from M (symbolic Sigma, a, beta).
   The finite-n error is a ratio estimator's: n E (yhat_n - yhat_inf)^2 -> exp(a^T Sigma a) ((beta^T Sigma a)^2 +
   beta^T Sigma beta + sigma2) (delta method; E[g(x) e^{2 x^T a}] = M(2a) E_{N(2 Sigma a, Sigma)} g and
   M(2a) / M(a)^2 = exp(a^T Sigma a)): ``tilting_rate_constant``.
2. Small temperature: sum_i p_i(beta) y_i = ybar + (beta / n) sum_i y_i (a_i - abar) + O(beta^2) (p_i the softmax of
   beta a_i): linear attention on *centred* scores plus the context mean (``small_beta_series``).
3. Paired heads (He et al. 2025): mu sum_i y_i [p_i(omega) - p_i(-omega)] is odd in omega and equals
   (2 mu omega / n) sum_i y_i (a_i - abar) + O(omega^3): one GD step on centred covariates when a_i = x_i^T x_q
   (``paired_heads_series``).
4. One-step GD risks, x ~ N(0, I_d), w ~ N(0, v I_d), context noise sigma2, query noise sq2, prediction
   gamma x_q^T (1/n) X^T C y with C = I (plain) or the centring matrix (centred): X^T C X is Wishart with m = n
   (plain) or n - 1 (centred) degrees of freedom, E X^T C X = m I, E (X^T C X)^2 = m (m + d + 1) I, so
   E[w^T h] = m v d / n, E ||h||^2 = m d (v (m + d + 1) + sigma2) / n^2 and the optimum over gamma is
   v d + sq2 - m v^2 d / (v (m + d + 1) + sigma2) (``one_step_gd_risk``). It depends on m only: the centred
   optimum at n is the plain optimum at n - 1.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["gaussian_mgf", "one_step_gd_risk", "one_step_gd_risk_at", "paired_heads_odd", "paired_heads_series", "small_beta_series", "tilting_limit",
           "tilting_rate_constant"]


def gaussian_mgf(Sigma: sp.Matrix, t: sp.Matrix) -> sp.Expr:
    """E exp(t^T x) for x ~ N(0, Sigma)."""
    return sp.exp((t.T * Sigma * t)[0, 0] / 2)


def tilting_limit(Sigma: sp.Matrix, beta: sp.Matrix, a: sp.Matrix) -> sp.Expr:
    """E[y e^{x^T a}] / E[e^{x^T a}] for y = beta^T x + eps (eps independent, mean 0), from the MGF:
    E[x e^{x^T a}] = grad_t M(t) at t = a (differentiation under the integral)."""
    d = Sigma.shape[0]
    t = sp.Matrix(sp.symbols(f"t0:{d}"))
    M = gaussian_mgf(Sigma, t)
    grad = sp.Matrix([sp.diff(M, ti) for ti in t])  # E[x e^{x^T t}]
    sub = dict(zip(t, a, strict=True))
    return sp.expand((beta.T * grad.subs(sub))[0, 0] / M.subs(sub))  # exp(f) / exp(f) cancels on construction


def tilting_rate_constant(Sigma, beta, a, sigma2) -> sp.Expr:
    """lim n E (yhat_n - yhat_inf)^2 = exp(a^T Sigma a) ((beta^T Sigma a)^2 + beta^T Sigma beta + sigma2)."""
    Sigma, beta, a = sp.Matrix(Sigma), sp.Matrix(beta), sp.Matrix(a)
    q = (a.T * Sigma * a)[0, 0]
    return sp.exp(q) * ((beta.T * Sigma * a)[0, 0] ** 2 + (beta.T * Sigma * beta)[0, 0] + sigma2)


def _softmax(scores: list, s: sp.Symbol) -> list:
    E = [sp.exp(s * a) for a in scores]
    tot = sum(E)
    return [e / tot for e in E]


def _taylor(expr: sp.Expr, s: sp.Symbol, order: int) -> sp.Expr:
    """sum_{k < order} expr^{(k)}(0) s^k / k! (derivatives at 0; faster than sp.series on softmax ratios)."""
    out, dk = 0, expr
    for k in range(order):
        out += sp.cancel(dk.subs(s, 0)) * s**k / sp.factorial(k)
        dk = sp.diff(dk, s)
    return out


def small_beta_series(n: int, order: int = 2) -> tuple[sp.Expr, sp.Expr, tuple]:
    """(series of sum_i p_i(beta) y_i to O(beta^order), the claimed ybar + (beta/n) sum y_i (a_i - abar),
    (a, y, beta)) with symbolic scores a_i and labels y_i."""
    a, y, b = sp.symbols(f"a0:{n}"), sp.symbols(f"y0:{n}"), sp.Symbol("beta")
    out = sum(p * yi for p, yi in zip(_softmax(list(a), b), y, strict=True))
    ser = _taylor(out, b, order)
    abar = sum(a) / n
    return ser, sum(y) / n + b / n * sum(yi * (ai - abar) for ai, yi in zip(a, y, strict=True)), (a, y, b)


def paired_heads_series(n: int, order: int = 2) -> tuple[sp.Expr, sp.Expr, tuple]:
    """(series of mu sum_i y_i [p_i(omega) - p_i(-omega)] to O(omega^order), the claimed (2 mu omega / n)
    sum_i y_i (a_i - abar), (a, y, omega, mu)). The function is odd in omega (its definition, ``paired_heads_odd``),
    so the series to O(omega^2) is the series to O(omega^3)."""
    a, y = sp.symbols(f"a0:{n}"), sp.symbols(f"y0:{n}")
    w, mu = sp.symbols("omega mu")
    plus, minus = _softmax(list(a), w), _softmax(list(a), -w)
    out = mu * sum(yi * (p - m) for yi, p, m in zip(y, plus, minus, strict=True))
    ser = _taylor(out, w, order)
    abar = sum(a) / n
    return ser, 2 * mu * w / n * sum(yi * (ai - abar) for ai, yi in zip(a, y, strict=True)), (a, y, w, mu)


def paired_heads_odd(n: int) -> sp.Expr:
    """f(omega) + f(-omega) for f the paired-head output (0 exactly: f is odd)."""
    a, y = sp.symbols(f"a0:{n}"), sp.symbols(f"y0:{n}")
    w = sp.Symbol("omega")

    def f(s):
        return sum(yi * (p - m) for yi, p, m in zip(y, _softmax(list(a), s), _softmax(list(a), -s), strict=True))

    return f(w) + f(-w)


def one_step_gd_risk(n, d, v, sigma2, sq2=0, *, centred: bool = False) -> tuple[sp.Expr, sp.Expr]:
    """(optimal gamma, optimal risk) of the one-step (plain or centred) GD predictor of the module doc (4);
    exact for rational inputs, symbolic otherwise."""
    n, d, v, sigma2, sq2 = (sp.nsimplify(x) if isinstance(x, (int, float)) else x for x in (n, d, v, sigma2, sq2))
    m = n - 1 if centred else n
    Eh = m * v * d / n  # E[w^T h]
    Ehh = m * d * (v * (m + d + 1) + sigma2) / n**2  # E ||h||^2
    return sp.simplify(Eh / Ehh), sp.simplify(v * d + sq2 - Eh**2 / Ehh)


def one_step_gd_risk_at(gamma, n, d, v, sigma2, sq2=0, *, centred: bool = False) -> sp.Expr:
    """The risk of the one-step (plain or centred) GD predictor gamma x_q^T (1/n) X^T C y of the module doc (4) at a
    given gamma: gamma^2 E||h||^2 - 2 gamma E[w^T h] + v d + sq2 (exact for rational inputs)."""
    gamma, n, d, v, sigma2, sq2 = (sp.nsimplify(x) if isinstance(x, (int, float)) else x
                                   for x in (gamma, n, d, v, sigma2, sq2))
    m = n - 1 if centred else n
    return sp.simplify(gamma**2 * m * d * (v * (m + d + 1) + sigma2) / n**2 - 2 * gamma * m * v * d / n + v * d + sq2)
