"""Population gradient flow on exact losses: theta' = -scale grad f(theta), no sampling.

Models (``flow(setting, model, ...)``), each with its exact loss and gradient and the quantities its flow conserves:

- ``"one_layer"``: the full one-layer (P, Q), (d+1)^2 entries each (numerics.one_layer.derivatives.loss_and_grad). The loss is
  invariant under (c P, Q / c), so ||P||_F^2 - ||Q||_F^2 is conserved (balancedness).
- ``"attnS"``: H heads of separate key/query of rank R (Yedi Zhang et al.'s ATTN_S; numerics.families.restricted.
  kq_loss_and_grad): Gamma = -sum_h v_h W_Q,h^T W_K,h. Conserved per head: W_Q,h W_Q,h^T - W_K,h W_K,h^T (R x R)
  and v_h^2 - ||W_K,h||_F^2.
- ``"attnM"``: H heads of merged key-query (ATTN_M): Gamma = -sum_h v_h W_h, W_h (d x d). Conserved: v_h^2 - ||W_h||^2.
- ``"gd_family"``: the restricted L-layer family A_l = a_l Sigma^{-1} (numerics.families.gd, exact quadrature loss);
  ``"tied"``: its looped version, one shared a (Gatmiry et al.), f(a) = E tr (I - a S)^{2L} + noise term.

The integrator is scipy's LSODA (switches to BDF when stiff) at rtol/atol given, with the exact gradient; the run is
sampled at ``samples`` times on [0, t_max] (linear, or geometric with ``log_time``). Along the samples:

- conserved quantities: their largest drift from t = 0 (``invariant_drift``), to compare with the tolerance;
- plateaus: maximal runs of samples where the loss falls slower than ``PLATEAU_RATE`` x (total fall / t_max) and
  that last at least ``PLATEAU_MIN`` x t_max; each with its entry and exit times and its loss (at the slowest sample);
- the limit: the last point, its gradient norm, the Hessian's eigenvalues there (finite differences of the exact
  gradient) and a classification: "not converged" (gradient norm above 1e-6), "global minimum" (the loss equals a
  given certified minimum value f_star to 1e-9), else "minimum" / "saddle" / "degenerate" by the Hessian's spectrum
  (symmetries give zero eigenvalues: a balanced family of minima reads "degenerate");
- rates on the tail after the last plateau: the slopes of log(f - f_end) against t (exponential) and against log t
  (polynomial), with their residuals, and the gradient-dominance exponent p, the slope of log(f - f*) against
  log ||grad f|| (f* given, or the last loss): p = 2 for a PL (strict local minimum) tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.setting import Setting

__all__ = ["MODELS", "FlowResult", "Model", "Plateau", "flow", "model"]

MODELS = ("one_layer", "attnS", "attnM", "gd_family", "tied")
PLATEAU_RATE = 0.05
PLATEAU_MIN = 0.02


@dataclass(frozen=True)
class Model:
    """A parametrisation: its size, the exact (loss, gradient) of a flat vector, conserved quantities, a readout."""

    name: str
    size: int
    loss_grad: Callable[[np.ndarray], tuple[float, np.ndarray]]
    invariants: Callable[[np.ndarray], np.ndarray]
    readout: Callable[[np.ndarray], dict[str, Any]]


def _one_layer_model(setting: Setting) -> Model:
    from iclcheck.numerics.one_layer.closed_form import OneLayer
    from iclcheck.numerics.one_layer.derivatives import loss_and_grad

    ol = OneLayer(setting)
    D = setting.d + 1

    def split(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return th[:D * D].reshape(D, D), th[D * D:].reshape(D, D)

    def lg(th: np.ndarray) -> tuple[float, np.ndarray]:
        P, Q = split(th)
        f, dP, dQ = loss_and_grad(ol, P, Q)
        return f, np.concatenate([dP.ravel(), dQ.ravel()])

    def inv(th: np.ndarray) -> np.ndarray:
        P, Q = split(th)
        return np.array([np.sum(P * P) - np.sum(Q * Q)])

    def readout(th: np.ndarray) -> dict[str, Any]:
        from iclcheck.theory.notation.ahn import odd_part_gamma

        P, Q = split(th)
        d = setting.d
        return {"P": P, "Q": Q, "Gamma": odd_part_gamma(P[d, :d, None], P[d, d], Q[:d, :d], Q[d, :d, None])}

    return Model("one_layer", 2 * D * D, lg, inv, readout)


def _attn_model(setting: Setting, heads: int, rank: int | None) -> Model:
    from iclcheck.numerics.families.restricted import _one_layer

    d, H = setting.d, heads
    if rank is None:  # merged: W_h (d x d)
        ol = _one_layer(setting)

        def split(th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return th[:H], th[H:].reshape(H, d, d)

        def lg(th: np.ndarray) -> tuple[float, np.ndarray]:
            v, W = split(th)
            G = -np.einsum("h,hij->ij", v, W)  # (d, d)
            SG = ol.S @ G
            f = float(np.sum(SG * (G @ ol.M)) - 2 * np.sum(G * ol.SWS) + np.trace(ol.SW))
            Gr = 2.0 * (SG @ ol.M - ol.SWS)  # (d, d) dL/dGamma
            dv = -np.einsum("ij,hij->h", Gr, W)
            dW = -v[:, None, None] * Gr[None]
            return f, np.concatenate([dv, dW.ravel()])

        def inv(th: np.ndarray) -> np.ndarray:
            v, W = split(th)
            return v**2 - np.einsum("hij,hij->h", W, W)

        def readout(th: np.ndarray) -> dict[str, Any]:
            v, W = split(th)
            return {"v": v, "W": W, "Gamma": -np.einsum("h,hij->ij", v, W)}

        return Model("attnM", H + H * d * d, lg, inv, readout)

    R = rank

    def split3(th: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = H * R * d
        return th[:H], th[H:H + k].reshape(H, R, d), th[H + k:].reshape(H, R, d)

    ol3 = _one_layer(setting)
    S, M, SWS, trSW = ol3.S, ol3.M, ol3.SWS, float(np.trace(ol3.SW))
    k3 = H * R * d

    def lg3(th: np.ndarray) -> tuple[float, np.ndarray]:
        # kq_loss_and_grad's formulas with the heads flattened to (H R, d) rows (the flow calls this ~1e4 times;
        # tests/numerics/test_flow.py checks it against kq_loss_and_grad)
        v = th[:H]
        K = th[H:H + k3].reshape(H * R, d)  # rows W_K,h,r
        Qr = th[H + k3:].reshape(H * R, d)  # rows W_Q,h,r
        vr = np.repeat(v, R)[:, None]  # (H R, 1)
        G = -(Qr * vr).T @ K  # (d, d) Gamma = -sum_h v_h W_Q,h^T W_K,h
        SG = S @ G
        f = float(np.sum(SG * (G @ M)) - 2 * np.sum(G * SWS) + trSW)
        Gr = 2.0 * (SG @ M - SWS)  # dL/dGamma
        T = Qr @ Gr  # (H R, d)
        dv = -np.sum(T * K, axis=1).reshape(H, R).sum(axis=1)
        dK = -vr * T
        dQ = -vr * (K @ Gr.T)
        return f, np.concatenate([dv, dK.ravel(), dQ.ravel()])

    def inv3(th: np.ndarray) -> np.ndarray:
        v, WK, WQ = split3(th)
        a = np.einsum("hri,hsi->hrs", WQ, WQ) - np.einsum("hri,hsi->hrs", WK, WK)  # (H, R, R)
        b = v**2 - np.einsum("hri,hri->h", WK, WK)
        return np.concatenate([a.ravel(), b])

    def readout3(th: np.ndarray) -> dict[str, Any]:
        from iclcheck.numerics.families.restricted import kq_gamma

        v, WK, WQ = split3(th)
        return {"v": v, "WK": WK, "WQ": WQ, "Gamma": kq_gamma(v, WK, WQ)}

    return Model("attnS", H + 2 * H * R * d, lg3, inv3, readout3)


def _family_model(setting: Setting, L: int, tied: bool) -> Model:
    from iclcheck.numerics.families.gd import gd_loss, gd_loss_grad
    from iclcheck.numerics.families.quadrature import problem_from

    pr = problem_from(setting)

    if tied:  # f(a) = sum_i w_i (1 - a x_i)^{2L} (+ noise term) on the exact Gauss quadrature, vectorised
        from iclcheck.numerics.families.quadrature import spectral_quadrature

        x, wq = spectral_quadrature(2 * L, n=pr.n, d=pr.d)
        s2n = pr.sigma2 / pr.n

        def lg(th: np.ndarray) -> tuple[float, np.ndarray]:
            q = 1.0 - th[0] * x  # (N,)
            p = q ** L
            dp = -L * x * q ** (L - 1)  # dp/da
            f = float(np.sum(wq * p * p))
            g = float(np.sum(wq * 2 * p * dp))
            if s2n:
                f += s2n * float(np.sum(wq * (1 - p) ** 2 / x))
                g -= s2n * float(np.sum(wq * 2 * (1 - p) * dp / x))
            return f, np.array([g])

        size = 1
    else:
        def lg(th: np.ndarray) -> tuple[float, np.ndarray]:
            return gd_loss(th, pr), gd_loss_grad(th, pr)

        size = L

    return Model("tied" if tied else "gd_family", size, lg, lambda th: np.zeros(0),
                 lambda th: {"a": th.copy()})


def model(setting: Setting, name: str, *, heads: int = 1, rank: int | None = 1, L: int = 1) -> Model:
    """The parametrisation ``name`` (one of MODELS) at ``setting``."""
    if not isinstance(setting, Setting):
        raise InputError("setting", f"expected an iclcheck Setting, got {type(setting).__name__}")
    if setting.n_is_symbolic:
        raise InputError("n", "the flow needs a numeric n")
    if name == "one_layer":
        return _one_layer_model(setting)
    for what, v in (("heads", heads), ("L", L)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(what, f"must be a positive integer, got {v!r}")
    if name == "attnS":
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
            raise InputError("rank", f"must be a positive integer, got {rank!r}")
        return _attn_model(setting, int(heads), int(rank))
    if name == "attnM":
        return _attn_model(setting, int(heads), None)
    if name in ("gd_family", "tied"):
        return _family_model(setting, int(L), name == "tied")
    raise InputError("model", f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


@dataclass(frozen=True)
class Plateau:
    entry: float
    exit: float
    loss: float  # the loss at the slowest sample of the plateau


@dataclass(frozen=True)
class FlowResult:
    model: str
    t: np.ndarray  # (T,) sample times
    loss: np.ndarray  # (T,)
    grad_norm: np.ndarray  # (T,)
    theta: np.ndarray  # (T, size) the trajectory
    invariants: np.ndarray  # (T, m) conserved quantities along it
    plateaus: tuple[Plateau, ...]
    limit: dict[str, Any]  # readout of the last point
    classification: str  # "minimum", "saddle", "degenerate" or "not converged"
    hessian_eigenvalues: np.ndarray
    rates: dict[str, float] = field(default_factory=dict)
    nfev: int = 0
    theta_at: Callable[[float], np.ndarray] | None = field(default=None, repr=False)  # dense output (dense=True)
    loss_fn: Callable[[np.ndarray], float] | None = field(default=None, repr=False)  # the flowed objective

    def loss_at(self, t: float) -> float:
        """The loss at any time t (dense output of the integrator; needs ``dense=True``)."""
        if self.theta_at is None or self.loss_fn is None:
            raise InputError("dense", "run flow(..., dense=True) to evaluate the loss between samples")
        return self.loss_fn(self.theta_at(t))

    def crossing(self, level: float) -> float:
        """The first time the loss falls below ``level``: bracketed by the samples, refined on the dense output."""
        from scipy.optimize import brentq

        below = np.flatnonzero(self.loss < level)
        if not below.size or below[0] == 0:
            raise InputError("level", f"the loss does not cross {level!r} after t = 0 on the sampled run")
        i = int(below[0])
        return float(brentq(lambda x: self.loss_at(x) - level, self.t[i - 1], self.t[i], xtol=1e-12 * self.t[i]))

    @property
    def invariant_drift(self) -> float:
        if self.invariants.shape[1] == 0:
            return 0.0
        return float(np.max(np.abs(self.invariants - self.invariants[0])))

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "t": self.t.tolist(), "loss": self.loss.tolist(),
                "grad_norm": self.grad_norm.tolist(),
                "plateaus": [{"entry": p.entry, "exit": p.exit, "loss": p.loss} for p in self.plateaus],
                "classification": self.classification, "hessian_eigenvalues": self.hessian_eigenvalues.tolist(),
                "invariant_drift": self.invariant_drift, "rates": dict(self.rates), "nfev": self.nfev}


def _plateaus(t: np.ndarray, f: np.ndarray, speed: np.ndarray) -> tuple[Plateau, ...]:
    fall = float(f[0] - f[-1])
    span = float(t[-1] - t[0])
    if fall <= 0 or span <= 0:
        return ()
    slow = speed < PLATEAU_RATE * fall / span
    out = []
    i = 0
    T = t.size
    while i < T:
        if not slow[i]:
            i += 1
            continue
        j = i
        while j + 1 < T and slow[j + 1]:
            j += 1
        if t[j] - t[i] >= PLATEAU_MIN * span and j < T - 1:  # a run reaching the end is the limit, not a plateau
            k = i + int(np.argmin(speed[i:j + 1]))
            out.append(Plateau(entry=float(t[i]), exit=float(t[j]), loss=float(f[k])))
        i = j + 1
    return tuple(out)


def _hessian(lg: Callable, th: np.ndarray, h: float = 1e-6) -> np.ndarray:
    n = th.size
    Hm = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        Hm[:, i] = (lg(th + e)[1] - lg(th - e)[1]) / (2 * h)
    return (Hm + Hm.T) / 2


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, rms residual) of the least-squares line y ~ x."""
    if x.size < 3:
        return float("nan"), float("nan")
    A = np.vstack([x, np.ones_like(x)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ coef
    return float(coef[0]), float(np.sqrt(np.mean(r * r)))


def flow(setting: Setting, model_name: str | Model, *, init: Any, t_max: float, samples: int = 2001, rtol: float = 1e-10,
         atol: float = 1e-12, scale: float = 1.0, f_star: float | None = None, log_time: bool = False,
         heads: int = 1, rank: int | None = 1, L: int = 1, seed: int = 0, hessian: bool = True,
         dense: bool = False) -> FlowResult:
    """Integrate theta' = -scale grad f(theta) of the exact population loss of ``model_name`` from ``init`` (a flat
    vector of the model's size, or a float: that scale times a standard normal draw from ``seed``) on [0, t_max]
    (``model_name`` may also be a ``Model``, e.g. numerics.dynamics.cot.teacher_forced_model);
    ``scale=0.5`` is the flow of the halved loss (1/2) f. See the module docstring for what is returned."""
    from scipy.integrate import solve_ivp

    m = model_name if isinstance(model_name, Model) else model(setting, model_name, heads=heads, rank=rank, L=L)
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        th0 = float(init) * np.random.default_rng(seed).standard_normal(m.size)
    else:
        th0 = np.asarray(init, dtype=float).ravel()
        if th0.size != m.size:
            raise InputError("init", f"{m.name} has {m.size} parameters, got {th0.size}")
    if not (np.isfinite(t_max) and t_max > 0):
        raise InputError("t_max", f"must be finite and > 0, got {t_max!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 3:
        raise InputError("samples", f"must be an integer >= 3, got {samples!r}")
    if log_time:
        t_eval = np.concatenate([[0.0], np.geomspace(t_max * 1e-6, t_max, samples - 1)])
    else:
        t_eval = np.linspace(0.0, t_max, samples)
    count = [0]

    def rhs(_t: float, th: np.ndarray) -> np.ndarray:
        count[0] += 1
        return -scale * m.loss_grad(th)[1]

    sol = solve_ivp(rhs, (0.0, float(t_max)), th0, method="LSODA", t_eval=t_eval, rtol=rtol, atol=atol,
                    dense_output=dense)
    if not sol.success:
        raise NumericalFailure("flow", f"the integrator stopped: {sol.message}")
    Th = sol.y.T  # (T, size)
    vals = [m.loss_grad(th) for th in Th]
    f = scale * np.array([v[0] for v in vals])
    gn = scale * np.array([np.linalg.norm(v[1]) for v in vals])
    inv = np.array([m.invariants(th) for th in Th])
    speed = gn**2  # -df/dt of the flowed objective scale * f
    pl = _plateaus(sol.t, f, speed)
    last = Th[-1]
    if hessian and m.size <= 200:
        ev = np.linalg.eigvalsh(scale * _hessian(m.loss_grad, last))
    else:
        ev = np.zeros(0)
    tolg = 1e-6 * max(1.0, abs(float(f[-1])))
    if gn[-1] > tolg:
        cls = "not converged"
    elif ev.size and ev[0] < -1e-6 * max(1.0, float(np.max(np.abs(ev)))):
        cls = "saddle"
    elif ev.size and ev[0] > 1e-6 * max(1.0, float(np.max(np.abs(ev)))):
        cls = "minimum"
    else:
        cls = "degenerate"
    if cls != "not converged" and f_star is not None and abs(float(f[-1]) - scale * float(f_star)) <= 1e-9 * max(
            1.0, abs(scale * float(f_star))):
        cls = "global minimum"  # the flow's loss equals the given global minimum value f* (its certificate)
    rates: dict[str, float] = {}
    fs = float(f[-1]) if f_star is None else scale * float(f_star)
    start = 0
    if pl:
        after = np.flatnonzero(sol.t > pl[-1].exit)
        start = int(after[0]) if after.size else t_eval.size - 1
    gap = f - fs
    # the fit window: after the last plateau, while f - f* is well above the integrator's error (1e-8 relative)
    ok = (np.arange(f.size) >= start) & (gap > 1e-8 * max(1.0, abs(fs))) & (sol.t > 0) & (gn > 0)
    if f_star is None:
        ok[-1] = False
    if ok.sum() >= 3:
        rates["exp_rate"], rates["exp_residual"] = _fit(sol.t[ok], np.log(gap[ok]))
        rates["exp_rate"] = -rates["exp_rate"]
        rates["power"], rates["power_residual"] = _fit(np.log(sol.t[ok]), np.log(gap[ok]))
        rates["power"] = -rates["power"]
        rates["p"], rates["p_residual"] = _fit(np.log(gn[ok]), np.log(gap[ok]))
    return FlowResult(model=m.name, t=sol.t, loss=f, grad_norm=gn, theta=Th, invariants=inv, plateaus=pl,
                      limit=m.readout(last), classification=cls, hessian_eigenvalues=ev, rates=rates,
                      nfev=count[0], theta_at=sol.sol if dense else None,
                      loss_fn=(lambda th: scale * m.loss_grad(th)[0]) if dense else None)
