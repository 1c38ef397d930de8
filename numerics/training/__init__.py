"""Training the L-layer linear self-attention as the papers do: minibatch Adam on fresh prompts.

The model is the one of ``numerics.lsa`` (canonical model, docs/model.md): the masked
linear LSA, re-associated without changing the function,

    (1/n) P Z M (Z^T Q Z) = P K Q Z,   K = (1/n) Z M Z^T   (d+1 x d+1),   loss = mean_b (TF - y_q)^2,

and its gradient is ``numerics.lsa.vjp`` (finite-difference checked in tests/numerics/test_lsa.py).

Parameter families (Ahn et al. 2023; every map is linear, so the chain rule is a projection; the maps live in
``numerics.training.families`` and are re-exported here):

- ``gd``   condition (8):  P_i = [[0, 0], [0, 1]],  Q_i = -[[A_i, 0], [0, 0]]       (theta = A_i)
- ``gdpp`` condition (11): P_i = [[B_i, 0], [0, 1]], Q_i = -[[A_i, 0], [0, 0]]      (theta = A_i, B_i)
- ``full`` every entry of P_i and Q_i                                              (theta = P_i, Q_i)
- ``gd-scalar`` A_i = a_i Sigma^{-1};  ``gdpp-scalar`` A_i = a_i Sigma^{-1}, B_i = b_i I  (the papers'
  restricted sets S of Thms 3 and 4), used to find the restricted optimum by common random numbers.

Reported quantities: the whitened matrices Sigma^{1/2} A_i Sigma^{1/2} (and Sigma^{-1/2} B_i Sigma^{1/2}),
Dist(M, I) = min_alpha ||M - alpha I||_F / ||M||_F = ||M - (tr M / d) I||_F / ||M||_F, and the learned
coefficients a_i = tr(Sigma^{1/2} A_i Sigma^{1/2}) / d, b_i = tr(B_i) / d.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np
from scipy import optimize

from iclcheck.numerics.limits import MAX_BATCH, MAX_LAYERS, MAX_MEMORY_BYTES, MAX_STEPS  # noqa: F401 (re-exported)
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import Prompts, sample_prompts
from iclcheck.numerics.model.lsa import LSA, loss_and_grads
from iclcheck.numerics.model.montecarlo import MCEstimate, mc_mean
from iclcheck.numerics.training.families import FAMILIES, Family, family  # noqa: F401 (re-exported)
from iclcheck.theory.errors import InputError, NumericalFailure
from iclcheck.theory.setting import Setting

__all__ = [
    "FAMILIES",
    "adam_update",
    "MAX_BATCH",
    "MAX_LAYERS",
    "MAX_MEMORY_BYTES",
    "MAX_STEPS",
    "Family",
    "TrainResult",
    "check_budget",
    "dist_to_identity",
    "family",
    "forward_backward",
    "loss_on",
    "paired_gap",
    "restricted_optimum",
    "summarize",
    "step_memory_bytes",
    "train",
]

# Sizes a training run accepts, checked before any work (``check_budget``):


def step_memory_bytes(d: int, n: int, L: int, batch: int) -> int:
    """Estimated peak working set of one training step (float64): the prompts and, per layer, what the
    forward pass keeps for the VJP (Z before and after attention (B, D, n+1), K and T (B, D, D)), plus
    a handful of (B, D, n+1) temporaries of the backward pass."""
    D, N1 = d + 1, n + 1
    per_layer = 2 * D * N1 + 2 * D * D
    prompts = (n + 1) * d * 3 + D * N1  # s, x, X / Z0
    return 8 * int(batch) * (int(L) * per_layer + prompts + 6 * D * N1)


def check_budget(setting: Setting, L: int, *, steps: int, batch: int) -> None:
    """Refuse a run beyond the documented bounds (MAX_LAYERS, MAX_STEPS, MAX_BATCH, MAX_MEMORY_BYTES)."""
    for what, v, top in (("L", L, MAX_LAYERS), ("steps", steps, MAX_STEPS), ("batch", batch, MAX_BATCH)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(what, f"must be a positive integer, got {v!r}")
        if v > top:
            raise InputError(what, f"at most {top:,} for training, got {v:,}")
    if setting.n_is_symbolic:
        raise InputError("n", "training needs a numeric n")
    mem = step_memory_bytes(setting.d, int(setting.n), L, batch)
    if mem > MAX_MEMORY_BYTES:
        raise InputError("batch", f"one step of {batch:,} prompts (d={setting.d}, n={setting.n}, L={L}) needs about "
                                  f"{mem / 2**30:.1f} GiB, more than the {MAX_MEMORY_BYTES / 2**30:.0f} GiB bound; "
                                  "use fewer prompts per step")


# ---------------------------------------------------------------------------------------------
# the model (numerics.lsa) on a batch: loss and gradient
# ---------------------------------------------------------------------------------------------
def _prompt_arrays(pr: Prompts) -> tuple[np.ndarray, np.ndarray]:
    return pr.Z0, pr.yq  # (B, d+1, n+1), (B,)


@overload
def forward_backward(
    Ps: np.ndarray, Qs: np.ndarray, Z0: np.ndarray, yq: np.ndarray, *, grad: Literal[True] = ...
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def forward_backward(
    Ps: np.ndarray, Qs: np.ndarray, Z0: np.ndarray, yq: np.ndarray, *, grad: Literal[False]
) -> tuple[float, np.ndarray, None, None]: ...
@overload
def forward_backward(
    Ps: np.ndarray, Qs: np.ndarray, Z0: np.ndarray, yq: np.ndarray, *, grad: bool
) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray | None]: ...
def forward_backward(
    Ps: np.ndarray, Qs: np.ndarray, Z0: np.ndarray, yq: np.ndarray, *, grad: bool = True
) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Mean squared error of the L-layer LSA on a batch and its exact gradient in every P_l, Q_l
    (``numerics.lsa``, canonical masked linear model, re-associated).

    Ps, Qs: (L, D, D) with D = d+1; Z0: (B, D, n+1); yq: (B,). Returns (loss, residuals (B,),
    dloss/dPs (L, D, D), dloss/dQs (L, D, D)); residual = TF - y_q = -[Z_L]_{d+1,n+1} - y_q."""
    model = LSA(L=len(Ps), reassociate=True)
    loss, r, g = loss_and_grads(model, Z0, yq, Ps, Qs, grad=grad)
    if not grad:
        return loss, r, None, None
    return loss, r, g["Ps"][:, 0], g["Qs"][:, 0]


