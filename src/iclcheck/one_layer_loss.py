"""The exact population loss f(P, Q) of one LSA layer, at given P, Q or in closed form (``iclcheck.layer_loss``).

f(P, Q) = E (TF(Z0) - w^T x_q)^2 in the canonical model (STATEMENTS.md section 0), written by
``theory.one_layer.full_loss_formula`` as a polynomial in the last row of P (p_1..p_{d+1}) and the first d
columns of Q (q_{i,j}, i = 1..d+1, j = 1..d; 1-based). Only those entries matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from iclcheck.results import setting_summary
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from iclcheck.theory.setting import Setting

__all__ = ["MAX_SYMBOLIC_DIM", "VARIABLES", "LayerLoss", "exact_loss_at", "layer_loss", "loss_symbols",
           "symbolic_json", "symbolic_loss"]

# the closed form: the expanded polynomial has O(d^4) terms; d = 8 takes ~5 s, d = 12 ~16 s, d = 16 ~28 s
# (symbolic n, this machine), so it is given up to d = 10.
MAX_SYMBOLIC_DIM = 10
VARIABLES = "p_k = P[d+1, k] (last row of P), q_{i,j} = Q[i, j] for j <= d (1-based); f = E(TF - w^T x_q)^2"


def loss_symbols(d: int) -> tuple[Any, Any]:
    """(p, q): p = [p_1..p_{d+1}] (last row of P), q = [[q_{i,j}]] (d+1) x d (first d columns of Q)."""
    import sympy as sp

    p = sp.Matrix([sp.Symbol(f"p_{k}") for k in range(1, d + 2)])  # (d+1, 1)
    q = sp.Matrix(d + 1, d, lambda i, j: sp.Symbol(f"q_{{{i + 1},{j + 1}}}"))  # (d+1, d)
    return p, q


def symbolic_loss(setting: Setting) -> Any:
    """The expanded closed form f(p, q) for the setting's exact Sigma, Sigma_w, sigma2 (n may be a Symbol)."""
    import sympy as sp

    from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula

    d = setting.d
    S, W, Sh, km3, s2, n = exact_inputs(setting)  # an int n becomes a sympy Integer there
    p, q = loss_symbols(d)
    b, c = p[:d, :], p[d, 0]  # (d, 1), scalar
    Q11, q21 = q[:d, :], q[d, :].T  # (d, d), (d, 1)
    f = full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)
    return sp.expand(f)


def _identifier(name: str) -> str:
    """'q_{1,2}' -> 'q_1_2' (a Python identifier that sympy.parse_expr reads as one Symbol)."""
    return name.replace("{", "").replace("}", "").replace(",", "_")


def symbolic_json(expr: Any) -> dict[str, Any]:
    """The closed form in JSON, readable back by sympy (docs/json.md): ``loss_symbolic`` (str, with the names p_k
    and q_{i,j}); ``loss_symbolic_parseable`` (the same with identifier names q_i_j) for
    ``sympy.parse_expr(text, local_dict=...)`` with ``symbols`` (identifier -> {"name": printed name,
    "assumptions": sympy assumptions}); ``loss_symbolic_srepr`` (``sympy.srepr``: parse_expr rebuilds it exactly)."""
    import sympy as sp

    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    rename = {s: sp.Symbol(_identifier(s.name), **s.assumptions0) for s in syms}
    return {
        "loss_symbolic": str(expr),
        "loss_symbolic_parseable": str(expr.xreplace(rename)),
        "symbols": {rename[s].name: {"name": s.name, "assumptions": {k: bool(v) for k, v in
                                                                      sorted(s.assumptions0.items())}}
                    for s in syms},
        "loss_symbolic_srepr": sp.srepr(expr),
    }


def exact_loss_at(setting: Setting, P: np.ndarray, Q: np.ndarray) -> Any:
    """f at the exact binary values of the stored floats (rational arithmetic throughout)."""
    import sympy as sp

    from iclcheck.theory.one_layer import SYMPY_OPS, exact_inputs, full_loss_formula

    d = setting.d
    S, W, Sh, km3, s2, n = exact_inputs(setting, n=sp.Integer(setting.n))

    def ex(A: np.ndarray) -> sp.Matrix:  # exact value of each stored double
        return sp.Matrix(A.shape[0], A.shape[1], [sp.Rational(*Fraction(float(v)).as_integer_ratio())
                                                  for v in A.ravel()])

    b = ex(P[d:, :d]).T  # (d, 1)
    c = ex(P[d:, d:])[0, 0]
    Q11 = ex(Q[:d, :d])  # (d, d)
    q21 = ex(Q[d:, :d]).T  # (d, 1)
    val = sp.Integer(0) + full_loss_formula(S, W, Sh, km3, s2, n, b, c, Q11, q21, SYMPY_OPS)
    if not val.is_Rational:
        raise InputError("exact", f"the exact loss is not rational here ({val})")
    return val


