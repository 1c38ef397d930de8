"""Brute-force derivation of the one-layer losses from the literal model (the independent route).

Nothing here uses the matrix closed form of ``theory.one_layer``: the loss is expanded as a
polynomial in the random variables and every monomial is replaced by its exact expectation
(``theory.moments``). It exists to check ``theory.one_layer`` and is slow by design (fine for d <= 3).

The model (STATEMENTS.md section 0). With p = P[d, :] (last row of P), Qd = Q[:, :d], z_i = (x_i, y_i),
y_i = w^T x_i + eps_i and G = sum_i z_i z_i^T, one LSA layer leaves in the query's label slot

    o = (1/n) p^T G Qd x_q,       TF = -o,       f = E (TF - w^T x_q)^2 = E (o + w^T x_q)^2.

Both predictors handled here are linear in x_q: error = x_q^T a with

    a = (1/n) sum_i v_i + sgn w,   v_i = Qd^T z_i (z_i^T p), sgn = +1          (one LSA layer)
                                   v_i = Gamma y_i x_i,       sgn = -1          (reduced predictor
                                                                  x_q^T Gamma (1/n) sum_i y_i x_i).

x_q is independent of a, so only its covariance enters: f = E a^T S a (S := Sigma). Splitting the
double sum over samples into i = j (n terms) and i != j (n(n-1) terms), and using that samples are
iid given w (m(w) := E[v_1 | w]):

    f = (1/n) E[v_1^T S v_1] + ((n-1)/n) E_w[m(w)^T S m(w)] + 2 sgn E_w[m(w)^T S w] + E[w^T S w].

Each expectation is taken monomial by monomial over independent blocks: x_1 (Gaussian N(0, S) by
Isserlis; for uniform / Rademacher laws independent coordinates x_j = sqrt(S_jj) s_j when S is
diagonal, or x = R s with a given exact symmetric root R = S^{1/2} via joint cumulants), eps_1 ~ N(0, sigma2), and w ~ N(0, Sigma_w). Polynomials live in one sparse sympy ring
whose generators are the parameters (entries of P, Q or Gamma; symbolic Sigma entries; a symbolic
sigma2) and the random variables; the moments are cached ring elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.rings import PolyElement, ring

from iclcheck.theory.errors import InputError
from iclcheck.theory.moments import GaussianMoments, IndependentMoments, LinearImageMoments
from iclcheck.theory.setting import Setting

__all__ = [
    "LossParts",
    "derive_gamma_star",
    "derive_one_layer_loss",
    "derive_one_layer_parts",
    "derive_reduced_loss",
    "gamma_symbols",
    "param_symbols",
]


def param_symbols(d: int) -> tuple[sp.Matrix, sp.Matrix]:
    """Full (d+1) x (d+1) matrices of symbols P_ij, Q_ij (the default parameters)."""
    P = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"P_{i}{j}"))
    Q = sp.Matrix(d + 1, d + 1, lambda i, j: sp.Symbol(f"Q_{i}{j}"))
    return P, Q


@dataclass(frozen=True)
class LossParts:
    """f = A/n + (n-1)/n B + 2 sgn C + D (see the module docstring), each a sympy polynomial."""

    A: sp.Expr  # E[v^T S v]
    B: sp.Expr  # E_w[m^T S m]
    C: sp.Expr  # E_w[m^T S w]
    D: sp.Expr  # E[w^T S w] = tr(S Sigma_w)
    sgn: int
    n: Any

    def total(self) -> sp.Expr:
        n = self.n
        out = self.A / n + (n - 1) * self.B / n + 2 * self.sgn * self.C + self.D
        return sp.expand(out) if not isinstance(n, sp.Basic) or n.is_Number else out


# -- the data model in exact form -----------------------------------------------------------------
def _model(
    setting: Setting, Sigma: Any, Sigma_w: Any, sigma2: Any, Sigma_half: Any = None
) -> tuple[sp.Matrix, sp.Matrix, sp.Expr, sp.Matrix | None]:
    d = setting.d
    S = sp.Matrix(Sigma) if Sigma is not None else setting.Sigma_exact
    W = sp.Matrix(Sigma_w) if Sigma_w is not None else setting.Sigma_w_exact
    s2 = sp.sympify(sigma2) if sigma2 is not None else setting.sigma2_exact
    for what, M in (("covariance Sigma", S), ("task covariance Sigma_w", W)):
        if M is None:
            raise InputError(what, "the brute-force derivation needs it exactly (integers, rationals or symbols)")
        if M.shape != (d, d):
            raise InputError(what, f"must be {d}x{d}, got {M.shape}")
        if M != M.T:
            raise InputError(what, "must be symmetric")
        if any(not (e.is_Rational or (e.is_polynomial() and e.free_symbols)) for e in M):
            raise InputError(what, "entries must be rationals or polynomials in symbols")
    if s2 is None:
        raise InputError("noise variance sigma2", "the brute-force derivation needs it exactly")
    if not (s2.is_Rational or s2.is_Symbol):
        raise InputError("noise variance sigma2", f"must be a rational or a symbol, got {s2}")
    R = None
    if Sigma_half is not None:
        R = sp.Matrix(Sigma_half)
        if R.shape != (d, d) or R != R.T or any(not e.is_Rational for e in R):
            raise InputError("Sigma_half", f"must be a symmetric {d}x{d} matrix of rationals")
        if sp.expand(R @ R - S) != sp.zeros(d, d):
            raise InputError("Sigma_half", "its square is not Sigma")
        if any(ev.is_negative for ev in R.eigenvals()):
            raise InputError("Sigma_half", "must be positive semidefinite (the symmetric PSD root)")
    elif not setting.gaussian and not S.is_diagonal():
        raise InputError(
            "covariance Sigma",
            f"{setting.covariates} covariates x = Sigma^(1/2) s are derived for a diagonal Sigma only "
            "(or pass its exact square root as Sigma_half)",
        )
    return S, W, s2, R


class _Derivation:
    """One sparse ring holding parameters and random variables, and the cached block moments."""

    def __init__(
        self, setting: Setting, params: list[sp.Matrix], S: sp.Matrix, W: sp.Matrix, s2: sp.Expr,
        R: sp.Matrix | None = None,
    ):
        d = setting.d
        self.d = d
        syms: set[sp.Symbol] = set()
        for M in [*params, S, W]:
            syms |= M.free_symbols
        syms |= s2.free_symbols
        self.param_syms = sorted(syms, key=sp.default_sort_key)
        self.w_syms = [sp.Dummy(f"w{j}") for j in range(d)]
        self.x_syms = [sp.Dummy(f"x{j}") for j in range(d)]
        self.e_sym = sp.Dummy("eps")
        gens = [*self.param_syms, *self.w_syms, *self.x_syms, self.e_sym]
        self.R, *g = ring(gens, QQ)
        k = len(self.param_syms)
        self.w = g[k:k + d]
        self.x = g[k + d:k + 2 * d]
        self.e = g[k + 2 * d]
        self.w_idx = list(range(k, k + d))
        self.x_idx = list(range(k + d, k + 2 * d))
        self.e_idx = [k + 2 * d]
        self.S = [[self.conv(S[i, j]) for j in range(d)] for i in range(d)]
        Wr = [[self.conv(W[i, j]) for j in range(d)] for i in range(d)]
        zero, one = self.R.zero, self.R.one
        if setting.gaussian:
            self.x_mom: GaussianMoments | LinearImageMoments | IndependentMoments = GaussianMoments(
                self.S, zero=zero, one=one)
        elif R is not None:  # x = R s, R = Sigma^{1/2} exact: joint cumulants of a linear image
            Rr = [[self.conv(R[i, j]) for j in range(d)] for i in range(d)]
            self.x_mom = LinearImageMoments(Rr, setting.covariates, zero=zero, one=one)
        else:
            self.x_mom = IndependentMoments.scaled([self.S[j][j] for j in range(d)], setting.covariates, one=one)
        self.w_mom = GaussianMoments(Wr, zero=zero, one=one)
        self.e_mom = GaussianMoments([[self.conv(s2)]], zero=zero, one=one)

    def conv(self, expr: Any) -> PolyElement:
        try:
            return self.R(sp.sympify(expr))
        except Exception as exc:  # sympy raises several types for non-polynomial input
            raise InputError("parameters", f"entry {expr} is not a polynomial in its symbols ({exc})") from None

    def expect(self, poly: PolyElement, blocks: list[tuple[list[int], Any]]) -> PolyElement:
        """E over the given independent blocks (generator indices, moment callable) of a ring element."""
        R = self.R
        scalar: dict[tuple[int, ...], Any] = {}
        other = R.zero
        for monom, coeff in poly.items():
            rest = list(monom)
            factor: Any = None  # the product of the blocks' moments (a ring element; 0: vanishes)
            for idx, mom in blocks:
                key = tuple(monom[i] for i in idx)
                if not any(key):
                    continue
                m = mom(key)
                if not m:
                    factor = 0
                    break
                factor = m if factor is None else factor * m
                for i in idx:
                    rest[i] = 0
            if factor == 0:
                continue
            r = tuple(rest)
            if factor is None:
                scalar[r] = scalar.get(r, 0) + coeff
            elif factor.is_ground:
                scalar[r] = scalar.get(r, 0) + coeff * factor.LC
            else:
                other += R({r: coeff}) * factor
        out = R({k: v for k, v in scalar.items() if v})
        return out + other

    def quad(self, u: list[PolyElement], v: list[PolyElement]) -> PolyElement:
        """u^T S v."""
        d = self.d
        return sum((u[i] * sum((self.S[i][j] * v[j] for j in range(d)), self.R.zero) for i in range(d)),
                   self.R.zero)

    def parts(self, v: list[PolyElement], sgn: int, n: Any) -> LossParts:
        xe = [(self.x_idx, self.x_mom), (self.e_idx, self.e_mom)]
        wb = [(self.w_idx, self.w_mom)]
        A = self.expect(self.quad(v, v), xe + wb)
        m = [self.expect(vb, xe) for vb in v]  # E[v | w], polynomials in w and the parameters
        B = self.expect(self.quad(m, m), wb)
        C = self.expect(self.quad(m, self.w), wb)
        D = self.expect(self.quad(self.w, self.w), wb)
        return LossParts(A=A.as_expr(), B=B.as_expr(), C=C.as_expr(), D=D.as_expr(), sgn=sgn, n=n)


def _check_square(M: Any, d: int, what: str) -> sp.Matrix:
    M = sp.Matrix(M)
    if M.shape != (d + 1, d + 1):
        raise InputError(what, f"must be {d + 1}x{d + 1} for d={d}, got {M.shape}")
    return M


def derive_one_layer_parts(
    setting: Setting, *, params: tuple[Any, Any] | None = None, Sigma: Any = None, Sigma_w: Any = None,
    sigma2: Any = None, Sigma_half: Any = None,
) -> LossParts:
    """The pieces A, B, C, D of the one-layer loss (see ``derive_one_layer_loss``)."""
    d = setting.d
    P, Q = param_symbols(d) if params is None else params
    P = _check_square(P, d, "parameters P")
    Q = _check_square(Q, d, "parameters Q")
    S, W, s2, R = _model(setting, Sigma, Sigma_w, sigma2, Sigma_half)
    p = P[d, :]
    Qd = Q[:, :d]
    D = _Derivation(setting, [p, Qd], S, W, s2, R)
    pr = [D.conv(p[a]) for a in range(d + 1)]
    Qr = [[D.conv(Qd[a, b]) for b in range(d)] for a in range(d + 1)]
    y = sum((D.w[k] * D.x[k] for k in range(d)), D.R.zero) + D.e
    z = [*D.x, y]
    r = sum((pr[a] * z[a] for a in range(d + 1)), D.R.zero)  # z^T p
    u = [sum((Qr[a][b] * z[a] for a in range(d + 1)), D.R.zero) for b in range(d)]  # Qd^T z
    return D.parts([r * ub for ub in u], +1, setting.n)


def derive_one_layer_loss(
    setting: Setting, *, params: tuple[Any, Any] | None = None, Sigma: Any = None, Sigma_w: Any = None,
    sigma2: Any = None, Sigma_half: Any = None,
) -> sp.Expr:
    """f(P, Q) = E (o + w^T x_q)^2 of one LSA layer, derived by brute-force moment expansion.

    params:  (P, Q), (d+1) x (d+1) sympy matrices whose entries are polynomials in symbols or numbers;
             default: full matrices of symbols ``param_symbols(d)``.
    Sigma, Sigma_w, sigma2: override the setting's exact values (e.g. a symmetric matrix of symbols
             for Sigma, a Symbol for sigma2). Symbolic Sigma: Gaussian, or non-Gaussian with diagonal Sigma.
    Sigma_half: for non-Gaussian laws with a non-diagonal Sigma, its symmetric PSD square root as an
             exact rational matrix (x = Sigma_half s; e.g. choose Sigma_half and set Sigma = Sigma_half^2).
    n:       the setting's n (int or Symbol).
    Returns a sympy expression (expanded when n is a number)."""
    return derive_one_layer_parts(
        setting, params=params, Sigma=Sigma, Sigma_w=Sigma_w, sigma2=sigma2, Sigma_half=Sigma_half
    ).total()


def gamma_symbols(d: int) -> sp.Matrix:
    """A d x d matrix of symbols G_ij (the default reduced-model parameter)."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"G_{i}{j}"))


