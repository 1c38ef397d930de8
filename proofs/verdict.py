"""Verdicts are data: a claim's check is a list of named steps, each with its evidence.

A step's status is a ``Status`` (pass / fail / inconclusive); the claim's verdict is a ``Verdict``:
confirmed (every step passed), refuted (some step failed and the statement is the paper's own text, READ),
recorded reading fails (some step failed but the statement is a reconstruction: ``scoped`` keeps this invariant),
inconclusive (none failed, some could not decide), or error (the toolkit's ``verify`` raised; never a verdict on
the paper). A finding is data too (``Finding``: the reading checked, what fails, the smallest counterexample, the
reading that holds, how far the evidence reaches, what to confirm in the paper). Both are ``str``-valued
enums, so JSON and Markdown show the same words as before, and free strings are rejected.

A step that compares numbers is decided by ONE object that also supplies the figures it shows: a
``Tolerance`` for computed-vs-expected comparisons, the confidence interval for Monte Carlo
(``Checker.within_ci``), a floor for eigenvalues (``Checker.at_least``), a critical value for z-tests
(``Checker.z_test``). A step that carries both a deviation and a tolerance passes iff
deviation <= tolerance (``Step.consistent``); a hand-built ``Step`` that contradicts its figures warns
(``InconsistentStep``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import sympy as sp

__all__ = ["Checker", "ClaimResult", "Finding", "InconsistentStep", "Reach", "Scope", "Status", "Step", "Tolerance",
           "Verdict", "overall", "scoped"]


class _Word(str, Enum):
    """A str-valued enum that prints as its value (f-strings, str(), JSON)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def of(cls, value: Any):
        """``value`` as a member; a member's value is accepted, anything else is a ValueError."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for m in cls:
                if m.value == value:
                    return m
        raise ValueError(f"{cls.__name__.lower()} must be one of {tuple(m.value for m in cls)}, got {value!r}")


class Status(_Word):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"

    @classmethod
    def decide(cls, ok: bool, otherwise: Status | None = None) -> Status:
        return cls.PASS if ok else (otherwise or cls.FAIL)


class Verdict(_Word):
    CONFIRMED = "confirmed"
    REFUTED = "refuted"  # a step failed and the statement is the paper's own text (provenance READ)
    # a step failed but the statement is a reconstruction (provenance not READ): our reading of the paper fails, which
    # is not a refutation of the paper; never counted, headlined or listed as "refuted" (``scoped``)
    RECORDED_FAILS = "recorded reading fails"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"  # verify() raised: an internal error of the toolkit, not a verdict on the paper

    @property
    def label(self) -> str:
        """The words a report shows: 'refuted as printed' for a refutation (only ever of a READ statement)."""
        return "refuted as printed" if self is Verdict.REFUTED else self.value


def scoped(verdict: Verdict | str, provenance: str) -> Verdict:
    """The verdict a statement of this provenance can carry: a failed check of a statement that was not READ in the
    paper's own text is 'recorded reading fails', never 'refuted' (and the other way round for a READ statement)."""
    v = Verdict.of(verdict)
    if v is Verdict.REFUTED and provenance != "READ":
        return Verdict.RECORDED_FAILS
    if v is Verdict.RECORDED_FAILS and provenance == "READ":
        return Verdict.REFUTED
    return v


class Reach(_Word):
    """How far a finding's evidence reaches (``Finding.scope``)."""

    EXACT = "exact"  # proven for every value of the stated parameters (symbolic, rational arithmetic)
    RANGE = "range checked"  # checked over a stated finite range (sizes, seeds, a grid)
    TYPICAL = "typical"  # seen at random draws; a property of typical instances, not of all


