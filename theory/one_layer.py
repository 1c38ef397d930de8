"""The one-layer LSA pre-training loss in closed form (canonical model, STATEMENTS.md section 0).

Derivation (kept here because the code is only as good as it):

With b = P[d, :d], c = P[d, d] (last row of P), Q11 = Q[:d, :d], q21 = Q[d, :d] (first d columns of
Q), z_i = (x_i, y_i) and G = sum_i z_i z_i^T, the bottom-right entry after one layer is

    o = (1/n) p^T G Q[:, :d] x_q,          TF = -o,        f = E (o + w^T x_q)^2.

x_q is independent of the rest with E x_q x_q^T = S (:= Sigma), so with K = Q[:, :d] S Q[:, :d]^T,

    f = (1/n^2) E p^T G K G p + (2/n) E p^T G Q[:, :d] S w + tr(S W)          (W := Sigma_w).

Conditional on w, z = A_w xi with A_w = [[I, 0], [w^T, 1]], xi = (x, eps) = R s, R = diag(S^{1/2},
sigma), s standardized with independent coordinates of fourth moment kappa_j. For symmetric N,
E s s^T N s s^T = 2N + tr(N) I + diag((kappa - 3) * diag N). Hence with C_w = E[z z^T | w]:

    E[G K G | w] = n(n+1) C_w K C_w + n tr(C_w K) C_w + n A_w R Delta(R^T A_w^T K A_w R) R^T A_w^T,

and the w-average of the polynomials that remain is taken with Isserlis' rule (w Gaussian). With
beta = S b, tau = tr(S W) + sigma2, omega = tr(S W S W), K11 = Q11 S Q11^T, k12 = Q11 S q21,
k22 = q21^T S q21, h_j the j-th column of S^{1/2}:

    T1 = beta^T K11 beta + c^2 tr(S K11 S W) + 2 c tau beta^T k12 + 2 c k12^T S W beta
         + k22 (beta^T W beta + c^2 (tau^2 + 2 omega))
    T2 = t0 e0 + c^2 tau t0 + k22 tau e0 + k22 c^2 (tau^2 + 2 omega) + 4 c k12^T S W beta
         (t0 = tr(S K11), e0 = b^T S b)
    T3 = sum_j (kappa_j - 3) [al_j^2 m_j + al_j^2 k22 nu_j + 4 c al_j g_j nu_j + c^2 m_j nu_j
                              + 3 c^2 k22 nu_j^2]
         (al = S^{1/2} b, m = diag(S^{1/2} K11 S^{1/2}), g = S^{1/2} k12, nu = diag(S^{1/2} W S^{1/2}))
    f  = (n+1)/n T1 + T2/n + T3/n + 2 (beta^T W S q21 + c tr(S Q11 S W)) + tr(S W).

Reduced model (b = 0, c = 1, q21 = 0, Q11 = -Gamma^T): the predictor x_q^T Gamma (1/n) sum y_i x_i has

    L(Gamma) = tr(Gamma^T S Gamma M) - 2 tr(Gamma^T S W S) + tr(S W),
    M        = (n+1)/n S W S + tau/n S + (1/n) H,   H = S^{1/2} diag((kappa - 3) * nu) S^{1/2},

a convex quadratic (M > 0) with unique minimiser Gamma* = W S M^{-1} and minimum
L* = tr(S W) - tr(M^{-1} S W S W S).

Everything is written once, over an ``ops`` namespace, so the same code runs exactly in sympy (this
module, ``SYMPY_OPS``) and fast in numpy (``numerics.one_layer.closed_form``). Vectors are column matrices.
The formula is checked against an independent brute-force moment expansion of the literal model
(``theory.derive``), the literal forward pass by Monte Carlo, and the papers' special cases.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

# sympy is imported inside the functions that need it (and ``SYMPY_OPS`` is built on first use), so the
# float path (numerics.one_layer.closed_form, the CLI without --exact) never imports it.

__all__ = [
    "SYMPY_OPS",  # noqa: F822 (built on first use)
    "exact_inputs",
    "exact_optimum",
    "full_loss_exact",
    "full_loss_formula",
    "gamma_star_exact",
    "gamma_star_symbolic",
    "master_gamma_star_symbolic",
    "master_loss_symbolic",
    "min_loss_exact",
    "reduced_M_formula",
    "reduced_loss_formula",
    "split_params",
]


def _sympy_ops() -> SimpleNamespace:
    import sympy as sp

    return SimpleNamespace(
        tr=lambda A: A.trace(),
        diagcol=lambda A: sp.Matrix([A[i, i] for i in range(A.shape[0])]),
        had=lambda u, v: u.multiply_elementwise(v),
        total=lambda u: sum(u),
        scalar=lambda A: A[0, 0],
        diagmat=lambda u: sp.diag(*list(u)),
    )


_LAZY: dict[str, Any] = {}


def __getattr__(name: str) -> Any:  # SYMPY_OPS, built (and sympy imported) on first use
    if name == "SYMPY_OPS":
        if name not in _LAZY:
            _LAZY[name] = _sympy_ops()
        return _LAZY[name]
    raise AttributeError(name)


def split_params(P: Any, Q: Any, d: int) -> tuple[Any, Any, Any, Any]:
    """(b, c, Q11, q21) from full (d+1)x(d+1) P, Q; b, q21 as d x 1 columns."""
    b = P[d, :d].T
    c = P[d, d]
    Q11 = Q[:d, :d]
    q21 = Q[d, :d].T
    return b, c, Q11, q21


def full_loss_formula(S, W, Sh, km3, sigma2, n, b, c, Q11, q21, ops) -> Any:
    """f(P, Q) of one LSA layer. S, W, Sh (= S^{1/2}) d x d; km3 = (kappa_j - 3) as a column;
    b, q21 columns; c scalar; Q11 d x d. See the module docstring for the derivation."""
    tr, sc = ops.tr, ops.scalar
    SW = S @ W
    tau = tr(SW) + sigma2
    omega = tr(SW @ SW)
    beta = S @ b
    K11 = Q11 @ S @ Q11.T
    k12 = Q11 @ S @ q21
    k22 = sc(q21.T @ S @ q21)
    k12SWbeta = sc(k12.T @ SW @ beta)
    T1 = (
        sc(beta.T @ K11 @ beta)
        + c**2 * tr(S @ K11 @ SW)
        + 2 * c * tau * sc(beta.T @ k12)
        + 2 * c * k12SWbeta
        + k22 * (sc(beta.T @ W @ beta) + c**2 * (tau**2 + 2 * omega))
    )
    t0 = tr(S @ K11)
    e0 = sc(b.T @ beta)
    T2 = t0 * e0 + c**2 * tau * t0 + k22 * tau * e0 + k22 * c**2 * (tau**2 + 2 * omega) + 4 * c * k12SWbeta
    al = Sh @ b
    m = ops.diagcol(Sh @ K11 @ Sh)
    g = Sh @ k12
    nu = ops.diagcol(Sh @ W @ Sh)
    had = ops.had
    al2 = had(al, al)
    T3 = ops.total(
        had(
            km3,
            had(al2, m)
            + k22 * had(al2, nu)
            + 4 * c * had(had(al, g), nu)
            + c**2 * had(m, nu)
            + 3 * c**2 * k22 * had(nu, nu),
        )
    )
    cross = 2 * (sc(beta.T @ W @ S @ q21) + c * tr(S @ Q11 @ SW))
    return (n + 1) / n * T1 + T2 / n + T3 / n + cross + tr(SW)


def reduced_M_formula(S, W, Sh, km3, sigma2, n, ops) -> Any:
    """M = (n+1)/n S W S + tau/n S + (1/n) S^{1/2} diag(km3 * nu) S^{1/2}."""
    tau = ops.tr(S @ W) + sigma2
    nu = ops.diagcol(Sh @ W @ Sh)
    H = Sh @ ops.diagmat(ops.had(km3, nu)) @ Sh
    return (n + 1) / n * (S @ W @ S) + tau / n * S + H / n


def reduced_loss_formula(S, W, Sh, km3, sigma2, n, Gamma, ops) -> Any:
    """L(Gamma) = tr(Gamma^T S Gamma M) - 2 tr(Gamma^T S W S) + tr(S W)."""
    M = reduced_M_formula(S, W, Sh, km3, sigma2, n, ops)
    return ops.tr(Gamma.T @ S @ Gamma @ M) - 2 * ops.tr(Gamma.T @ S @ W @ S) + ops.tr(S @ W)


def exact_inputs(setting: Setting, n: Any = None) -> tuple:
    """(S, W, Sh, km3, sigma2, n) as exact sympy objects.

    Needs exact Sigma, Sigma_w, sigma2. For non-Gaussian covariates the law x = Sigma^{1/2} s needs
    Sigma^{1/2} in closed form, which this supports for diagonal Sigma only."""
    import sympy as sp

    if not setting.is_exact:
        raise InputError(
            "exact mode", "needs Sigma, Sigma_w and sigma2 given exactly (integers or rationals a/b)"
        )
    S = setting.Sigma_exact
    W = setting.Sigma_w_exact
    d = setting.d
    km3 = sp.Matrix([setting.kurtosis - 3] * d)
    if setting.gaussian:
        Sh = sp.zeros(d, d)  # multiplied by km3 = 0 only; never used otherwise
    else:
        if not S.is_diagonal():
            raise InputError(
                "exact mode",
                f"{setting.covariates} covariates need Sigma^(1/2) in closed form; exact mode supports "
                "a diagonal Sigma for them (the float closed form covers any Sigma)",
            )
        Sh = sp.diag(*[sp.sqrt(S[i, i]) for i in range(d)])
    n = setting.n if n is None else n
    if not isinstance(n, sp.Basic):
        n = sp.Integer(n)  # a Python int would make (n + 1) / n float division
    return S, W, Sh, km3, setting.sigma2_exact, n


def _simplify(e: Any) -> Any:
    import sympy as sp

    return e if e.is_Rational else sp.factor(e)  # field elements are already in lowest terms


def exact_optimum(setting: Setting) -> tuple[Any, Any]:  # (sympy Matrix, sympy expression)
    """(Gamma*, L*) exactly: rationals for rational inputs, rational functions of n for symbolic n.

    Gamma* = W S M^{-1} <=> M Gamma*^T = (W S)^T (M symmetric), solved by exact LU over the field
    QQ (or QQ(n)) of sympy's DomainMatrix, which keeps entries in lowest terms without calls to
    simplify (symbolic n at d = 5: 2 s instead of 14 s). L* = tr(S W) - tr(Gamma*^T S W S)."""
    from sympy.polys.matrices import DomainMatrix

    S, W, Sh, km3, s2, n = exact_inputs(setting)
    M = reduced_M_formula(S, W, Sh, km3, s2, n, __getattr__("SYMPY_OPS"))  # (d, d), symmetric
    dM = DomainMatrix.from_Matrix(M)
    dB = DomainMatrix.from_Matrix((W @ S).T)
    dSWS = DomainMatrix.from_Matrix(S @ W @ S)  # (d, d), free of n
    K = dM.domain.unify(dB.domain).unify(dSWS.domain)
    K = K.get_field() if K.has_assoc_Field else K
    GT = dM.convert_to(K).lu_solve(dB.convert_to(K))  # (d, d) = Gamma*^T, entries in K
    gt, sws = GT.to_list(), dSWS.convert_to(K).to_list()
    d = len(gt)
    L = K.convert(K.from_sympy((S @ W).trace())) - sum(
        (gt[i][j] * sws[j][i] for i in range(d) for j in range(d)), K.zero
    )
    return GT.transpose().to_Matrix().applyfunc(_simplify), _simplify(K.to_sympy(L))


def gamma_star_exact(setting: Setting) -> Any:  # a sympy Matrix
    """Exact Gamma* = W S M^{-1} (rational for rational inputs; symbolic n allowed)."""
    return exact_optimum(setting)[0]


def min_loss_exact(setting: Setting, Gamma: Any = None) -> Any:
    """Exact L* = tr(S W) - tr(Gamma^T S W S) at Gamma* (default) or at a given *stationary* Gamma
    (the identity L(Gamma) = tr(S W) - tr(Gamma^T S W S) holds only where Gamma M = W S; elsewhere use
    reduced_loss_formula)."""
    import sympy as sp

    if Gamma is None:
        return exact_optimum(setting)[1]
    S, W, Sh, km3, s2, n = exact_inputs(setting)
    val = (S @ W).trace() - (Gamma.T @ S @ W @ S).trace()
    return _simplify(sp.cancel(val)) if setting.n_is_symbolic else sp.nsimplify(val) if not val.is_Rational else val


def full_loss_exact(setting: Setting, P: Any, Q: Any) -> Any:  # sympy Matrices -> a sympy expression
    """The exact full one-layer loss f(P, Q) (full_loss_formula over sympy)."""
    S, W, Sh, km3, s2, n = exact_inputs(setting)
    d = setting.d
    b, c, Q11 = P[d, :d].T, P[d, d], Q[:d, :d]
    q21 = Q[d, :d].T
    return full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, __getattr__("SYMPY_OPS"))


def master_loss_symbolic(S: Any, W: Any, sigma2: Any, n: Any, Gamma: Any) -> Any:
    """The master reduced loss L(Gamma) (noiseless target) for Gaussian covariates, over sympy; W (the task
    covariance) may have symbolic entries (Setting only takes numbers)."""
    import sympy as sp

    d = S.shape[0]
    return reduced_loss_formula(S, W, sp.zeros(d, d), sp.zeros(d, 1), sigma2, n, Gamma, __getattr__("SYMPY_OPS"))


def master_gamma_star_symbolic(S: Any, W: Any, sigma2: Any, n: Any) -> Any:  # sympy Matrices
    """The master optimum W S M^{-1} (reduced_M_formula), Gaussian covariates, entries cancelled (faster than
    gamma_star_symbolic's simplify for symbolic sigma2, psi2)."""
    import sympy as sp

    d = S.shape[0]
    M = reduced_M_formula(S, W, sp.zeros(d, d), sp.zeros(d, 1), sigma2, n, __getattr__("SYMPY_OPS"))
    return (W * S * M.inv()).applyfunc(sp.cancel)


def gamma_star_symbolic(S: Any, W: Any, n: Any, sigma2: Any, *, Sh: Any = None, kurtosis: Any = 3) -> Any:
    """Gamma* = W S M^{-1} from the derived M, allowing a symbolic sigma^2 (Setting only takes numbers); sympy
    Matrices. Sh = S^{1/2} is needed only for non-Gaussian covariates."""
    import sympy as sp

    d = S.shape[0]
    km3 = sp.Matrix([kurtosis - 3] * d)
    M = reduced_M_formula(S, W, Sh if Sh is not None else sp.zeros(d, d), km3, sigma2, n, __getattr__("SYMPY_OPS"))
    return (W * S * M.inv()).applyfunc(sp.simplify)
