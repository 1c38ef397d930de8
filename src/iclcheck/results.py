"""Result objects of the public API functions that bundle several computations (``iclcheck.api``).

Each is a dataclass with ``to_dict()``: the body of the matching command's JSON (``iclcheck <command> --format
json``, docs/json.md), before the envelope. Results with matrices also give ``out_arrays(npy)``: the arrays the
command's ``--out FILE.npy|.npz`` writes. Values are kept as computed (numpy arrays, sympy objects); the JSON
writer converts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from iclcheck.theory.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from iclcheck.numerics.bayes import RiskEstimate
    from iclcheck.numerics.one_layer.shift import ShiftedLoss
    from iclcheck.theory.setting import Setting

__all__ = ["Comparison", "Preconditioner", "SweepReport", "TrainReport", "setting_summary"]


def setting_summary(setting: Setting, cov: str | None) -> dict[str, Any]:
    """The setting as a JSON-ready dict (``cov``: the covariance's spec as given, or None)."""
    return {
        "d": setting.d,
        "n": str(setting.n) if setting.n_is_symbolic else int(setting.n),
        "covariates": setting.covariates,
        "sigma2": setting.sigma2,
        **({"sigma2_exact": str(setting.sigma2_exact)} if setting.sigma2_exact is not None else {}),
        "task_cov": setting.task_cov_kind,
        "cov": cov,
    }


def _r10(v: float) -> float:
    return float(f"{v:.10g}")  # a Monte Carlo mean: no BLAS-level digits


@dataclass
class Preconditioner:
    """The optimal one-layer preconditioner of a setting (``iclcheck.precond``).

    gamma, loss:              Gamma* (d x d floats) and L* = L(Gamma*); None for a symbolic n
    gamma_exact, loss_exact:  the same exactly (sympy: rationals, or rational functions of n), or None
    test, shift:              the test setting and Gamma* evaluated there (a ``ShiftedLoss``; None for symbolic n)
    shift_exact:              (L_test(Gamma*), L*_test, excess) exactly, or None
    bayes:                    the Bayes-optimal risk (a ``RiskEstimate``) in the units of L*, or None
    cov, test_cov:            the covariances' specs as given on the command line (labels in ``to_dict``; None
                              from the API)
    """

    setting: Setting
    gamma: np.ndarray | None
    loss: float | None
    gamma_exact: Any = None
    loss_exact: Any = None
    test: Setting | None = None
    shift: ShiftedLoss | None = None
    shift_exact: tuple[Any, Any, Any] | None = None
    bayes: RiskEstimate | None = None
    cov: str | None = None
    test_cov: str | None = None

    OUT_REPLACES: ClassVar[tuple[str, ...]] = ("gamma",)  # --out FILE carries Gamma* instead of the JSON

    def test_dict(self) -> dict[str, Any] | None:
        """The evaluation at the test setting: its summary, loss, test_optimum, excess, train_loss, gamma_test
        (floats) and the ``*_exact`` strings."""
        if self.test is None:
            return None
        out: dict[str, Any] = {"setting": setting_summary(self.test, self.test_cov)}
        if self.shift is not None:
            out.update(self.shift.to_dict())
            out["gamma_test"] = self.shift.gamma_test
        if self.shift_exact is not None:
            loss, opt, exc = self.shift_exact
            out.update(loss_exact=str(loss), test_optimum_exact=str(opt), excess_exact=str(exc))
        return out

    def bayes_dict(self) -> dict[str, Any] | None:
        b = self.bayes
        if b is None:
            return None
        assert self.loss is not None  # the baseline needs a numeric n, and then L* is computed
        return {"risk": _r10(b.value), "interval": [_r10(v) for v in b.interval], "exact": b.exact,
                "method": b.method, "lsa_excess": _r10(self.loss - b.value)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"gamma": self.gamma, "loss": self.loss,
                               "setting": setting_summary(self.setting, self.cov)}
        if self.gamma_exact is not None:
            G = self.gamma_exact
            out["gamma_exact"] = [[str(G[i, j]) for j in range(G.shape[1])] for i in range(G.shape[0])]
            out["loss_exact"] = str(self.loss_exact)
        for key, value in (("test", self.test_dict()), ("bayes", self.bayes_dict())):
            if value is not None:
                out[key] = value
        return out

    def out_arrays(self, npy: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """({"gamma": Gamma*}, {"loss": L*}) for a binary file."""
        if self.gamma is None:
            raise InputError("out", "symbolic n has no float matrix to write; give a numeric n")
        return {"gamma": self.gamma}, {"loss": self.loss}


@dataclass
class TrainReport:
    """An L-layer LSA trained with Adam on fresh prompts and read out (``iclcheck.train``).

    setting, family, L, steps, batch, lr, clip, warmup, seed:  what was trained, and how
    run:           the ``numerics.training.TrainResult`` (learned ``.Ps``, ``.Qs``; ``.history``; ``.seconds``)
    layers:        per layer (``numerics.training.summarize``): a, dist_A (and b, dist_B, the whitened matrices)
    loss:          the trained model's loss, a Monte Carlo estimate (``MCEstimate``: ``.mean``, ``.ci``)
    optimum:       (coefficients, loss) of the exact condition-(8) optimum, or None (``optimum_note`` says why)
    gap:           the paired Monte Carlo difference loss - optimum loss (an ``MCEstimate``), or None
    weights_file:  where the learned P, Q were written, or None
    """

    setting: Setting
    family: str
    L: int
    steps: int
    batch: int
    lr: float
    clip: float | None
    warmup: int
    seed: int
    run: Any
    layers: list[dict[str, Any]]
    loss: Any
    optimum: tuple[np.ndarray, float] | None = None
    optimum_note: str | None = None
    gap: Any = None
    weights_file: str | None = None

    def _layer_keys(self) -> dict[str, Any]:
        out: dict[str, Any] = {"coefficients": [e["a"] for e in self.layers],
                               "dist_A": [e["dist_A"] for e in self.layers]}
        if self.family != "gd":
            out["b"] = [e["b"] for e in self.layers]
            out["dist_B"] = [e["dist_B"] for e in self.layers]
        out["A_whitened"] = [e["A_whitened"].tolist() for e in self.layers]
        if self.family != "gd":
            out["B_whitened"] = [e["B_whitened"].tolist() for e in self.layers]
        if self.family == "full":
            out["off_pattern"] = [e["off_pattern"] for e in self.layers]
        return out

    def _loss_keys(self) -> dict[str, Any]:
        la, gap = self.loss, self.gap
        out: dict[str, Any] = {"loss": la.mean, "loss_ci": list(la.ci)}
        if self.optimum is None:
            return {**out, "optimum": None, "optimum_note": self.optimum_note}
        a_opt, f_opt = self.optimum
        out.update({"optimum": {"family": "gd (condition (8), A_i = a_i Sigma^-1)", "coefficients": a_opt.tolist(),
                                "loss": f_opt},
                    "gap": gap.mean, "gap_ci": list(gap.ci), "relative_gap": gap.mean / f_opt,
                    "relative_gap_ci": [gap.ci[0] / f_opt, gap.ci[1] / f_opt]})
        if not (la.estimable and gap.estimable):  # no gap, percentage or ratio of a mean that is not estimable
            out.update({"gap": None, "gap_ci": None, "relative_gap": None, "relative_gap_ci": None,
                        "gap_note": "not reported: the Monte Carlo mean is not estimable (heavy tails): "
                                    + (la.tail_note() or gap.tail_note())})
        return out

    def to_dict(self) -> dict[str, Any]:
        hist = self.run.history
        out = {"setting": self.setting.describe(), "family": self.family, "L": self.L, "steps": self.steps,
               "batch": self.batch, "lr": self.lr, "clip": self.clip, "warmup": self.warmup, "seed": self.seed,
               "seconds": round(self.run.seconds, 2), **self._layer_keys(), **self._loss_keys(),
               "history": [[t, v] for t, v in hist[:: max(1, len(hist) // 20)]]}
        if self.weights_file is not None:
            out["weights_file"] = self.weights_file
        return out


@dataclass
class Comparison:
    """Per-step errors of in-context regression algorithms side by side (``iclcheck.compare``).

    setting, L, steps, samples:  the numerics' description of the run (``setting``: a text)
    curves:      one ``numerics.compare`` curve per algorithm: ``.name``, ``.label``, ``.steps``, ``.errors``
                 (``MCEstimate`` per step), ``.exact`` (the exact error or None), ``.params``
    similarity:  best-matching step per layer and its SimE, per pair of algorithms
    seed, plot:  the seed of the prompts; the plot file written, or None
    """

    setting: str
    L: int
    steps: int
    samples: int
    curves: list[Any]
    similarity: dict[str, Any]
    seed: int
    plot: str | None = None

    @staticmethod
    def _per_step(c: Any) -> list[dict[str, Any]]:
        return [{"step": int(k), "mc_mean": e.mean, "ci": list(e.ci) if e.estimable else None,
                 "estimable": e.estimable, "median": e.median, "tail_index": e.tail_index,
                 "note": e.tail_note() or None, "exact": x, "beyond_L": bool(bz)}
                for k, e, x, bz in zip(c.steps, c.errors, c.exact, c.beyond(), strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting, "L": self.L, "steps": self.steps, "samples": self.samples, "seed": self.seed,
            "plot": self.plot,
            "algorithms": {c.name: {"label": c.label, "steps": [int(s) for s in c.steps],
                                    "errors": [e.mean for e in c.errors],
                                    "ci": [list(e.ci) if e.estimable else None for e in c.errors],
                                    "tuned_for_steps": c.tuned_steps, "per_step": self._per_step(c),
                                    "params": c.params} for c in self.curves},
            "similarity": {k: {"best_step": v["best_step"], "sim_e": v["sim_e"]} for k, v in self.similarity.items()},
        }


@dataclass
class SweepReport:
    """The critical-point census over a grid of settings (``iclcheck.sweep``).

    points:   the settings asked for (``numerics.sweep.SweepPoint``), sorted
    out:      the Parquet dataset's directory; ``table``: its rows for these points (a pyarrow Table)
    summary:  the run (``numerics.sweep.SweepSummary``: computed, skipped, failed, recomputed, cleaned)
    starts, seed, certify:  the census options
    plot:     the atlas file written, or None
    """

    points: list[Any]
    out: Any
    table: Any
    summary: Any
    starts: int
    seed: int
    certify: bool
    plot: str | None = None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {"settings": self.rows, "computed": s.computed, "skipped": s.skipped,
                "recomputed": [{"file": f, "reason": why} for f, why in s.recomputed],
                "failed": [{"setting": p.as_dict(), "error": e} for p, e in s.failed]}