def loss_on(Ps, Qs, prompts: Prompts) -> np.ndarray:
    """Squared errors (TF - y_q)^2 per prompt, shape (B,)."""
    _, r, _, _ = forward_backward(np.asarray(Ps, float), np.asarray(Qs, float), *_prompt_arrays(prompts),
                                  grad=False)
    return r**2


# ---------------------------------------------------------------------------------------------
# Adam on fresh prompts
# ---------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    family: Family
    theta: np.ndarray
    Ps: np.ndarray  # (L, D, D)
    Qs: np.ndarray  # (L, D, D)
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, running minibatch loss)
    seconds: float = 0.0
    steps: int = 0
    batch: int = 0


def _diverged(t: int, steps: int, problem: str, lr: float, L: int) -> None:
    raise NumericalFailure("training", f"diverged at step {t} of {steps}: {problem}",
                           f"lower lr (it was {lr:g}), set clip, raise warmup or use fewer layers L (it was {L})")


def adam_update(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, step: float, *,
                betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One bias-corrected Adam update at step ``t`` (1-based) with learning rate ``step`` (its schedule applied):
    the numpy trainer's, returned as (theta, m, v)."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mh = m / (1 - b1**t)
    vh = v / (1 - b2**t)
    return theta - step * mh / (np.sqrt(vh) + eps), m, v


def train(
    setting: Setting,
    L: int,
    *,
    family_name: str = "gd",
    steps: int = 3000,
    batch: int = 2048,
    lr: float = 0.01,
    final_lr_frac: float = 0.01,
    warmup: int = 0,
    clip: float | None = None,
    rng: np.random.Generator,
    theta0: np.ndarray | None = None,
    init_scale: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Adam (bias-corrected) on fresh prompts every step, learning rate lr * cos-decayed to
    lr * final_lr_frac after ``warmup`` linear warm-up steps; the exact minibatch gradient from
    ``forward_backward``, optionally clipped to global norm ``clip``. ``callback(step, running_loss)`` is called
    every max(1, steps // 200) steps and at the last (a progress display: this function prints nothing).

    Sizes beyond MAX_LAYERS, MAX_STEPS, MAX_BATCH or MAX_MEMORY_BYTES are refused before any work
    (InputError); a non-finite loss, gradient or parameter raises NumericalFailure (what diverged, at
    which step, and what to try)."""
    if not (np.isfinite(lr) and lr > 0):
        raise InputError("lr", f"learning rate must be a positive number, got {lr!r}")
    fam = family(family_name, setting, L)
    check_budget(setting, L, steps=steps, batch=batch)
    theta = fam.init(rng, scale=init_scale) if theta0 is None else np.array(theta0, dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    hist: list[tuple[int, float]] = []
    run = None
    t0 = time.perf_counter()
    every = max(1, steps // 200)
    for t in range(1, steps + 1):
        pr = sample_prompts(setting, batch, rng)
        Ps, Qs = fam.to_PQ(theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is checked below
            loss, _, dP, dQ = forward_backward(Ps, Qs, pr.Z0, pr.yq)
            g = fam.pullback(dP, dQ)
        if not (np.isfinite(loss) and np.all(np.isfinite(g))):
            _diverged(t, steps, f"the minibatch loss is {loss:.3g}" if not np.isfinite(loss)
                      else "the gradient has non-finite entries", lr, L)
        if clip is not None:
            gn = float(np.linalg.norm(g))
            if gn > clip:
                g = g * (clip / gn)
        frac = final_lr_frac + (1 - final_lr_frac) * 0.5 * (1 + np.cos(np.pi * (t - 1) / max(steps - 1, 1)))
        if t <= warmup:
            frac = frac * t / warmup
        theta, m, v = adam_update(theta, g, m, v, t, lr * frac, betas=betas, eps=eps)
        if not np.all(np.isfinite(theta)):
            _diverged(t, steps, "the parameters have non-finite entries", lr, L)
        run = loss if run is None else 0.98 * run + 0.02 * loss
        if t % every == 0 or t == steps:
            hist.append((t, float(run)))
            if callback is not None:
                callback(t, run)
    Ps, Qs = fam.to_PQ(theta)
    return TrainResult(family=fam, theta=theta, Ps=Ps, Qs=Qs, history=hist,
                       seconds=time.perf_counter() - t0, steps=steps, batch=batch)


# ---------------------------------------------------------------------------------------------
# restricted optimum by common random numbers, paired gaps
# ---------------------------------------------------------------------------------------------
def restricted_optimum(
    setting: Setting,
    L: int,
    *,
    family_name: str = "gd-scalar",
    samples: int = 20_000,
    rng: np.random.Generator,
    x0: np.ndarray | None = None,
    fixed_prompts: Prompts | None = None,
    starts_count: int = 3,
) -> tuple[np.ndarray, float]:
    """argmin of the sample-average loss over one fixed set of prompts (common random numbers) in
    a scalar family, by L-BFGS on the exact sample gradient. Returns (theta, sample loss)."""
    fam = family(family_name, setting, L)
    pr = fixed_prompts if fixed_prompts is not None else sample_prompts(setting, samples, rng)
    Z0, yq = pr.Z0, pr.yq

    def fg(th: np.ndarray) -> tuple[float, np.ndarray]:
        Ps, Qs = fam.to_PQ(th)
        loss, _, dP, dQ = forward_backward(Ps, Qs, Z0, yq)
        return loss, fam.pullback(dP, dQ)

    if x0 is None:  # asymmetric random starts: equal a_i are a symmetric (saddle) critical set
        starts = [rng.uniform(0.2, 1.5, fam.size) for _ in range(starts_count)]
        if family_name == "gdpp-scalar":
            for s0 in starts:
                s0[L:] = rng.uniform(0.0, 1.0, L)
    else:
        starts = [np.asarray(x0, float)]
    best = None
    for s0 in starts:
        res = optimize.minimize(fg, s0, jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-9})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None, "at least one start (starts_count >= 1, or x0)"
    return best.x, float(best.fun)


def paired_gap(setting: Setting, Ps_a, Qs_a, Ps_b, Qs_b, *, samples: int, rng: np.random.Generator,
               level: float = 0.999, batch: int = 20_000) -> tuple[MCEstimate, MCEstimate]:
    """Monte Carlo estimates of loss(a) and of loss(a) - loss(b) on the same prompts (common random
    numbers make the difference's interval far narrower than either loss's)."""
    Pa, Qa, Pb, Qb = (np.asarray(x, float) for x in (Ps_a, Qs_a, Ps_b, Qs_b))
    def draw_a(r, k):
        return loss_on(Pa, Qa, sample_prompts(setting, k, r))

    def draw_d(r, k):
        pr = sample_prompts(setting, k, r)
        return loss_on(Pa, Qa, pr) - loss_on(Pb, Qb, pr)

    seed = int(rng.integers(2**63))  # the same prompt stream for both estimates
    la = mc_mean(draw_a, samples=samples, rng=np.random.default_rng(seed), batch=batch, level=level)
    dd = mc_mean(draw_d, samples=samples, rng=np.random.default_rng(seed), batch=batch, level=level)
    return la, dd


# ---------------------------------------------------------------------------------------------
# reading the learned matrices
# ---------------------------------------------------------------------------------------------
def dist_to_identity(M: np.ndarray) -> float:
    """Dist(M, I) = min_alpha ||M - alpha I||_F / ||M||_F (alpha* = tr M / d)."""
    M = np.asarray(M, float)
    nrm = np.linalg.norm(M)
    if nrm == 0:
        return 0.0
    return float(np.linalg.norm(M - np.trace(M) / M.shape[0] * np.eye(M.shape[0])) / nrm)


def summarize(res: TrainResult, setting: Setting) -> dict:
    """Learned matrices in the whitened frame, Dist values and coefficients (canonical scale).

    For ``full`` the effective A_i = -P_i[d,d] Q_i[:d,:d] and B_i = P_i[:d,:d] / P_i[d,d] (the
    rescaling P -> gamma P, Q -> Q / gamma fixed by P_i[d,d] = 1), plus the relative size of the
    entries outside the condition-(11) pattern."""
    d = setting.d
    Sh = sqrtm_psd(setting.Sigma)
    Shi = np.linalg.inv(Sh)
    out: dict = {"layers": []}
    for l in range(res.family.L):
        P, Q = res.Ps[l], res.Qs[l]
        if res.family.name == "full":
            pdd = P[d, d]
            A = -pdd * Q[:d, :d]
            Bm = P[:d, :d] / pdd if pdd != 0 else P[:d, :d] * np.nan
            mask_P = np.ones_like(P, bool)
            mask_P[:d, :d] = False
            mask_P[d, d] = False
            mask_Q = np.ones_like(Q, bool)
            mask_Q[:d, :d] = False
            off = float(np.sqrt(np.sum(P[mask_P] ** 2) + np.sum(Q[mask_Q] ** 2))
                        / max(np.sqrt(np.sum(P**2) + np.sum(Q**2)), 1e-300))
        else:
            A = -Q[:d, :d]
            Bm = P[:d, :d]
            off = 0.0
        Aw = Sh @ A @ Sh  # whitened A
        Bw = Shi @ Bm @ Sh  # whitened B
        entry = {
            "a": float(np.trace(Aw) / d),
            "dist_A": dist_to_identity(Aw),
            "norm_A": float(np.linalg.norm(A)),
            "A_whitened": Aw,
        }
        if res.family.name in ("gdpp", "full", "gdpp-scalar"):
            entry.update({"b": float(np.trace(Bw) / d), "dist_B": dist_to_identity(Bw), "B_whitened": Bw})
        if res.family.name == "full":
            entry["off_pattern"] = off
        out["layers"].append(entry)
    return out