@dataclass(frozen=True)
class Finding:
    """A finding as data: which reading was checked, what fails, the smallest counterexample, the reading that holds
    (the corrected statement), how far the evidence reaches and what to confirm in the paper's own text.

    ``lines()`` renders it in a few short lines (the default terminal output and the findings list); ``text()`` is the
    full paragraph (``ClaimResult.finding``, the report's per-claim section, ``verify -v``). ``detail`` is the long
    explanation that only the full text shows. ``holds_step`` names the step that checks the corrected reading: the
    report says that reading is confirmed only when that step passed. A finding of a confirmed claim is a note (an
    extension beyond the statement): ``fails`` is then empty and ``note`` says what was found."""

    checked: str  # the reading checked, e.g. "eq. (5) as printed, ||S S^T||_2 read as the spectral norm"
    fails: str = ""  # what fails under that reading (empty for a note on a confirmed claim)
    counterexample: str = ""  # the smallest counterexample
    corrected: str = ""  # the reading / corrected statement that holds
    scope: Reach = Reach.EXACT  # how far the evidence for ``fails`` (or the note) reaches
    scope_note: str = ""  # the range or sample, e.g. "d = 20, n = 40, 200 prompts"
    confirm: str = ""  # what to confirm in the paper's own text
    note: str = ""  # for a confirmed claim: the extension found
    detail: str = ""  # the long explanation (full text only)
    holds_step: str = ""  # the name of the step that checks ``corrected``
    holds_reading: str = ""  # a few words naming the reading that holds, e.g. "Frobenius reading (rank S >= 2)"
    reading: str = ""  # a few words the verdict line shows: which reading fails, e.g. "||.||_2 read as spectral norm"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scope", Reach.of(self.scope))
        if not self.checked.strip():
            raise ValueError("a Finding says which reading was checked (checked=...)")

    def _scope(self) -> str:
        return f"{self.scope}" + (f" ({self.scope_note})" if self.scope_note else "")

    def lines(self) -> list[str]:
        """A few short lines, one per part that is given."""
        out = [f"checked: {self.checked}"]
        if self.fails:
            out.append(f"fails: {self.fails} [{self._scope()}]")
        if self.counterexample:
            out.append(f"smallest counterexample: {self.counterexample}")
        if self.note:
            out.append(f"note: {self.note}" + ("" if self.fails else f" [{self._scope()}]"))
        if self.corrected:
            out.append(f"holds: {self.corrected}")
        if self.confirm:
            out.append(f"to confirm in the paper: {self.confirm}")
        return out

    def text(self) -> str:
        """The full paragraph: the short lines as sentences, then ``detail``."""
        parts = [ln[0].upper() + ln[1:] for ln in self.lines()]
        body = ". ".join(p.rstrip(".") for p in parts) + "."
        return body + (f" {self.detail}" if self.detail else "")

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


class Scope(_Word):
    PRINTED = "printed"  # checks the statement as printed
    RELEASED = "released"  # checks it under the authors' released code's convention (proofs/released.py)


class InconsistentStep(UserWarning):
    """A Step whose shown deviation and tolerance contradict its status."""


STEP_STATUSES = tuple(s.value for s in Status)
VERDICTS = tuple(v.value for v in Verdict)


def _jsonable(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
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


@dataclass(frozen=True)
class Tolerance:
    """How far ``computed`` may be from ``expected``, entrywise, and why (``reason`` is shown).

    ``check`` decides and returns the figures the report shows, so the two cannot disagree:

    - atol only: deviation max |c - e| against atol;
    - rtol only: deviation max |c - e| / |e| against rtol (0/0 counts as 0, x/0 as inf);
    - both: deviation max |c - e| / (|e| + atol/rtol) against rtol (a relative deviation whose scale is
      floored at atol/rtol).

    In every case the step passes iff deviation <= shown tolerance, which is |c - e| <= atol + rtol |e|
    for every entry. The shown deviation stays in the units of the tolerance (relative when rtol is
    given), so rounding-level agreement prints as rounding level (the Markdown report shows it as
    '< 1e-12', independent of the BLAS build)."""

    rtol: float = 0.0
    atol: float = 0.0
    reason: str = ""

    def __post_init__(self) -> None:
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"tolerance {name} must be a finite number >= 0, got {v!r}")

    @property
    def shown(self) -> float:
        """The tolerance the deviation is compared with."""
        return float(self.rtol or self.atol)

    def check(self, computed: Any, expected: Any) -> tuple[bool, float, float]:
        """(ok, deviation, shown tolerance) with ok == (deviation <= shown tolerance)."""
        import numpy as np

        c = np.asarray(computed, dtype=float)
        e = np.asarray(expected, dtype=float)
        err = np.abs(c - e)
        if err.size == 0:
            return True, 0.0, self.shown
        if self.rtol:
            scale = np.abs(e) + self.atol / self.rtol  # err <= atol + rtol |e|  <=>  err / scale <= rtol
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(err == 0, 0.0, err / scale)  # x/0 -> inf (rtol only, e = 0); nan stays nan
        else:
            ratio = err
        dev = float("nan") if np.isnan(ratio).any() else float(np.max(ratio))
        tol = self.shown
        return bool(dev <= tol), dev, tol


