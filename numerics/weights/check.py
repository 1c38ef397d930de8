"""Check trained weights against the theory: their loss (exact or an interval, ``numerics.deep.model_loss``), the gap
to the theory's optimum for the setting, each layer's distance to the predicted matrix in the whitened frame, and
a warning when a sign or scale flip of the convention gives a much lower loss.

Reference optimum: one layer, L* = L(Gamma*) (``OneLayer.min_loss``, the global minimum of one layer); L layers,
the optimum of the condition-(8) family A_l = a_l Sigma^-1 (``numerics.families.gd.optimal_gd``, Gaussian data with
w ~ N(0, Sigma^-1) or Sigma = Sigma_w = I) - a reference, not a lower bound (GD++ or full weights can go below it).

Per-layer reading (canonical readout and mask only): the effective A_l = -P_l[d+1,d+1] Q_l[:d,:d] (a layer of the
form (8) has P = c e e^T, Q = -[[A/c, 0], [0, 0]]), whitened A_l^w = Sigma^{1/2} A_l Sigma^{1/2}; predicted: one
layer Gamma*^T, L layers a_l* I (layers matched to the optimal coefficients in sorted order of tr(A_l^w)/d: the loss
is symmetric in the layers). distance = ||A_l^w - predicted||_F / ||predicted||_F; ``off_pattern`` is the share of
||(P_l, Q_l)||_F outside the (8) pattern, which the reading ignores.

Flips tried (the common convention and layout mistakes): the prediction sign; P -> -P in every layer (L >= 2; for
one layer it is the prediction sign; Q -> -Q is the same model as P -> -P, each layer being bilinear in (P, Q));
Q -> Q^T (for pytorch / vonoswald: W_K and W_Q swapped, the same model); P -> n P and P -> P / n (a missing or
extra 1/n); and, re-read from the file's own arrays in the same
convention (``numerics.weights.layout_variants``): every array transposed (a file holding W^T, as code computing
Z @ W on row tokens stores it), alone and with the prediction sign, and the convention's two arrays swapped
(P <-> Q, W_PV <-> W_KQ, W_K <-> W_Q). Variants equal to the model (symmetric arrays) or to an earlier variant are
not evaluated. A flip "gives a much lower loss" when the upper end of its loss interval is below FLIP_RATIO = 0.5
times the lower end of the model's (exact losses: their values); the warning names the lowest one. A variant
without an exact route is first estimated from SCREEN_SAMPLES prompts; when that interval (its tails checked)
lies above the threshold the variant cannot be much lower and the estimate is kept, otherwise FLIP_SAMPLES are
drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from iclcheck.numerics.deep.model_loss import DEFAULT_SAMPLES, ModelLoss, model_loss
from iclcheck.numerics.weights import Weights
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["FLIP_RATIO", "FLIP_SAMPLES", "SCREEN_SAMPLES", "WeightsCheck", "check_loaded_weights"]

FLIP_RATIO = 0.5
FLIP_SAMPLES = 50_000  # Monte Carlo prompts per flipped variant (only when it has no exact route)
SCREEN_SAMPLES = 5_000  # a first Monte Carlo of each variant; the full FLIP_SAMPLES only when it may be much lower
SAME_RTOL = 1e-12  # variants this close (relative Frobenius) are one model: W_K^T W_Q of a symmetric product is
# symmetric only up to rounding, and a rounding-level difference changes the loss only at rounding level
_HINTS = {  # what the warning adds when a layout variant is the lowest
    "arrays transposed": "; the file seems to hold W^T (code computing Z @ W on row tokens): every convention reads "
                         "W as applied to column tokens, output = W z, as nn.Linear.weight (docs/weights.md)",
}


@dataclass(frozen=True)
class WeightsCheck:
    """The result of ``check_loaded_weights``; ``to_dict()`` is its JSON form."""

    weights: Weights
    loss: ModelLoss
    reference: float | None
    reference_name: str
    gap: tuple[float, float, float] | None  # (value, low, high): loss - reference; None when not estimable
    layers: list[dict] = field(default_factory=list)
    layers_note: str = ""
    flips: list[tuple[str, ModelLoss]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    gap_note: str = ""  # why the gap is not given (no reference, or a mean that is not estimable)

    @property
    def relative_gap(self) -> float | None:
        """gap / reference; None without a gap (no reference, or a loss whose mean is not estimable)."""
        return None if self.gap is None or not self.reference else self.gap[0] / self.reference

    def to_dict(self) -> dict:
        w = self.weights
        return {
            "source": w.source, "convention": w.convention, "map": w.map, "L": w.L, "d": w.d,
            "readout_sign": w.readout_sign, "mask": w.mask, "metadata": w.metadata,
            "loss": self.loss.to_dict(),
            "reference": {"name": self.reference_name, "loss": self.reference},
            "gap": None if self.gap is None else {"value": self.gap[0], "interval": list(self.gap[1:]),
                                                  "relative": self.relative_gap},
            "gap_note": self.gap_note or None,
            "layers": [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in e.items()}
                       for e in self.layers],
            "layers_note": self.layers_note,
            "flips": [{"flip": name, **ml.to_dict()} for name, ml in self.flips],
            "warnings": list(self.warnings),
        }


def _reference(setting: Setting, L: int) -> tuple[float | None, str, np.ndarray | None]:
    if L == 1:
        from iclcheck.numerics.one_layer.closed_form import OneLayer

        ol = OneLayer(setting)
        return ol.min_loss(), "one-layer optimum L(Gamma*) (global minimum of one layer)", ol.gamma_star().T
    from iclcheck.numerics.families.gd import optimal_gd

    try:
        opt = optimal_gd(setting, L)
    except InputError as exc:
        return None, f"no reference: {exc.problem}", None
    tag = "certified" if opt.certified else "not certified"
    return opt.loss, (f"optimum of the condition-(8) family A_l = a_l Sigma^-1 ({tag}; a = "
                      f"{np.round(opt.coefficients, 4).tolist()}); a reference, not a lower bound"), opt.coefficients


def _layers(setting: Setting, w: Weights, predicted) -> tuple[list[dict], str]:
    if not w.canonical:
        return [], ("not computed: the model is not the canonical one (readout +[Z] or no query mask), so the "
                    "(8)-reading of its layers does not apply")
    if predicted is None:
        return [], "not computed: no predicted matrices for this setting"
    from iclcheck.numerics.linalg import sqrtm_psd

    d = setting.d
    Sh = sqrtm_psd(setting.Sigma)
    mask = np.zeros((d + 1, d + 1), bool)
    mask[d, d] = True
    qmask = np.zeros((d + 1, d + 1), bool)
    qmask[:d, :d] = True
    rows = []
    for l in range(w.L):
        P, Q = w.Ps[l], w.Qs[l]
        Aw = Sh @ (-P[d, d] * Q[:d, :d]) @ Sh
        tot = float(np.sqrt(np.sum(P**2) + np.sum(Q**2)))
        off = float(np.sqrt(np.sum(P[~mask] ** 2) + np.sum(Q[~qmask] ** 2)) / tot) if tot else 0.0
        rows.append({"layer": l, "a": float(np.trace(Aw) / d), "A_whitened": Aw, "off_pattern": off})
    if w.L == 1:
        target = [Sh @ predicted @ Sh]
        note = "predicted Sigma^1/2 Gamma*^T Sigma^1/2 (one layer)"
    else:
        order = np.argsort([e["a"] for e in rows])
        coef = np.sort(np.asarray(predicted))
        target = [None] * w.L
        for rank, l in enumerate(order):
            target[l] = coef[rank] * np.eye(d)
        note = "predicted a_l* I (condition-(8) optimum; layers matched in sorted order of a_l)"
    for e, T in zip(rows, target, strict=True):
        e["predicted"] = T
        e["distance"] = float(np.linalg.norm(e["A_whitened"] - T) / max(np.linalg.norm(T), 1e-300))
    return rows, note


def _flipped(w: Weights, n: int) -> list[tuple[str, Weights]]:
    """Every variant of the module docstring, without those equal to the model or to an earlier variant (e.g.
    the transpose of symmetric arrays)."""
    import dataclasses

    from iclcheck.numerics.weights import layout_variants

    out = [("prediction sign", dataclasses.replace(w, readout_sign=-w.readout_sign))]
    if w.L > 1:  # for one layer it is the prediction sign (the prediction is linear in P); Q -> -Q is the same
        out.append(("P -> -P", dataclasses.replace(w, Ps=-w.Ps)))  # model as P -> -P (each layer is bilinear)
    if w.convention not in ("pytorch", "vonoswald"):  # there: the same as W_K and W_Q swapped (a layout below)
        out.append(("Q -> Q^T", dataclasses.replace(w, Qs=np.ascontiguousarray(np.swapaxes(w.Qs, 1, 2)))))
    if n > 1:
        out.append(("P -> n P", dataclasses.replace(w, Ps=w.Ps * n)))
        out.append(("P -> P / n", dataclasses.replace(w, Ps=w.Ps / n)))
    for name, v in layout_variants(w):
        out.append((name, v))
        if name.startswith("arrays transposed"):
            out.append((name + " and prediction sign", dataclasses.replace(v, readout_sign=-v.readout_sign)))
    kept: list[tuple[str, Weights]] = []
    for name, v in out:
        if not any(_same(v, u) for u in [w, *(u for _, u in kept)]):
            kept.append((name, v))
    return kept


class _Tally:
    """One ``progress(done, total)`` over the Monte Carlo runs of a check, one after another: ``done`` counts the
    prompts drawn so far, ``total`` those plus the rest of the run under way (it grows as each run starts: whether a
    variant needs one, and its full run after the screen, is decided on the way). Exact losses report nothing."""

    def __init__(self, progress: Callable[[int, int], None] | None) -> None:
        self.progress, self.spent = progress, 0

    def run(self) -> Callable[[int, int], None] | None:
        """The callback of the next run (``model_loss``'s ``progress``), None without a progress callback."""
        report = self.progress
        if report is None:
            return None
        base = self.spent

        def one(done: int, total: int) -> None:
            self.spent = base + done
            report(base + done, base + total)

        return one


def _variant_loss(setting: Setting, v: Weights, threshold: float, *, samples: int, seed: int,
                  tally: _Tally) -> ModelLoss | None:
    """The loss of a variant: exact where a route applies; else a Monte Carlo screen of SCREEN_SAMPLES prompts, kept
    when its interval lies above ``threshold`` (the variant cannot be "much lower"), and otherwise the full
    ``samples``. None when the variant's forward pass overflows (it is then not lower)."""
    from iclcheck.theory.errors import NumericalFailure

    kw: dict[str, Any] = {"readout_sign": v.readout_sign, "mask": v.mask, "seed": seed}
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            fl = model_loss(setting, v.Ps, v.Qs, samples=min(SCREEN_SAMPLES, samples), progress=tally.run(), **kw)
            if fl.exact or samples <= SCREEN_SAMPLES or (fl.estimable and fl.interval[0] > threshold):
                return fl
            return model_loss(setting, v.Ps, v.Qs, samples=samples, progress=tally.run(), **kw)
        except NumericalFailure:
            return None


def _same(a: Weights, b: Weights) -> bool:
    def close(X, Y):
        return float(np.linalg.norm(X - Y)) <= SAME_RTOL * max(float(np.linalg.norm(X)), float(np.linalg.norm(Y)))

    return a.readout_sign == b.readout_sign and a.mask == b.mask and close(a.Ps, b.Ps) and close(a.Qs, b.Qs)


def check_loaded_weights(setting: Setting, w: Weights, *, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                         flip_samples: int = FLIP_SAMPLES,
                         progress: Callable[[int, int], None] | None = None) -> WeightsCheck:
    """Check a canonical-mapped model (``numerics.weights.load_weights``) at a setting (module docstring).
    ``progress(done, total)`` after each Monte Carlo batch of the model's and its variants' losses (``_Tally``:
    prompts drawn, of a total that grows as each run starts; never called when every loss is exact); it changes
    no draw."""
    if w.d != setting.d:
        raise InputError("weights", f"the model is for d = {w.d} but the setting has d = {setting.d}")
    tally = _Tally(progress)
    ml = model_loss(setting, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, samples=samples, seed=seed,
                    progress=tally.run())
    ref, ref_name, predicted = _reference(setting, w.L)
    gap, gap_note = None, ""
    if ref is None:
        gap_note = ref_name
    elif not ml.estimable:  # a gap, percentage or ratio of a mean that cannot be estimated means nothing
        est = ml.estimate
        assert est is not None, "a loss that is not estimable is a Monte Carlo one, with its estimate"
        qs = ", ".join(f"q{round(100 * q)} {v:.4g}" for q, v in est.quantiles)
        gap_note = (f"not reported: the Monte Carlo mean is not estimable (heavy tails), so a gap or a percentage "
                    f"of it would mean nothing; the squared errors have median {est.median:.4g} ({qs}), the "
                    f"reference {ref:.4g} is a mean")
    else:
        gap = (ml.value - ref, ml.interval[0] - ref, ml.interval[1] - ref)
    rows, note = _layers(setting, w, predicted)
    flips, warnings = [], []
    if not ml.estimable:
        warnings.append("the Monte Carlo mean is not estimable (heavy tails), so no gap and no flip comparison is "
                        "reported: " + ml.note)
    n = int(setting.n)
    threshold = FLIP_RATIO * ml.interval[0]
    for name, v in (_flipped(w, n) if ml.estimable else []):  # a mean that is not estimable is compared to none
        fl = _variant_loss(setting, v, threshold, samples=flip_samples, seed=seed + 1, tally=tally)
        if fl is not None:
            flips.append((name, fl))
    lower = [(name, fl) for name, fl in flips
             if fl.estimable and ml.estimable and fl.interval[1] < FLIP_RATIO * ml.interval[0]]
    if lower:
        lower.sort(key=lambda t: t[1].value)
        name, fl = lower[0]
        also = f" (also lower: {', '.join(f'{k} {_short(v)}' for k, v in lower[1:])})" if len(lower) > 1 else ""
        hint = _HINTS.get(name.split(" and prediction")[0], "")
        warnings.append(f"{name} gives a much lower loss: {_short(fl)} vs {_short(ml)}{also}; check the convention "
                        f"(read as {w.convention}: {w.map}){hint}")
    return WeightsCheck(weights=w, loss=ml, reference=ref, reference_name=ref_name, gap=gap, layers=rows,
                        layers_note=note, flips=flips, warnings=warnings, gap_note=gap_note)



def _short(ml: ModelLoss) -> str:
    if ml.exact:
        return f"{ml.value:.4g} (exact)"
    return f"{ml.value:.4g} [{ml.interval[0]:.4g}, {ml.interval[1]:.4g}]"