def derive_reduced_loss(
    setting: Setting, *, Gamma: Any = None, Sigma: Any = None, Sigma_w: Any = None, sigma2: Any = None,
    Sigma_half: Any = None,
) -> sp.Expr:
    """L(Gamma) = E (x_q^T Gamma (1/n) sum_i y_i x_i - w^T x_q)^2 by brute-force moment expansion.

    Gamma: d x d sympy matrix (default: symbols G_ij)."""
    d = setting.d
    G = gamma_symbols(d) if Gamma is None else sp.Matrix(Gamma)
    if G.shape != (d, d):
        raise InputError("Gamma", f"must be {d}x{d}, got {G.shape}")
    S, W, s2, R = _model(setting, Sigma, Sigma_w, sigma2, Sigma_half)
    D = _Derivation(setting, [G], S, W, s2, R)
    Gr = [[D.conv(G[i, j]) for j in range(d)] for i in range(d)]
    y = sum((D.w[k] * D.x[k] for k in range(d)), D.R.zero) + D.e
    v = [y * sum((Gr[b][c] * D.x[c] for c in range(d)), D.R.zero) for b in range(d)]
    return D.parts(v, -1, setting.n).total()


def derive_gamma_star(
    setting: Setting, *, Sigma: Any = None, Sigma_w: Any = None, sigma2: Any = None, Sigma_half: Any = None
) -> sp.Matrix:
    """The minimiser of the brute-force reduced loss: solve dL/dGamma_ij = 0 (a linear system) exactly.

    Coefficients live in QQ(n, symbols); the solution is returned with cancelled entries."""
    d = setting.d
    G = gamma_symbols(d)
    L = derive_reduced_loss(setting, Gamma=G, Sigma=Sigma, Sigma_w=Sigma_w, sigma2=sigma2, Sigma_half=Sigma_half)
    unknowns = list(G)
    eqs = [sp.expand(sp.diff(L, g)) for g in unknowns]
    A, b = sp.linear_eq_to_matrix(eqs, unknowns)
    dA = DomainMatrix.from_Matrix(A)
    db = DomainMatrix.from_Matrix(b)
    K = dA.domain.unify(db.domain)
    K = K.get_field() if K.has_assoc_Field else K
    dA, db = dA.convert_to(K), db.convert_to(K)
    if dA.rank() < len(unknowns):
        raise InputError("setting", "the reduced loss has no unique minimiser (singular normal equations)")
    sol = dA.lu_solve(db).to_Matrix()
    return sp.Matrix(d, d, [sp.cancel(e) for e in sol])