@dataclass
class LayerLoss:
    """f(P, Q) of one LSA layer at a setting (and at a test setting).

    loss, loss_exact:  f at the given P, Q in floats, and exactly at the stored binary floats (or None)
    loss_symbolic:     f as a sympy polynomial in p_k, q_{i,j} (``loss_symbols``), or None
    test, test_loss, test_loss_exact, test_loss_symbolic:  the same at the test setting (or None)
    params, cov, test_cov:  labels for ``to_dict`` (the parameter file and the covariances' specs as given on the
                       command line; None from the API)
    """

    setting: Setting
    loss: float | None = None
    loss_exact: Any = None
    loss_symbolic: Any = None
    test: Setting | None = None
    test_loss: float | None = None
    test_loss_exact: Any = None
    test_loss_symbolic: Any = None
    params: str | None = None
    cov: str | None = None
    test_cov: str | None = None
    evaluated: bool = False  # P, Q were given

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"setting": setting_summary(self.setting, self.cov)}
        if self.evaluated:
            out["params"] = self.params
            out["loss"] = self.loss
            if self.loss_exact is not None:
                out["loss_exact"] = str(self.loss_exact)
        if self.test is not None:
            t: dict[str, Any] = {"setting": setting_summary(self.test, self.test_cov)}
            if self.evaluated:
                t["loss"] = self.test_loss
                if self.test_loss_exact is not None:
                    t["loss_exact"] = str(self.test_loss_exact)
            if self.test_loss_symbolic is not None:
                t["loss_symbolic"] = str(self.test_loss_symbolic)
            out["test"] = t
        if self.loss_symbolic is not None:
            out["loss_symbolic"] = None  # its place; symbolic_json fills it
            out["variables"] = VARIABLES
            out.update(symbolic_json(self.loss_symbolic))
        return out


def _symbolic(setting: Setting, what: str) -> Any:
    try:
        return symbolic_loss(setting)
    except InputError as exc:
        if exc.what != "exact mode":
            raise
        raise InputError(what, f"{setting.covariates} covariates need Sigma^(1/2) in closed form: the closed form is "
                         "available for a diagonal Sigma only with them") from None


def layer_loss(setting: Setting, *, P: Any = None, Q: Any = None, exact: bool = False, symbolic: bool = False,
               test: Setting | None = None) -> LayerLoss:
    """See ``iclcheck.api.layer_loss``."""
    from iclcheck.numerics.one_layer import OneLayer, check_params

    if P is None and not symbolic:
        raise InputError("P", "give P and Q, or symbolic=True for the closed form")
    if symbolic and setting.d > MAX_SYMBOLIC_DIM:
        raise InputError("symbolic", f"the closed form is given for d <= {MAX_SYMBOLIC_DIM} (it has O(d^4) terms), "
                         f"got d = {setting.d}; evaluate it at P, Q instead")
    for st, name in ((setting, "setting"), (test, "test")):
        if st is not None and (exact or symbolic) and not st.is_exact:
            raise InputError(name, "exact and symbolic need exact inputs: Sigma, Sigma_w and sigma2 as integers or "
                             "fractions")
    res = LayerLoss(setting, test=test, evaluated=P is not None)
    if P is not None:
        P, Q = check_params(P, Q, setting.d)
        if setting.n_is_symbolic:
            raise InputError("setting", "evaluating at P, Q needs a numeric n")
        res.loss = OneLayer(setting).loss(P, Q)
        res.loss_exact = exact_loss_at(setting, P, Q) if exact else None
    if test is not None:
        if P is not None:
            from iclcheck.numerics.one_layer.shift import shifted_loss_at_params

            res.test_loss = shifted_loss_at_params(test, P, Q)
            res.test_loss_exact = exact_loss_at(test, P, Q) if exact else None
        res.test_loss_symbolic = _symbolic(test, "test") if symbolic else None
    res.loss_symbolic = _symbolic(setting, "symbolic") if symbolic else None
    return res
