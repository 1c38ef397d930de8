"""The population loss of an L-layer LSA at given weights: exact where the toolkit has an exact route, Monte Carlo
of the literal forward pass (``numerics.model.lsa``) with an honest interval otherwise. Shared by ``iclcheck.loss``
(the Python API) and ``iclcheck check-weights``.

The model is the canonical one (notes/STATEMENTS.md section 0), with two switches for conventions that cannot
be folded into the weights:

    Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l),     prediction = sign * [Z_L]_{d+1,n+1},

``readout_sign`` = -1 (canonical) or +1 (e.g. the PyTorch layout), ``mask`` = True (M = diag(I_n, 0): the query is
not a key, canonical) or False (every token is a key: Zhang, Frei, Bartlett). Loss f = E (prediction - w^T x_q)^2.

Exact routes, tried in this order (``ModelLoss.method`` names the one used):

1. L = 1, masked: ``OneLayer.loss`` (closed form, any setting). The prediction of one layer is linear in P, so
   readout +1 at P equals readout -1 at -P exactly.
2. L = 1, unmasked, P[d+1, :d] = 0: the extra query term (P[d+1,:d] x_q)(x_q^T Q11 x_q)/n vanishes, so the
   masked closed form applies.
3. L >= 1, masked, readout -1, every layer of the form P_l = [[B_l, 0], [0, c_l]], Q_l = -[[A_l, 0], [0, 0]]
   (c_l != 0; condition (8) of Ahn et al. when B_l = 0, (11) otherwise), Gaussian covariates, w ~ N(0, Sigma^-1)
   or Sigma = Sigma_w = I. The layer equals (P_l / c_l, c_l Q_l) exactly; then
   - A_l = a_l Sigma^-1, B_l = b_l I: the spectral quadrature of ``numerics.families.gd`` / ``families.gdpp``;
   - B_l = 0, L <= 2, any A_l: Wick's theorem (``numerics.families.wick.full_gd_loss``) in the whitened frame.
   "A_l = a_l Sigma^-1" is tested to a relative 1e-12 (what a float map a -> a Sigma^-1 leaves).
4. L = 2, masked, either readout, any (P_0, Q_0, P_1, Q_1), Gaussian covariates, any Sigma, Sigma_w, sigma2, with
   d + [sigma2 > 0] <= 5 (d <= 4, or d = 5 without noise): ``numerics.deep.exact_two_layer.two_layer_loss`` - the
   residual as a polynomial in (w, Wishart Gram), its Hermite coefficients in w and the Wishart moments to degree 8
   (~0.1 s at d = 3, ~1-3 s at d = 4-5). Outside that range the Monte Carlo below runs and ``method`` says why.

Otherwise, with ``estimator="conditioned"`` (``iclcheck.loss``): the conditioned estimator of ``numerics.deep.conditioned`` - the prediction
is a matrix polynomial of the context Gram applied to x_q, so E[err^2 | w, Gram] = (t - w)^T Sigma (t - w) exactly and
only w and the Gram are drawn (Gaussian data: the Gram from its Wishart law, O(d^3) per prompt, independent of n),
with the same interval and tail diagnostics. General (P_l, Q_l) have an exact route at L = 2 only (route 4; at
L >= 3 the prediction has degree (3^L - 1)/2 = 13 in the Gram, docs/deep.md). ``estimator="literal"`` (the default here, and check-weights'): Monte Carlo of the forward pass of ``numerics.model.lsa`` over fresh prompts
(seeded; re-associated as P (K K^T / n) Q Z, the same function as the literal P Z M (Z^T Q Z) / n at O(D^2 n) per
prompt). Both: a two-sided CLT interval at ``level`` clipped at 0 (the loss is >= 0), and the tail diagnostics of ``numerics.model.montecarlo`` (heavy tails: the
interval is not trustworthy, and ``note`` says so with the median and quantiles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from iclcheck.numerics.deep.conditioned import as_stack  # re-exported: the old home of the name
from iclcheck.numerics.limits import DEFAULT_SAMPLES, MAX_MODEL_LAYERS, MAX_SEED
from iclcheck.numerics.model.montecarlo import MCEstimate, mc_mean
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.setting import Setting

__all__ = ["DEFAULT_SAMPLES", "ESTIMATORS", "MAX_SAMPLES", "ModelLoss", "as_stack", "exact_route", "model_loss"]

MAX_SAMPLES = 20_000_000
SCALAR_RTOL = 1e-12  # A_l = a_l Sigma^-1 up to this relative Frobenius residual (float rounding of a map)
MAX_WICK_LAYERS = 2  # full_gd_loss grows like 4^L (2L-1)!!: L = 3 takes minutes
MAX_GDPP_CONTROL_LAYERS = 3  # gdpp_degree(4) = 40: an 81-node high-precision quadrature, minutes
MAX_CONTROL_LAYERS = 12  # the (8) quadrature of degree 2L
_MC_BYTES = 2**27  # working set of one Monte Carlo batch (128 MiB)


@dataclass(frozen=True)
class ModelLoss:
    """The loss of one model: ``value`` (exact, or the Monte Carlo mean), ``interval`` ((v, v) when exact, else
    the CI clipped at 0), ``exact``, ``method`` (which route), ``estimate`` (the MCEstimate, or None), ``note``
    (the heavy-tail note, or '')."""

    value: float
    exact: bool
    method: str
    interval: tuple[float, float]
    L: int
    estimate: MCEstimate | None = None
    note: str = ""

    @property
    def estimable(self) -> bool:
        """False when a Monte Carlo mean is untrustworthy at this sample size (heavy tails)."""
        return self.exact or (self.estimate is not None and self.estimate.estimable)

    def describe(self, fmt: str = ".6g") -> str:
        if self.exact:
            return f"{self.value:{fmt}} (exact: {self.method})"
        assert self.estimate is not None, "a loss that is not exact carries its Monte Carlo estimate"
        return f"{self.estimate.describe('.4g')} ({self.method})"

    def to_dict(self) -> dict:
        out = {"value": self.value, "exact": self.exact, "method": self.method, "interval": list(self.interval),
               "L": self.L}
        if self.estimate is not None:
            out.update({"samples": self.estimate.n_samples, "level": self.estimate.level,
                        "heavy_tail": self.estimate.heavy_tail, "median": self.estimate.median})
        if self.note:
            out["note"] = self.note
        return out



def _family_form(Ps: np.ndarray, Qs: np.ndarray, d: int):
    """(A_l, B_l) normalised to c_l = 1 when every layer is [[B, 0], [0, c]], -[[A, 0], [0, 0]] with c != 0."""
    As, Bs = [], []
    for P, Q in zip(Ps, Qs, strict=True):
        c = P[d, d]
        if c == 0 or np.any(P[d, :d]) or np.any(P[:d, d]) or np.any(Q[d, :]) or np.any(Q[:d, d]):
            return None
        As.append(-c * Q[:d, :d])
        Bs.append(P[:d, :d] / c)
    return As, Bs


def _scalar_of(M: np.ndarray, ref: np.ndarray) -> float | None:
    """alpha with M = alpha ref to relative SCALAR_RTOL, else None."""
    nr = float(np.sum(ref * ref))
    alpha = float(np.sum(M * ref) / nr)
    scale = max(float(np.linalg.norm(M)), abs(alpha) * np.sqrt(nr), 1e-300)
    return alpha if float(np.linalg.norm(M - alpha * ref)) <= SCALAR_RTOL * scale else None


def exact_route(setting: Setting, Ps: np.ndarray, Qs: np.ndarray, *, readout_sign: int = -1,
                mask: bool = True) -> tuple[float, str] | None:
    """(exact loss, method) by the first exact route that applies (module docstring), else None."""
    d, L = setting.d, Ps.shape[0]
    if L == 1 and (mask or not np.any(Ps[0, d, :d])):
        from iclcheck.numerics.one_layer.closed_form import OneLayer

        P = Ps[0] if readout_sign == -1 else -Ps[0]
        how = "one-layer closed form (OneLayer.loss)"
        if readout_sign == 1:
            how += "; readout +[Z]_{d+1,n+1} at P equals the canonical -[Z] at -P (linear in P)"
        if not mask:
            how += "; the unmasked query term vanishes since P[d+1, :d] = 0"
        return OneLayer(setting).loss(P, Qs[0]), how
    if mask and readout_sign == -1:
        fam = _family_route(setting, Ps, Qs)
        if fam is not None:
            return fam
    if L == 2:
        from iclcheck.numerics.deep.exact_two_layer import applicable, two_layer_loss

        if applicable(setting, L, mask=mask) is None:
            with np.errstate(over="ignore", invalid="ignore"):
                v = two_layer_loss(setting, Ps, Qs, readout_sign=readout_sign, mask=mask)
            if np.isfinite(v):  # else weights at the edge of float64: the Monte Carlo says so
                return v, f"{GENERAL_TWO_LAYER}{'; readout +[Z]' if readout_sign == 1 else ''}"
    return None


GENERAL_TWO_LAYER = ("L = 2, general P_l, Q_l: exact (numerics.exact_two_layer: Wishart moments to degree 8, "
                     "Hermite expansion in w)")


def _family_route(setting: Setting, Ps: np.ndarray, Qs: np.ndarray) -> tuple[float, str] | None:
    """Route 3 of the module docstring (masked, readout -1), or None."""
    d, L = setting.d, Ps.shape[0]
    form = _family_form(Ps, Qs, d)
    if form is None:
        return None
    from iclcheck.numerics.families.quadrature import problem_from

    try:
        pr = problem_from(setting)
    except InputError:
        return None
    As, Bs = form
    Si = np.linalg.inv(setting.Sigma)
    Si = (Si + Si.T) / 2
    a = [_scalar_of(A, Si) for A in As]
    b = [_scalar_of(B, np.eye(d)) if np.any(B) else 0.0 for B in Bs[:-1]]  # B_{L-1} does not reach the output
    if all(v is not None for v in a) and all(v is not None for v in b):
        if not any(b):
            from iclcheck.numerics.families.gd import gd_loss

            return gd_loss(a, pr), f"condition (8), A_l = a_l Sigma^-1: exact spectral quadrature (a = {_fmt(a)})"
        from iclcheck.numerics.families.gdpp import gdpp_loss

        return gdpp_loss(a, b, pr), (f"condition (11), A_l = a_l Sigma^-1, B_l = b_l I: exact spectral quadrature "
                                     f"(a = {_fmt(a)}, b = {_fmt(b)})")
    if L <= MAX_WICK_LAYERS and not any(np.any(B) for B in Bs[:-1]):
        from iclcheck.numerics.families.wick import full_gd_loss
        from iclcheck.numerics.linalg import sqrtm_psd

        Sh = sqrtm_psd(setting.Sigma)
        return full_gd_loss([Sh @ A @ Sh for A in As], pr), "condition (8), full A_l: exact by Wick's theorem"
    return None


def _fmt(v) -> str:
    return "[" + ", ".join(f"{float(x):.4g}" for x in v) + "]"


ESTIMATORS = ("conditioned", "literal")


@overload
def model_loss(setting: Setting, Ps: Any, Qs: Any, *, readout_sign: int = ..., mask: bool = ..., samples: int = ...,
               seed: int = ..., level: float = ..., exact_only: Literal[False] = ..., estimator: str = ...,
               progress: Callable[[int, int], None] | None = ...) -> ModelLoss: ...
@overload
def model_loss(setting: Setting, Ps: Any, Qs: Any, *, readout_sign: int = ..., mask: bool = ..., samples: int = ...,
               seed: int = ..., level: float = ..., exact_only: bool, estimator: str = ...,
               progress: Callable[[int, int], None] | None = ...) -> ModelLoss | None: ...
def model_loss(setting: Setting, Ps: Any, Qs: Any, *, readout_sign: int = -1, mask: bool = True,
               samples: int = DEFAULT_SAMPLES, seed: int = 0, level: float = 0.999,
               exact_only: bool = False, estimator: str = "literal",
               progress: Callable[[int, int], None] | None = None) -> ModelLoss | None:
    """The population loss of the L-layer model at stacked weights Ps, Qs ((L, d+1, d+1), or (d+1, d+1) for one
    layer): exact when a route applies (module docstring), else a seeded Monte Carlo of ``samples`` prompts:
    ``estimator="literal"`` (default: the literal forward pass) or ``"conditioned"`` (``numerics.deep.conditioned``: x_q
    integrated exactly, only w and the context Gram drawn, at a cost independent of n for Gaussian data; the route
    of ``iclcheck.loss``).

    ``exact_only``: return None instead of running the Monte Carlo. ``progress(done, samples)`` after each Monte
    Carlo batch (prompts drawn so far; never called for an exact loss); it changes no draw."""
    if estimator not in ESTIMATORS:
        raise InputError("estimator", f"must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    if setting.n_is_symbolic:
        raise InputError("n", "the loss at given weights needs a numeric n")
    d = setting.d
    Ps = as_stack(Ps, d, "P")
    Qs = as_stack(Qs, d, "Q")
    if Ps.shape != Qs.shape:
        raise InputError("Q", f"needs one Q per P: P has shape {Ps.shape}, Q {Qs.shape}")
    if readout_sign not in (-1, 1):
        raise InputError("readout_sign", f"must be -1 (canonical) or +1, got {readout_sign!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 100 <= samples <= MAX_SAMPLES:
        raise InputError("samples", f"must be an integer in [100, {MAX_SAMPLES:,}], got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InputError("seed", f"must be an integer in [0, 2^63), got {seed!r}")
    L = Ps.shape[0]
    if L > MAX_MODEL_LAYERS:  # before any work: deep stacks make the exact routes and the forward pass unbounded
        raise InputError("P", f"{L:,} stacked layers: at most {MAX_MODEL_LAYERS} are supported")
    ex = exact_route(setting, Ps, Qs, readout_sign=readout_sign, mask=mask)
    if ex is not None:
        return ModelLoss(value=float(ex[0]), exact=True, method=ex[1], interval=(float(ex[0]), float(ex[0])), L=L)
    if exact_only:
        return None
    if estimator == "conditioned":
        from iclcheck.numerics.deep.conditioned import controlled_loss, route_name

        control = family_control(setting, Ps, Qs) if mask else None
        est, beta = controlled_loss(setting, Ps, Qs, control, readout_sign=readout_sign, mask=mask, samples=samples,
                                    seed=seed, level=level, progress=progress)
        what = route_name(setting, mask=mask)
        if control is not None and beta is not None:
            what += f", control variate: {control.what}, beta = {beta:.4g} from a separate pilot"
        elif control is not None:
            what += ", no control variate (the (8)/(11) projection did not cut the pilot's variance below 40%)"
    else:
        est = mc_literal(setting, Ps, Qs, readout_sign=readout_sign, mask=mask, samples=samples, seed=seed,
                         level=level, progress=progress)
        what = "Monte Carlo of the literal forward pass"
    if not np.isfinite(est.mean):
        raise NumericalFailure("loss at the given weights", f"the Monte Carlo mean is not finite ({est.mean})",
                               "the weights make the forward pass overflow float64; check their scale")
    how = (f"{what} ({samples:,} prompts, seed {seed}, {level:.1%} CI clipped at 0"
           f"{'' if mask else ', unmasked'}{', readout +[Z]' if readout_sign == 1 else ''})")
    if L == 2:  # say why the general L = 2 route did not apply
        from iclcheck.numerics.deep.exact_two_layer import applicable

        why = applicable(setting, L, mask=mask)
        if why is not None:
            how += f"; no exact L = 2 route: {why}"
    return ModelLoss(value=est.mean, exact=False, method=how, interval=est.ci, L=L, estimate=est,
                     note=est.tail_note())


def family_control(setting: Setting, Ps: np.ndarray, Qs: np.ndarray):
    """The (11)-family model nearest to (Ps, Qs) at the fitted scalars (a_l, b_l) (``numerics.deep.implements``) with its
    exact loss, as a ``numerics.deep.conditioned.Control`` (L > MAX_GDPP_CONTROL_LAYERS: the (8) model at the fitted a_l, whose
    quadrature stays cheap); None when L > MAX_CONTROL_LAYERS, a layer has P[d+1, d+1] = 0 or the setting has no
    exact family loss (non-Gaussian data, or a prior other than w ~ N(0, Sigma^-1) / Sigma = Sigma_w = I)."""
    from iclcheck.numerics.deep.conditioned import Control
    from iclcheck.numerics.deep.implements import family_fit
    from iclcheck.numerics.families.quadrature import problem_from

    try:
        pr = problem_from(setting)
    except InputError:
        return None
    fit = family_fit(setting, Ps, Qs)
    if fit is None:
        return None
    a, b, Pc, Qc = fit
    L = len(a)
    if L > MAX_CONTROL_LAYERS:
        return None
    if L > MAX_GDPP_CONTROL_LAYERS:  # the (11) quadrature has degree 2 * 3^(L-1)-ish: the (8) projection instead
        b = [0.0] * L
        Pc = Pc.copy()
        Pc[:, :-1, :-1] = 0.0
    if any(b[:-1]):
        from iclcheck.numerics.families.gdpp import gdpp_loss

        m, name = gdpp_loss(a, b, pr), f"the (11)-family projection (a = {_fmt(a)}, b = {_fmt(b[:-1])})"
    else:
        from iclcheck.numerics.families.gd import gd_loss

        m, name = gd_loss(a, pr), f"the (8)-family projection (a = {_fmt(a)})"
    if not np.isfinite(m):
        return None
    return Control(Pc, Qc, float(m), f"{name}, exact loss {m:.6g}")


def mc_literal(setting: Setting, Ps: np.ndarray, Qs: np.ndarray, *, readout_sign: int = -1, mask: bool = True,
               samples: int, seed: int, level: float = 0.999,
               progress: Callable[[int, int], None] | None = None) -> MCEstimate:
    """E (sign [Z_L]_{d+1,n+1} - w^T x_q)^2 by ``numerics.model.lsa.forward`` over fresh prompts (``progress``: as
    ``mc_mean``'s)."""
    from iclcheck.numerics.model.forward import sample_prompts
    from iclcheck.numerics.model.lsa import LSA, forward

    d, n = setting.d, int(setting.n)
    model = LSA(L=Ps.shape[0], mask=mask, reassociate=True)  # P (K K^T / n) Q Z: the same function, O(D^2 n)
    batch = int(max(1, min(20_000, _MC_BYTES // (8 * 4 * (d + 1) * (n + 1) + 8 * (n + 1) ** 2))))

    def draw(r: np.random.Generator, k: int) -> np.ndarray:
        pr = sample_prompts(setting, k, r)
        with np.errstate(over="ignore", invalid="ignore"):
            ZL = forward(model, pr.Z0, Ps, Qs)  # (k, d+1, n+1)
            return (readout_sign * ZL[:, d, n] - pr.yq) ** 2  # (k,)

    with np.errstate(over="ignore", invalid="ignore"):
        return mc_mean(draw, samples=samples, rng=np.random.default_rng(seed), batch=batch, level=level,
                       nonnegative=True, progress=progress)
