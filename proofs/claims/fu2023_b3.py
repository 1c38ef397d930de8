"""[Fu et al. 2023/2024, App. B.3 "Newton as a sum of moments"] M_1, M_2 and the degree of M_k (arXiv 2310.17086).

Setting: M_0 = alpha S, M_{k+1} = 2 M_k - M_k S M_k (eq. 5). Printed: M_1 = 2 alpha S - 4 alpha^2 S^3,
M_2 = 4 alpha S - 12 alpha^2 S^3 + 16 alpha^3 S^5 - 16 alpha^4 S^7; in general M_k is a polynomial in S of
degree 2^(k+1) - 1. Checked exactly: the recursion in a commuting symbol s for S (every M_k is a polynomial
in S, so S commutes with all of them), an independent closed form (1 - (1 - alpha s^2)^(2^k)) / s, and a
random rational symmetric matrix S with the matrix recursion itself.
"""

from __future__ import annotations

import sympy as sp

from iclcheck.proofs.registry import Claim, Context, Profiles
from iclcheck.proofs.verdict import Checker, Finding, Reach
from iclcheck.theory import newton as nt
from iclcheck.theory.notation import fu
from iclcheck.theory.notation.fu import correct_b3

__all__ = ["CLAIM", "correct_b3"]

KEY = "fu2023.b3"
SOURCE = "[Fu, Chen, Jia, Sharan 2024, App. B.3 (Iterative Newton as a sum of moments)] arXiv 2310.17086"
STATEMENT = (
    "M_1 = 2 alpha S - 4 alpha^2 S^3, M_2 = 4 alpha S - 12 alpha^2 S^3 + 16 alpha^3 S^5 - 16 alpha^4 S^7; in general "
    "M_k is a polynomial in S of degree 2^(k+1) - 1."
)
NOTATION = "S = X^T X and M_0 = alpha S exactly as in eq. 5 (fu2023.eq5); s is a commuting symbol standing for S."
MAX_K = 6  # degrees checked for k = 0..MAX_K (degree 127 at k = 6)


# the random instances' sizes per profile (registry.Profiles)
SIZES = Profiles(quick=dict(trials=2), thorough=dict(trials=10))