@dataclass
class Step:
    """One checked step of an argument. Build it through a ``Checker`` method (``exact``, ``close``,
    ``within_ci``, ``at_least``, ``bounded``, ``z_test``, ``decided``, ``undecided``); direct construction still works."""

    name: str
    status: Status
    detail: str
    computed: Any = None
    expected: Any = None
    # The step passes iff deviation <= tolerance (when both are given); steps decided otherwise
    # (a count of mismatches, an ordering) leave them None and say so in ``detail``.
    deviation: float | None = None
    tolerance: float | None = None
    exact: bool = False
    # The claim's verdict is over the printed steps; released_verdict over the released ones.
    scope: Scope = Scope.PRINTED

    def __post_init__(self) -> None:
        self.status = Status.of(self.status)
        self.scope = Scope.of(self.scope)
        if not self.consistent:
            # Checker's constructors cannot produce this; a hand-built Step (old pattern) can: warn, keep it
            warnings.warn(f"step {self.name!r}: status {self.status} contradicts the shown deviation "
                          f"{self.deviation!r} and tolerance {self.tolerance!r} (a step passes iff deviation <= "
                          "tolerance); build it with a Checker method", InconsistentStep, stacklevel=3)

    @property
    def consistent(self) -> bool:
        """False iff the step shows a deviation and a tolerance that contradict its status."""
        d, t = self.deviation, self.tolerance
        if self.status is Status.INCONCLUSIVE or d is None or t is None or math.isnan(d) or math.isnan(t):
            return True
        return (d <= t) == (self.status is Status.PASS)

    def to_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in asdict(self).items()}


def overall(steps: list[Step]) -> Verdict:
    steps = [s for s in steps if s.scope is Scope.PRINTED]
    if any(s.status is Status.FAIL for s in steps):
        return Verdict.REFUTED
    if not steps or any(s.status is Status.INCONCLUSIVE for s in steps):
        return Verdict.INCONCLUSIVE
    return Verdict.CONFIRMED


