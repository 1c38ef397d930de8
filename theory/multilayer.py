"""Exact L-layer LSA losses on Ahn et al.'s restricted families, as polynomials (canonical model).

Derivation (from the literal forward pass, STATEMENTS.md section 0).

Condition (8): P_l = [[0, 0], [0, 1]], Q_l = -[[A_l, 0], [0, 0]]. Then Z_l^T Q_l Z_l has entries
-x_i^T A_l x_j and only the label row moves: y_j <- y_j - (1/n) sum_{i<=n} y_i x_i^T A_l x_j for every
column j (query included, its label starts at 0). By induction y_j^{(l)} = y_j - x_j^T u_l (context)
and y_q^{(l)} = -x_q^T u_l with u_0 = 0 and

    u_{l+1} = u_l - A_l^T (S u_l - (1/n) X^T y),        S = (1/n) X^T X,                (Lemma 1)

so TF = -[Z_L]_{d+1,n+1} = x_q^T u_L: L steps of preconditioned GD on R(u) = (1/2n)|Xu - y|^2.

Whitening. With x = Sigma^{1/2} s and D = diag(Sigma^{1/2}, 1), Z = D Z_s and one layer (P, Q) on Z is
the layer (D^{-1} P D, D Q D) on Z_s (the bottom row of D is e_{d+1}, so the prediction is unchanged).
Hence A_l = a_l Sigma^{-1} becomes A_l = a_l I, B_l = b_l I stays b_l I, and w ~ N(0, Sigma^{-1})
becomes w_s = Sigma^{1/2} w ~ N(0, I): Ahn's Thm 3/4 setting reduces exactly to Sigma = I.

Loss (whitened, A_l = a_l I, Sigma = I, w ~ N(0, I), noise eps ~ N(0, sigma2 I_n)). The error
e_l = u_l - w obeys e_{l+1} = (I - a_l S) e_l + a_l X^T eps / n, e_0 = -w, so with
p(x) = prod_l (1 - a_l x) and r(x) = (1 - p(x)) / x (a polynomial since p(0) = 1),

    e_L = -p(S) w + r(S) X^T eps / n,
    f   = E |e_L|^2 = E tr p(S)^2 + (sigma2 / n) E tr(S r(S)^2),

because x_q ~ N(0, I) is independent of e_L and E[X^T eps eps^T X] = sigma2 n S. Writing
p(x) = sum_j c_j x^j (c_0 = 1) and m_k = E tr(S^k) (``theory.sample_moments``):

    f = sum_{j,k>=0} c_j c_k m_{j+k} + (sigma2/n) sum_{j,k>=1} c_j c_k m_{j+k-1},

a convex quadratic in (c_1..c_L) (Hankel matrices of moments of a measure on (0, inf)). The loss
depends on a only through the elementary symmetric functions, c_j = (-1)^j e_j(a): it is invariant
under permuting the layers, so the per-layer order is not identifiable from the loss. The a_l are the
roots of t^L + c_1 t^{L-1} + ... + c_L; when the quadratic's minimiser has only real roots, the
global minimum over a in R^L equals the convex minimum (a certificate, ``optimal_gd_exact``).
Without noise this always happens: the minimiser of E tr p(S)^2 with p(0) = 1 is the kernel polynomial
of the expected spectral measure mu of S, orthogonal for x dmu(x) on (0, inf), so its roots 1/a_l are
real, simple and positive. With noise it can fail (e.g. d = 5, n = 20, L = 2, sigma2 = 10): then no real
steps attain the convex bound and the best real steps repeat a value. Since dc/da has determinant
+-prod_{i<j} (a_i - a_j), every critical point of F(a) with distinct a_i is the convex minimiser; all
other critical points repeat a coefficient.

Condition (11) (GD++): P_l = [[B_l, 0], [0, 1]], Q_l = -[[A_l, 0], [0, 0]], A_l = a_l I, B_l = b_l I
(whitened). Every token moves: x_j <- (I - B_l S_l A_l) x_j with S_l the current sample covariance,
so x^{(l)} = T_l(S) x with T_0 = 1, T_{l+1} = (1 - a_l b_l x T_l^2) T_l, S_l = T_l^2 S, and

    u_{l+1} = u_l + a_l T_l(S)^2 ((1/n) X^T y - S u_l),

the same form with factors (1 - a_l x T_l(x)^2): p(x) = prod_l (1 - a_l x T_l(x)^2), and the same
loss formula (the identity x r(x) = 1 - p(x) still holds). deg p = 1, 4, 13 for L = 1, 2, 3
(deg T_{l+1} = 3 deg T_l + 1), so the exact loss needs moments up to 2 deg p; B_{L-1} never enters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from iclcheck.theory.errors import InputError
from iclcheck.theory.sample_moments import trace_moments

__all__ = [
    "a_symbols",
    "b_symbols",
    "gd_polynomial",
    "gdpp_polynomial",
    "loss_from_polynomial",
    "gd_loss",
    "gdpp_loss_at",
    "OptimalGD",
    "optimal_gd_exact",
    "gdpp_degree",
]

x_sym = sp.Symbol("x")


def _check_L(L: Any) -> int:
    if isinstance(L, bool) or not isinstance(L, int) or L < 1:
        raise InputError("L (number of layers)", f"must be a positive integer, got {L!r}")
    return L


def a_symbols(L: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"a0:{_check_L(L)}", real=True)


def b_symbols(L: int) -> tuple[sp.Symbol, ...]:
    return sp.symbols(f"b0:{_check_L(L)}", real=True)


def _polymul(p: list[Any], q: list[Any]) -> list[Any]:
    out = [0] * (len(p) + len(q) - 1)
    for i, u in enumerate(p):
        if u == 0:
            continue
        for j, v in enumerate(q):
            out[i + j] = out[i + j] + u * v
    return out


def gd_polynomial(a: Sequence[Any]) -> list[Any]:
    """Coefficients [c_0, ..., c_L] of p(x) = prod_l (1 - a_l x) (works for sympy or float a)."""
    p: list[Any] = [1]
    for al in a:
        p = _polymul(p, [1, -al])
    return p


def gdpp_degree(L: int) -> int:
    """deg p for the GD++ family with L layers (1, 4, 13, 40, ...)."""
    t, deg = 0, 0
    for _ in range(_check_L(L)):
        deg += 2 * t + 1
        t = 3 * t + 1
    return deg


def gdpp_polynomial(a: Sequence[Any], b: Sequence[Any]) -> list[Any]:
    """Coefficients of p(x) = prod_l (1 - a_l x T_l(x)^2), T_0 = 1, T_{l+1} = (1 - a_l b_l x T_l^2) T_l."""
    if len(b) < len(a) - 1:
        raise InputError("b coefficients", f"need at least L-1 = {len(a) - 1} values, got {len(b)}")
    p: list[Any] = [1]
    T: list[Any] = [1]
    for l, al in enumerate(a):
        xT2 = [0, *_polymul(T, T)]  # x T_l(x)^2
        p = _polymul(p, [(1 if i == 0 else 0) - al * c for i, c in enumerate(xT2)])  # (1 - a_l x T_l^2)
        if l < len(a) - 1:
            T = _polymul([(1 if i == 0 else 0) - al * b[l] * c for i, c in enumerate(xT2)], T)
    return p


def loss_from_polynomial(c: Sequence[Any], m: Sequence[Any], *, sigma2: Any, n: Any) -> Any:
    """f = sum_{j,k} c_j c_k m_{j+k} + (sigma2/n) sum_{j,k>=1} c_j c_k m_{j+k-1}; m_k = E tr(S^k)."""
    K = len(c) - 1
    if len(m) < 2 * K + 1:
        raise InputError("moments", f"need E tr(S^k) up to k = {2 * K}, got {len(m) - 1}")
    total = 0
    for j in range(K + 1):
        if c[j] == 0:
            continue
        for k in range(K + 1):
            if c[k] == 0:
                continue
            total = total + c[j] * c[k] * m[j + k]
            if j >= 1 and k >= 1 and sigma2 != 0:
                total = total + sigma2 / n * c[j] * c[k] * m[j + k - 1]
    return total


def _exact_scalar(v: Any, what: str) -> Any:
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, bool):
        raise InputError(what, "must be a number, got a boolean")
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, float):
        return sp.Rational(v).limit_denominator(10**12) if v != 0 else sp.Integer(0)
    raise InputError(what, f"must be a number or a sympy expression, got {v!r}")


def gd_loss(L: int, *, n: Any, d: Any, sigma2: Any = 0, a: Sequence[Any] | None = None) -> Any:
    """Exact loss of L layers under (8), whitened: a sympy polynomial in a_0..a_{L-1}
    (coefficients rational in n, d when they are symbols)."""
    L = _check_L(L)
    a = a_symbols(L) if a is None else a
    m = trace_moments(2 * L, n=n, d=d)
    nn = n if isinstance(n, sp.Symbol) else sp.Integer(n)
    return sp.expand(loss_from_polynomial(gd_polynomial(a), m, sigma2=_exact_scalar(sigma2, "sigma2"), n=nn))


def gdpp_loss_at(a: Sequence[Any], b: Sequence[Any], *, n: int, d: int, sigma2: Any = 0) -> Any:
    """Exact GD++ loss at given (exact or symbolic) a, b; moments up to 2 deg p (L <= 3 is cheap)."""
    p = gdpp_polynomial(list(a), list(b))
    m = trace_moments(2 * (len(p) - 1), n=n, d=d)
    return sp.expand(loss_from_polynomial(p, m, sigma2=_exact_scalar(sigma2, "sigma2"), n=sp.Integer(n)))


class OptimalGD:
    """The exact optimum of the L-layer (8) family: polynomial coefficients c (rational), the Hankel
    matrix H of the quadratic, the minimal loss, the a_l (real algebraic numbers, as sympy roots)."""

    def __init__(self, c: list[Any], H: sp.Matrix, h: sp.Matrix, m0: Any, loss: Any,
                 a_roots: list[Any] | None, positive_definite: bool):
        self.c = c
        self.H = H
        self.h = h
        self.m0 = m0
        self.loss = loss
        self.a_roots = a_roots  # None when some root is non-real
        self.positive_definite = positive_definite

    @property
    def certified(self) -> bool:
        """Global minimum over a in R^L proven: convex quadratic (H > 0) minimised at real a."""
        return self.positive_definite and self.a_roots is not None

    def a_float(self, digits: int = 30) -> list[float]:
        if self.a_roots is None:
            raise InputError("optimum", "the convex optimum has non-real roots: no real a attains it")
        return sorted(float(sp.N(r, digits)) for r in self.a_roots)


def optimal_gd_exact(L: int, *, n: int, d: int, sigma2: Any = 0) -> OptimalGD:
    """Exact minimiser of the (8)-family loss in polynomial space, with the certificate pieces.

    Quadratic: f(c) = m0 + 2 h^T c + c^T H c, H_{jk} = m_{j+k} + (sigma2/n) m_{j+k-1}, h_j = m_j
    (j, k = 1..L); minimiser c* = -H^{-1} h, minimum m0 - h^T H^{-1} h."""
    L = _check_L(L)
    s2 = _exact_scalar(sigma2, "sigma2")
    m = trace_moments(2 * L, n=n, d=d)
    nn = n if isinstance(n, sp.Symbol) else sp.Integer(n)
    H = sp.Matrix(L, L, lambda j, k: m[j + k + 2] + s2 / nn * m[j + k + 1])
    h = sp.Matrix(L, 1, lambda j, _: m[j + 1])
    pd = all(H[:k, :k].det() > 0 for k in range(1, L + 1)) if not isinstance(n, sp.Symbol) else False
    c = list(H.LUsolve(-h))
    loss = sp.simplify(m[0] + (h.T * sp.Matrix(c))[0, 0])
    t = sp.Symbol("t")
    poly = sp.Poly(sum(ci * t ** (L - 1 - i) for i, ci in enumerate(c)) + t**L, t)
    roots = None
    if not isinstance(n, sp.Symbol):
        rr = sp.real_roots(poly)
        roots = list(rr) if len(rr) == L else None
    return OptimalGD(c=[sp.Integer(1), *c], H=H, h=h, m0=m[0], loss=loss, a_roots=roots, positive_definite=pd)