def verify(ctx: Context) -> tuple[Checker, Finding | None]:
    ck = Checker()
    a, s = sp.symbols("alpha s")
    ms = nt.newton_polys(MAX_K, alpha=a, s=s)
    printed = fu.printed_b3(alpha=a, s=s)
    ck.exact("as printed: M_1 = 2 alpha S - 4 alpha^2 S^3 (vs the recursion 2 M_0 - M_0 S M_0)", printed[1], ms[1])
    ck.exact("as printed: M_2 = 4aS - 12a^2S^3 + 16a^3S^5 - 16a^4S^7 (vs the recursion)", printed[2], ms[2])
    pm1 = printed[1]
    ck.exact("diagnosis: the printed M_2 is exactly the recursion applied to the printed M_1 (the error is in M_1)",
             sp.expand(2 * pm1 - pm1 * s * pm1), printed[2])
    ck.exact(f"recursion = closed form (1 - (1 - alpha s^2)^(2^k))/s for k = 0..{MAX_K} (independent route)",
             sp.Matrix(ms), sp.Matrix([nt.newton_closed_form(k, alpha=a, s=s) for k in range(MAX_K + 1)]))
    degs = [sp.Poly(m, s).degree() for m in ms]
    lead = [sp.Poly(m, s).LC() for m in ms]
    ck.exact(f"degree of M_k = 2^(k+1) - 1 for k = 0..{MAX_K}", sp.Matrix(degs),
             sp.Matrix([2 ** (k + 1) - 1 for k in range(MAX_K + 1)]))
    ck.exact("leading coefficient of M_k is alpha (k = 0) and -alpha^(2^k) (k >= 1): never zero, so the degree is exact",
             sp.Matrix(lead), sp.Matrix([a] + [-(a ** (2**k)) for k in range(1, MAX_K + 1)]))

    # A random rational symmetric S and a rational alpha: the matrix recursion against both polynomial forms.
    rng = ctx.rng()
    trials = SIZES.at(ctx).trials
    bad_printed, bad_correct, dev_printed = 0, 0, 0.0
    for t in range(trials):
        d = int(rng.integers(2, 5))
        A = sp.Matrix(rng.integers(-3, 4, (d, d)).tolist())
        S = A.T @ A
        alpha = sp.Rational(1, int(rng.integers(2, 50)))
        Ms = nt.newton_matrices(S, alpha=alpha, steps=2)
        for k in (1, 2):
            bad_correct += not (poly_at(ms[k].subs(a, alpha), s, S) - Ms[k]).is_zero_matrix
            diff = poly_at(printed[k].subs(a, alpha), s, S) - Ms[k]
            bad_printed += not diff.is_zero_matrix
            dev_printed = max(dev_printed, max(abs(float(e)) for e in diff) / (1 + max(abs(float(e)) for e in Ms[k])))
        if t == 0:
            example = (S, alpha, Ms[1], poly_at(printed[1].subs(a, alpha), s, S))
    ck.decided(f"random rational S ({trials} matrices): matrix recursion = the recursion's polynomials at S",
               bad_correct == 0, f"{bad_correct} mismatches out of {2 * trials}", exact=True)
    S0, al0, M1, P1 = example
    ck.bounded(f"as printed, random rational S ({trials} matrices): matrix recursion = printed polynomials at S",
               dev_printed, 0.0, exact=True,
               detail=f"{bad_printed} mismatches out of {2 * trials} (largest relative deviation {dev_printed:.3g}); e.g. S = {S0.tolist()}, alpha = {al0}: "
               f"M_1 = {M1.tolist()} but printed M_1(S) = {P1.tolist()}")
    corr = {k: _pretty(v) for k, v in correct_b3(alpha=a, s=s).items()}
    finding = Finding(
        checked="App. B.3 eqs. (38)-(39) as printed, against the recursion of eq. (5) from M_0 = alpha S",
        fails="(38) mixes two starts: its first term uses M_0 = alpha S, its second M_0 = 2 alpha S; (39) carries the "
              "wrong S^3 coefficient into M_2",
        counterexample=f"M_1 = {corr[1]} (printed 2 alpha S - 4 alpha^2 S^3)",
        corrected=f"M_1 = {corr[1]}, M_2 = {corr[2]}; M_k is a polynomial in S of degree 2^(k+1) - 1 (as printed)",
        scope=Reach.EXACT, scope_note="symbolic alpha and S",
        detail=full_b3(corr))
    return ck, (finding if ck.failed else None)


def full_b3(corr: dict) -> str:
    return (
        f"App. B.3 as printed is inconsistent with eq. 5: from M_0 = alpha S, M_1 = 2 M_0 - M_0 S M_0 = {corr[1]} "
        f"(printed 2 alpha S - 4 alpha^2 S^3) and M_2 = {corr[2]} (printed 4aS - 12a^2S^3 + 16a^3S^5 - 16a^4S^7). "
        "The printed M_2 follows from the printed M_1 by the recursion, so the error is the coefficient of S^3 in M_1 "
        "(-4 alpha^2 instead of -alpha^2), carried into M_2. In general M_k = (I - (I - alpha S^2)^(2^k)) S^+ (a "
        "polynomial in S), whose degree 2^(k+1) - 1 is as printed."
    )


def _pretty(p: sp.Expr) -> str:
    """'2 alpha S - alpha^2 S^3': ascending powers of S, paper-style."""
    s = sp.Symbol("s")
    terms = sp.Poly(p, s).terms()[::-1]
    out = ""
    for (k,), c in terms:
        c_str = str(c).replace("**", "^").replace("*", " ")
        sign = "-" if c_str.startswith("-") else "+"
        body = f"{c_str.lstrip('-')} S" + (f"^{k}" if k > 1 else "")
        out += (f" {sign} " if out else ("-" if sign == "-" else "")) + body
    return out


def poly_at(p: sp.Expr, s: sp.Symbol, S: sp.Matrix) -> sp.Matrix:
    return nt.poly_at_matrix(sp.expand(p), s, S)


CLAIM = Claim(key=KEY, title="Newton polynomials M_1, M_2, degree (B.3)", source=SOURCE, statement=STATEMENT,
              notation=NOTATION, verify=verify, salt=6,
              locator="camera-ready text, App. B.3 eqs. (37)-(40) (M_0 = (2/||S S^T||_2) S^T; (38) M_1; (39) M_2; (40))",
              fixed="its statement is an identity in the symbol S, with no data setting")