@dataclass
class ClaimResult:
    key: str
    source: str
    statement: str
    verdict: Verdict
    steps: list[Step]
    finding: str | None = None
    seconds: float = 0.0
    released_verdict: Verdict | None = None  # the verdict under the released code's convention, if checked
    provenance: str = "READ"  # the statement's provenance tags (registry.PROVENANCE_TAGS); not READ -> "as recorded"
    parts: Finding | None = None  # the finding as data, when the claim gave one (``finding`` is then its full text)

    def __post_init__(self) -> None:
        self.verdict = Verdict.of(self.verdict)
        if self.released_verdict is not None:
            self.released_verdict = Verdict.of(self.released_verdict)

    def __setattr__(self, name: str, value: Any) -> None:
        # the invariant of ``scoped``, kept whenever the verdict or the provenance is set: a statement not READ in the
        # paper's own text never carries "refuted"
        super().__setattr__(name, value)
        if name in ("verdict", "provenance") and "verdict" in self.__dict__ and "provenance" in self.__dict__:
            super().__setattr__("verdict", scoped(self.__dict__["verdict"], self.__dict__["provenance"]))

    @property
    def max_deviation(self) -> float | None:
        devs = [s.deviation for s in self.steps if s.deviation is not None and math.isfinite(s.deviation)]
        return max(devs) if devs else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "statement": self.statement,
            "verdict": self.verdict.value,
            "steps": [s.to_dict() for s in self.steps],
            "finding": self.finding,
            **({"finding_parts": self.parts.to_dict()} if self.parts is not None else {}),
            "provenance": self.provenance,
            **({"released_verdict": self.released_verdict.value} if self.released_verdict is not None else {}),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Checker:
    """Accumulates steps. Exact identities exactly, numeric ones against a stated ``Tolerance``,
    Monte Carlo against a confidence interval. A claim's ``verify`` returns its Checker (and an optional
    finding); the registry (``Claim.run``) turns it into the ``ClaimResult``."""

    steps: list[Step] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)

    scope: Scope = Scope.PRINTED

    def add(self, step: Step) -> Step:
        step.scope = Scope.of(self.scope)
        self.steps.append(step)
        return step

    @contextlib.contextmanager
    def as_released(self) -> Iterator[Checker]:
        """Steps added inside this block check the claim under the released code's convention."""
        old, self.scope = self.scope, Scope.RELEASED
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
        if not zero and dev == 0.0:  # not proven zero, yet rounds to 0.0 in floats: no figure to show
            dev = None
        return self.add(
            Step(name, Status.decide(bool(zero)), detail or ("exact identity" if zero else f"differs by {diff}"),
                 computed=a, expected=b, deviation=dev, tolerance=0.0, exact=True)
        )

    def close(self, name: str, computed: Any, expected: Any, tol: Tolerance | None = None, *, rtol: float = 0.0,
              atol: float = 0.0, reason: str | None = None) -> Step:
        """Pass iff |computed - expected| <= atol + rtol |expected| entrywise, decided (and shown) by ``tol``;
        the keywords ``rtol``, ``atol``, ``reason`` build it in place (``reason`` justifies the tolerance)."""
        import numpy as np

        if tol is None:
            if reason is None:
                raise TypeError("close() needs a Tolerance or a reason for rtol/atol")
            tol = Tolerance(rtol=rtol, atol=atol, reason=reason)
        elif rtol or atol or reason is not None:
            raise TypeError("close(): give either a Tolerance or rtol/atol/reason, not both")
        ok, dev, shown = tol.check(computed, expected)
        return self.add(Step(name, Status.decide(ok), f"{'within' if ok else 'outside'} tolerance ({tol.reason})",
                             computed=np.asarray(computed, dtype=float), expected=np.asarray(expected, dtype=float),
                             deviation=dev, tolerance=shown))

    def within_ci(self, name: str, estimate: Any, value: float, reason: str = "") -> Step:
        """Monte Carlo: pass iff ``value`` lies in the estimate's confidence interval; shown as |z| against
        the interval's critical value (halfwidth / stderr). A heavy-tailed estimate (``estimable`` False:
        mean not estimable at this sample size) gives an inconclusive step that says so, never a pass."""
        if not getattr(estimate, "estimable", True):
            # heavy tails: the interval is not an honest one, so it can neither confirm nor refute
            return self.undecided(name, f"{value:.6g} not compared: {estimate.tail_note()}"
                                  f"{'; ' + reason if reason else ''}")
        lo, hi = estimate.ci
        z = abs(estimate.mean - value) / estimate.stderr if estimate.stderr > 0 else float("inf")
        zcrit = float(estimate.halfwidth / estimate.stderr) if estimate.stderr > 0 else None
        # |z| <= critical value is value in [mean - halfwidth, mean + halfwidth]; deciding by the shown figures
        # keeps status and figures consistent even where the two differ by rounding
        ok = (z <= zcrit) if zcrit is not None else (lo <= value <= hi)
        return self.add(Step(
            name, Status.decide(ok),
            f"{value:.6g} {'inside' if ok else 'outside'} {estimate.level:.1%} CI [{lo:.6g}, {hi:.6g}] "
            f"from {estimate.n_samples} samples (|z|={z:.2f}){'; ' + reason if reason else ''}",
            computed=estimate.mean, expected=value, deviation=z, tolerance=zcrit))

    def at_least(self, name: str, value: float, floor: float, *, slack: float, detail: str,
                 computed: Any = None) -> Step:
        """A floor (e.g. on an eigenvalue): pass iff value >= floor - slack; shown as the shortfall
        max(0, floor - value) against ``slack``."""
        short = max(0.0, float(floor) - float(value))
        return self.add(Step(name, Status.decide(short <= slack), detail,
                             computed=value if computed is None else computed, deviation=short, tolerance=float(slack)))

    def bounded(self, name: str, deviation: float, tolerance: float, *, detail: str, computed: Any = None,
                expected: Any = None, exact: bool = False) -> Step:
        """A deviation the claim computed itself (e.g. the largest relative mismatch over many exact
        comparisons): pass iff deviation <= tolerance."""
        return self.add(Step(name, Status.decide(deviation <= tolerance), detail, computed=computed, expected=expected,
                             deviation=float(deviation), tolerance=float(tolerance), exact=exact))

    def z_test(self, name: str, zmax: float, zcrit: float, *, detail: str, computed: Any = None,
               expected: Any = None, expect_zero: bool = True) -> Step:
        """A (Bonferroni) z-test. ``expect_zero``: pass iff zmax <= zcrit, shown as |z| against zcrit. A power
        control (``expect_zero=False``) passes iff zmax > zcrit, else it is inconclusive; it shows no deviation
        (it reports nothing about the claim)."""
        if expect_zero:
            return self.add(Step(name, Status.decide(zmax <= zcrit), detail, computed=computed, expected=expected,
                                 deviation=zmax, tolerance=zcrit))
        return self.add(Step(name, Status.decide(zmax > zcrit, Status.INCONCLUSIVE), detail, computed=computed,
                             expected=expected))

    def decided(self, name: str, ok: bool, detail: str, *, computed: Any = None, expected: Any = None,
                exact: bool = False) -> Step:
        """A step decided by a rule stated in ``detail`` (a count of mismatches, an ordering); no figures."""
        return self.add(Step(name, Status.decide(bool(ok)), detail, computed=computed, expected=expected,
                             exact=exact))

    def undecided(self, name: str, detail: str) -> Step:
        """A step that could not be decided here (the claim becomes inconclusive); ``detail`` says why."""
        return self.add(Step(name, Status.INCONCLUSIVE, detail))

    def result(self, key: str, source: str, statement: str, finding: str | Finding | None = None,
               provenance: str = "READ") -> ClaimResult:
        """The claim's result (the registry calls this; claims return the Checker instead). A refuted claim
        without a finding of its own gets one made of its failing steps, so no refutation is ever reported
        without its evidence. A finding given for a confirmed claim is kept (a note, e.g. an extension). A
        ``Finding`` is kept as data (``parts``) with its full text as ``finding``."""
        verdict = overall(self.steps)
        parts: Finding | None
        text: str | None
        if isinstance(finding, Finding):
            parts, text = finding, finding.text()
        else:
            parts, text = None, finding
        if verdict is Verdict.REFUTED and text is None:
            text = "; ".join(f"{s.name}: {s.detail}" for s in self.steps if s.status is Status.FAIL)
        released = [dataclasses.replace(s, scope=Scope.PRINTED) for s in self.steps if s.scope is Scope.RELEASED]
        return ClaimResult(key=key, source=source, statement=statement, verdict=verdict, steps=self.steps,
                           finding=text, seconds=time.perf_counter() - self.t0,
                           released_verdict=overall(released) if released else None, provenance=provenance,
                           parts=parts)

    @property
    def failed(self) -> bool:
        """Whether some printed step failed (e.g. to attach a finding only to a refutation)."""
        return any(s.status is Status.FAIL and s.scope is Scope.PRINTED for s in self.steps)


def _max_abs_float(diff: Any) -> float | None:
    try:
        if isinstance(diff, sp.MatrixBase):
            return max(abs(float(x)) for x in diff)
        return abs(float(diff))
    except (TypeError, ValueError):
        return None
