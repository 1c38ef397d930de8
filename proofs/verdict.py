"""Verdicts are data: a claim's check is a list of named steps, each with its evidence.

Step status is one of pass / fail / inconclusive; the claim's verdict is confirmed (every step
passed), refuted (some step failed) or inconclusive (none failed, some could not decide).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import sympy as sp

__all__ = ["Checker", "ClaimResult", "Step", "overall"]

STEP_STATUSES = ("pass", "fail", "inconclusive")
VERDICTS = ("confirmed", "refuted", "inconclusive")


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, sp.Basic):
        return str(v)
    try:
        import numpy as np

        if isinstance(v, np.ndarray):
            return _jsonable(v.tolist())  # 0-d arrays give a scalar
        if isinstance(v, np.generic):
            return _jsonable(v.item())
    except ImportError:  # pragma: no cover
        pass
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


@dataclass
class Step:
    """One checked step of an argument."""

    name: str
    status: str
    detail: str
    computed: Any = None
    expected: Any = None
    # The step passes iff deviation <= tolerance (when both are given); steps decided otherwise
    # (a p-value above a level, an eigenvalue above a floor) leave them None and say so in ``detail``.
    deviation: float | None = None
    tolerance: float | None = None
    exact: bool = False
    # "printed": checks the statement as printed; "released": checks it under the authors' released code's
    # convention (proofs/released.py). The claim's verdict is over the printed steps; released_verdict over
    # the released ones.
    scope: str = "printed"

    def __post_init__(self) -> None:
        if self.status not in STEP_STATUSES:
            raise ValueError(f"step status must be one of {STEP_STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def overall(steps: list[Step]) -> str:
    steps = [s for s in steps if s.scope == "printed"]
    if any(s.status == "fail" for s in steps):
        return "refuted"
    if not steps or any(s.status == "inconclusive" for s in steps):
        return "inconclusive"
    return "confirmed"


@dataclass
class ClaimResult:
    key: str
    source: str
    statement: str
    verdict: str
    steps: list[Step]
    finding: str | None = None
    seconds: float = 0.0
    released_verdict: str | None = None  # the verdict under the released code's convention, if checked

    @property
    def max_deviation(self) -> float | None:
        devs = [s.deviation for s in self.steps if s.deviation is not None and math.isfinite(s.deviation)]
        return max(devs) if devs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "statement": self.statement,
            "verdict": self.verdict,
            "steps": [s.to_dict() for s in self.steps],
            "finding": self.finding,
            **({"released_verdict": self.released_verdict} if self.released_verdict is not None else {}),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Checker:
    """Accumulates steps. Exact identities exactly, numeric ones against a stated tolerance,
    Monte Carlo against a confidence interval."""

    steps: list[Step] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    scope: str = "printed"

    def add(self, step: Step) -> Step:
        step.scope = self.scope
        self.steps.append(step)
        return step

    @contextlib.contextmanager
    def as_released(self) -> Iterator[Checker]:
        """Steps added inside this block check the claim under the released code's convention."""
        old, self.scope = self.scope, "released"
        try:
            yield self
        finally:
            self.scope = old

    def exact(self, name: str, computed: Any, expected: Any, detail: str = "") -> Step:
        """Pass iff sympy simplifies computed - expected to exactly 0 (matrices entrywise)."""
        a, b = sp.sympify(computed), sp.sympify(expected)  # objects built by code, never user text
        diff = sp.simplify(a - b)
        zero = diff.is_zero_matrix if isinstance(diff, sp.MatrixBase) else diff == 0
        dev = 0.0 if zero else _max_abs_float(diff)
        return self.add(
            Step(name, "pass" if zero else "fail", detail or ("exact identity" if zero else f"differs by {diff}"),
                 computed=a, expected=b, deviation=dev, tolerance=0.0, exact=True)
        )

    def close(self, name: str, computed: Any, expected: Any, *, rtol: float = 0.0, atol: float = 0.0,
              reason: str) -> Step:
        """Pass iff |computed - expected| <= atol + rtol |expected| entrywise; ``reason`` justifies the tolerance."""
        import numpy as np

        c = np.asarray(computed, dtype=float)
        e = np.asarray(expected, dtype=float)
        err = np.abs(c - e)
        bound = atol + rtol * np.abs(e)
        ok = bool(np.all(err <= bound))
        scale = float(np.max(np.abs(e))) if e.size else 0.0
        dev = float(np.max(err)) / (scale if rtol and scale > 0 else 1.0)
        tol = rtol if rtol else atol
        return self.add(Step(name, "pass" if ok else "fail", f"{'within' if ok else 'outside'} tolerance ({reason})",
                             computed=c, expected=e, deviation=dev, tolerance=tol))

    def within_ci(self, name: str, estimate: Any, value: float, reason: str = "") -> Step:
        """Monte Carlo: pass iff ``value`` lies in the estimate's confidence interval."""
        lo, hi = estimate.ci
        ok = lo <= value <= hi
        z = abs(estimate.mean - value) / estimate.stderr if estimate.stderr > 0 else float("inf")
        return self.add(Step(
            name, "pass" if ok else "fail",
            f"{value:.6g} {'inside' if ok else 'outside'} {estimate.level:.1%} CI [{lo:.6g}, {hi:.6g}] "
            f"from {estimate.n_samples} samples (|z|={z:.2f}){'; ' + reason if reason else ''}",
            computed=estimate.mean, expected=value, deviation=z, tolerance=float(estimate.halfwidth / estimate.stderr)
            if estimate.stderr > 0 else None))

    def result(self, key: str, source: str, statement: str, finding: str | None = None) -> ClaimResult:
        """The claim's result. A refuted claim without a finding of its own gets one made of its
        failing steps, so no refutation is ever reported without its evidence. A finding given for a
        confirmed claim is kept (a note, e.g. an extension beyond the paper)."""
        verdict = overall(self.steps)
        if verdict == "refuted" and finding is None:
            finding = "; ".join(f"{s.name}: {s.detail}" for s in self.steps if s.status == "fail")
        released = [dataclasses.replace(s, scope="printed") for s in self.steps if s.scope == "released"]
        return ClaimResult(key=key, source=source, statement=statement, verdict=verdict, steps=self.steps,
                           finding=finding, seconds=time.perf_counter() - self.t0,
                           released_verdict=overall(released) if released else None)


def _max_abs_float(diff: Any) -> float | None:
    try:
        if isinstance(diff, sp.MatrixBase):
            return max(abs(float(x)) for x in diff)
        return abs(float(diff))
    except (TypeError, ValueError):
        return None
