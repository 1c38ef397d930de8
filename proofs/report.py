"""Running claims and rendering their verdicts: table (terminal), JSON (machines), Markdown (README).

``run_claims`` runs each selected claim (``Claim.run``) and never lets one claim's crash stop the
others: a claim whose ``verify`` raises becomes a result with verdict ``"error"`` (an internal
error of the toolkit, not a verdict on the paper) and the traceback's last line as its finding.

The Markdown report is deterministic for a fixed seed and profile (byte-identical on rerun): it
contains no timings, no dates and no machine details, and numbers are printed with fixed
significant digits. It is docs/VERIFICATION.md (the README shows a compact summary of it).

Claims with released-code records (``proofs.released``) also show the released code (repo@commit:path and
the fact) and their verdict "as printed" next to "as released"; claims without records render as before.
"""

from __future__ import annotations

import math
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from iclcheck.proofs.registry import Claim, Context, interrupt_watch, movable, plugin_abort
from iclcheck.proofs.released import ReleasedCode, released_code
from iclcheck.proofs.verdict import ClaimResult, Status, Step, Verdict

__all__ = [
    "ERROR",
    "VERDICT_ORDER",
    "json_report",
    "markdown_report",
    "run_claims",
    "summary",
    "table_report",
]

ERROR = Verdict.ERROR  # a claim whose verify() raised: an internal error, reported, never a verdict on the paper
VERDICT_ORDER = tuple(Verdict)


def _run_one(claim: Claim, ctx: Context) -> ClaimResult:
    t0 = time.perf_counter()
    try:
        with interrupt_watch() as watch:
            res = claim.run(ctx)
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # this claim's internal error; the others continue
        if not isinstance(exc, Exception) and not plugin_abort(exc, watch):
            raise  # the user's Ctrl-C
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        if isinstance(exc, SystemExit):  # sys.exit() in a claim is its failure, never the command's exit status
            last = f"SystemExit({exc.code!r}): a claim may not end the process"
        return ClaimResult(key=claim.key, source=claim.source, statement=claim.statement, verdict=ERROR,
                           steps=[], finding=f"internal error in verify(): {last}",
                           seconds=time.perf_counter() - t0)
    res.seconds = time.perf_counter() - t0
    return res


def _failed_task(claim: Claim, exc: BaseException) -> ClaimResult:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return ClaimResult(key=claim.key, source=claim.source, statement=claim.statement, verdict=ERROR, steps=[],
                       finding=f"internal error in the Dask task running verify(): {last}", seconds=0.0)


# Claims that share an expensive computation cached per process (a per-process cache): with --jobs they run as
# one task, one after the other, so the computation is done once rather than once on each worker that draws one of
# them (measured before: verify --jobs 2 slower than --jobs 1, fig4 and thm4 each redoing the multistart).
SHARED_WORK: dict[str, tuple[str, ...]] = {
    "GD++ multistart at d=5, n=20, L=3 (numerics.families.gdpp._optimal_gdpp_core)": ("ahn2023.thm4", "ahn2023.fig4"),
}


# The longest single claims of a quick run (seconds measured on 2 cores, loaded: 2.8, 2.5, 2.1, 1.3, 1.0, 0.9; the
# rest under 0.9 s): queued right after the shared-work groups, so no long claim starts last and leaves the other
# process idle at the end. Only the order of the queue depends on this; a stale entry costs time, never bytes.
LONG_FIRST: tuple[str, ...] = ("mahankali2023.thm3", "ahn2023.thm5", "ahn2023.thm3", "fu2023.illconditioned",
                               "vonoswald2023.setup", "vonoswald2023.gdpp_gamma")


def _tasks(claims: list[Claim]) -> list[list[int]]:
    """Indices into ``claims`` per task: each SHARED_WORK group present (in the order of ``claims``) first, as
    the longest tasks, then the LONG_FIRST claims present, then every other claim alone, in order."""
    where = {c.key: i for i, c in enumerate(claims)}
    tasks, grouped = [], set()
    for keys in SHARED_WORK.values():
        idx = sorted(where[k] for k in set(keys) if k in where and where[k] not in grouped)
        if len(idx) > 1:
            tasks.append(idx)
            grouped.update(idx)
    long = [where[k] for k in LONG_FIRST if k in where and where[k] not in grouped]
    grouped.update(long)
    return tasks + [[i] for i in long] + [[i] for i in range(len(claims)) if i not in grouped]


def _run_task(claims: list[Claim], ctx: Context) -> list[ClaimResult]:
    """One Dask task: the claims one after the other in this worker (they share its caches)."""
    return [_run_one(c, ctx) for c in claims]


def _task_key(claims: list[Claim], idx: list[int], ctx: Context) -> str:
    return f"iclcheck-claim-{'+'.join(claims[i].key for i in idx)}-{ctx.seed}-{ctx.profile}"


def _task_results(fut: Any, idx: list[int], claims: list[Claim]) -> list[ClaimResult]:
    """A finished Dask task's results; a lost or unpicklable task is its claims' internal error."""
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001
        return [_failed_task(claims[i], exc) for i in idx]


class _Collector:
    """The results in the order of ``claims``, each reported to ``on_done`` as it arrives (completion order)."""

    def __init__(self, claims: list[Claim], on_done: Callable[[int, int, Claim, ClaimResult], None] | None):
        self.claims, self.on_done = claims, on_done
        self.out: list[ClaimResult | None] = [None] * len(claims)
        self.done = 0

    def add(self, idx: list[int], results: list[ClaimResult]) -> None:
        for i, r in zip(idx, results, strict=True):
            self.out[i] = r
            self.done += 1
            if self.on_done is not None:
                self.on_done(self.done, len(self.claims), self.claims[i], r)

    def results(self) -> list[ClaimResult]:
        return [r for r in self.out if r is not None]


_DASK_FEATURE = "running the claims on a Dask cluster (jobs > 1 or a scheduler)"


def _run_claims_dask(claims: list[Claim], ctx: Context, got: _Collector, jobs: int, scheduler: str | None
                     ) -> list[ClaimResult]:
    """With a running scheduler: one Dask task per claim, or per group of claims sharing a cached computation
    (``SHARED_WORK``); results reassembled in the order of ``claims``. A claim's random stream is salted by the claim
    (``ctx.rng()``), so its result does not depend on which process runs it, when, or after which claim."""
    from iclcheck.numerics.dask_client import dask_client
    from iclcheck.theory.errors import import_optional

    as_completed = import_optional("distributed", extra="sweep", feature=_DASK_FEATURE).as_completed
    tasks = _tasks(claims)
    with dask_client(jobs, scheduler) as client:
        futures = {client.submit(_run_task, [claims[i] for i in idx], ctx, pure=False, priority=len(tasks) - t,
                                 key=_task_key(claims, idx, ctx)): idx for t, idx in enumerate(tasks)}
        for fut in as_completed(futures):
            got.add(futures[fut], _task_results(fut, futures[fut], claims))
    return got.results()


def _run_claims_local(claims: list[Claim], ctx: Context, got: _Collector, jobs: int) -> list[ClaimResult]:
    """``jobs`` processes on this machine: this one and a LocalCluster of ``jobs - 1`` Dask workers, taking tasks
    (``_tasks``: the shared-work groups and the longest claims first) from one queue. This process starts on the first
    task at once, while the cluster starts in a thread beside it (1.5-2 s, then each worker's imports): on 2 cores,
    two workers and an idle parent lost most of the gain to those seconds (measured 1.11-1.26x over one job). The
    pump thread keeps each worker with one task running and one queued; results reach ``on_done`` in this thread
    only. A cluster that fails to start is raised after this process's current task."""
    import queue
    import threading
    from collections import deque

    from threadpoolctl import threadpool_limits

    from iclcheck.numerics.dask_client import dask_client
    from iclcheck.theory.errors import import_optional

    distributed = import_optional("distributed", extra="sweep", feature=_DASK_FEATURE)
    pending = deque(_tasks(claims))
    lock = threading.Lock()
    results: queue.Queue = queue.Queue()  # (idx, results) | ("error", exception) | None (the pump has ended)
    stop = threading.Event()
    live: dict[str, Any] = {}

    def take() -> list[int] | None:
        with lock:
            return pending.popleft() if pending else None

    def pump() -> None:
        try:
            with dask_client(jobs - 1, None) as client:
                live["client"] = client
                ac = distributed.as_completed()
                inflight: dict[Any, list[int]] = {}

                def feed() -> None:
                    idx = None if stop.is_set() else take()
                    if idx is not None:
                        fut = client.submit(_run_task, [claims[i] for i in idx], ctx, pure=False,
                                            key=_task_key(claims, idx, ctx))
                        inflight[fut] = idx
                        ac.add(fut)

                for _ in range(2 * (jobs - 1)):
                    feed()
                for fut in ac:
                    idx = inflight.pop(fut)
                    results.put((idx, _task_results(fut, idx, claims)))
                    feed()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            results.put(("error", exc))
        finally:
            results.put(None)

    pump_ended = False

    def drain(*, block: bool) -> None:
        """The pump's results so far (``block``: all of them, until it ends), added in this thread."""
        nonlocal pump_ended
        while not pump_ended and (block or not results.empty()):
            item = results.get()
            if item is None:
                pump_ended = True
            elif item[0] == "error":
                raise item[1]
            else:
                got.add(*item)

    thread = threading.Thread(target=pump, name="iclcheck-dask-pump", daemon=True)
    thread.start()
    try:
        # one BLAS thread here too, as in the workers: jobs processes on jobs cores, none oversubscribed
        with threadpool_limits(limits=1):
            while (idx := take()) is not None:
                for i in idx:  # a group's claims one after the other (they share this process's cache)
                    got.add([i], [_run_one(claims[i], ctx)])
                    drain(block=False)
        drain(block=True)
    except BaseException:
        stop.set()  # no new task goes to the cluster; the pump ends with its running tasks and closes it
        client = live.get("client")
        if client is not None:
            try:
                client.cancel(list(client.futures))
            except Exception:  # noqa: BLE001, S110 - cancelling is best effort on the way out
                pass
        thread.join(timeout=10)
        raise
    thread.join(timeout=10)
    return got.results()


def run_claims(claims: Iterable[Claim], ctx: Context, *,
               on_done: Callable[[int, int, Claim, ClaimResult], None] | None = None,
               jobs: int = 1, scheduler: str | None = None) -> list[ClaimResult]:
    """Run every claim; results in the order of ``claims``; ``on_done(i, total, claim, result)`` after each
    (progress display, in completion order). With ``ctx.setting`` every claim must be movable there
    (``registry.movable``), checked before any runs.

    ``jobs = 1`` and no ``scheduler`` (the default): in this process, one after the other, without importing
    Dask. ``jobs = N > 1``: N processes, this one and a LocalCluster of N - 1 Dask workers with one thread each,
    taking tasks from one queue (``_run_claims_local``). A ``scheduler``: every task on that cluster. A task is one
    claim, or the claims sharing a cached computation (``SHARED_WORK``) together. The reports are the same as the
    sequential run's (tests/proofs/test_verify_jobs.py) apart from the per-claim seconds."""
    claims = list(claims)
    if ctx.setting is not None:
        movable(claims, ctx.setting)  # InputError naming the claim and the parameter
    got = _Collector(claims, on_done)
    if scheduler is not None:
        return _run_claims_dask(claims, ctx, got, jobs, scheduler)
    from iclcheck.numerics.dask_client import check_jobs  # Dask itself is imported only for jobs > 1

    if check_jobs(jobs) > 1:
        return _run_claims_local(claims, ctx, got, jobs)
    for i, c in enumerate(claims):
        got.add([i], [_run_one(c, ctx)])
    return got.results()


def summary(results: list[ClaimResult], ctx: Context, seconds: float | None = None) -> dict[str, Any]:
    """Counts per verdict. "refuted" counts only statements READ in the paper's own text (refuted as printed); a failed
    check of a statement not READ counts under "recorded reading fails" (``verdict.scoped``)."""
    counts = {v.value: sum(r.verdict is v for r in results) for v in VERDICT_ORDER}
    out: dict[str, Any] = {"claims": len(results), "counts": counts, "seed": ctx.seed, "profile": ctx.profile}
    if seconds is not None:
        out["seconds"] = round(seconds, 3)
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def _worst(res: ClaimResult) -> Step | None:
    """The step the table shows: deviation and tolerance always come from the same step, in its unit.

    For a refuted claim, the failing step furthest outside its tolerance; otherwise the step closest
    to its tolerance (largest deviation / tolerance), so a reader sees how much room the verdict had.
    Steps without a positive tolerance rank by deviation after those with one."""
    steps = [s for s in res.steps if s.deviation is not None and math.isfinite(s.deviation)]
    if not steps:
        return None
    failing = [s for s in steps if s.status is Status.FAIL]
    pool = failing or steps

    def rank(s: Step) -> tuple[int, float]:
        assert s.deviation is not None  # steps without a deviation were left out above
        if s.tolerance is not None and s.tolerance > 0:
            return (1, s.deviation / s.tolerance)
        return (0, s.deviation)

    return max(pool, key=rank)


def _tolerance(res: ClaimResult) -> float | None:
    w = _worst(res)
    return None if w is None else w.tolerance


def _unit(s: Step | None) -> str:
    """Deviations are in the step's own unit: Monte Carlo steps compare |z| scores with a critical value."""
    if s is None:
        return ""
    # the formats of Checker.within_ci ("... (|z|=1.23)") and of Bonferroni gradient steps ("max |z| = ...")
    return " (|z|)" if ("|z|=" in s.detail or s.detail.startswith("max |z| =")) else ""


def _dev_cell(res: ClaimResult, *, md: bool = False) -> str:
    w = _worst(res)
    if w is None:
        return "-"
    return (_fmt_md(w.deviation, tol=w.tolerance) if md else _fmt(w.deviation)) + _unit(w)


def _title(res: ClaimResult, titles: dict[str, str]) -> str:
    return titles.get(res.key, "")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def counts_line(results: list[ClaimResult]) -> str:
    """'confirmed 33, refuted as printed 5, recorded reading fails 2, inconclusive 1' (error only when some)."""
    return ", ".join(f"{v.label} {n}" for v in VERDICT_ORDER if (n := sum(r.verdict is v for r in results)) or v is not ERROR)


BRIEF_WIDTH = 100  # the default terminal output after the table wraps at this width


def _brief_finding(r: ClaimResult) -> list[str]:
    """The few short lines the default output shows for one claim (the full paragraph is behind -v)."""
    import textwrap

    if r.parts is not None:
        lines = r.parts.lines()
    elif r.finding:
        lines = [_lead(r.finding)]
    else:
        lines = []
    failing = [s.name for s in r.steps if s.status is not Status.PASS]
    if failing:
        lines.append(f"{len(failing)} step{'s' if len(failing) != 1 else ''} not passed: "
                     + "; ".join(f"'{n}'" for n in failing[:2]) + ("; ..." if len(failing) > 2 else ""))
    out = []
    for ln in lines:
        out += textwrap.wrap(ln, width=BRIEF_WIDTH, initial_indent="  ", subsequent_indent="    ",
                             break_on_hyphens=False) or ["  "]
    return out


def _lead(text: str, limit: int = 2 * BRIEF_WIDTH) -> str:
    """The first sentences of a free-text finding, up to about ``limit`` characters (cut with ' ...')."""
    import re
    import textwrap

    out = ""
    for sentence in re.split(r"(?<=[.;])\s+(?=[A-Z])", text.strip()):
        out = f"{out} {sentence}".strip()
        if len(out) >= 60:
            break
    return textwrap.shorten(out, width=limit, placeholder=" ...")


def table_report(results: list[ClaimResult], *, titles: dict[str, str], timings: bool = True,
                 verbose: bool = True) -> str:
    """The terminal table (key, claim, verdict, decisive deviation, tolerance, time), then every
    refuted / inconclusive / error claim's finding under it: in full (``verbose``, ``verify -v``) or as a few
    short lines each (the default: the finding's parts, the names of the steps that did not pass)."""
    if not verbose:
        return _table_brief(results, titles=titles, timings=timings)
    out = [_table_rows(results, titles, timings)]
    notes = [r for r in results if r.verdict is not Verdict.CONFIRMED or released_code(r.key)]
    for r in notes:
        failing = [s for s in r.steps if s.status is not Status.PASS]
        out.append("")
        out.append(f"{r.key} ({_verdict_cell(r)}):")
        out += [f"  released code {_released_ref(rc)}: {rc.fact}" for rc in released_code(r.key)]
        if r.finding:
            out.append(_indent(r.finding, "  "))
        for s in failing:
            out.append(f"  - step '{s.name}' {s.status}{_scope_tag(s)}: {s.detail}")
    return "\n".join(out)


def _table_rows(results: list[ClaimResult], titles: dict[str, str], timings: bool) -> str:
    headers = ["key", "claim", "verdict", "dev", "tol"] + (["time"] if timings else [])
    rows = []
    for r in results:
        row = [r.key, _title(r, titles), _verdict_cell(r, short=True), _dev_cell(r), _fmt(_tolerance(r))]
        if timings:
            row.append(f"{r.seconds:.2f}s")
        rows.append(row)
    return _table(headers, rows)


def _table_brief(results: list[ClaimResult], *, titles: dict[str, str], timings: bool) -> str:
    out = [_table_rows(results, titles, timings)]
    for bucket, heading in _BUCKETS:
        group = [r for r in results if bucket(r)]
        if not group:
            continue
        out += ["", heading + ":"]
        for r in group:
            out.append(f"{r.key} ({_verdict_cell(r)}):")
            out += _brief_finding(r)
    out += ["", "Full findings and every step: iclcheck verify -v, or --report FILE.md (Markdown, full detail)."]
    return "\n".join(out)


# The buckets of the findings list, in order: (which results, heading). A failed check of a statement not READ in the
# paper's own text has its own bucket, never the refutations'.
_BUCKETS: tuple[tuple[Callable[[ClaimResult], bool], str], ...] = (
    (lambda r: r.verdict is Verdict.REFUTED, "Refuted as printed (the paper's own text fails its check)"),
    (lambda r: r.verdict is Verdict.RECORDED_FAILS,
     "Recorded reading fails (statement not read in the paper's own text: our reading fails, not the paper)"),
    (lambda r: r.verdict in (Verdict.INCONCLUSIVE, ERROR), "Inconclusive or not checked"),
)


def _released_ref(rc: ReleasedCode) -> str:
    return f"{rc.repo}@{rc.commit}:{rc.path}"


def _released_verdict(r: ClaimResult) -> str:
    return r.released_verdict.value if r.released_verdict is not None else "not checked"


def _verdict_cell(r: ClaimResult, *, md: bool = False, short: bool = False) -> str:
    """The verdict: 'refuted as printed' (a READ statement), 'recorded reading fails' (a statement not READ; never
    'refuted'), 'confirmed' / 'confirmed as recorded'; the reading a finding names ('||.||_2 read as the spectral
    norm'); 'corrected reading confirmed' when the finding's corrected statement has a passing step; for claims with
    released-code records, 'as printed' and 'as released' side by side. ``short`` (the terminal table's column)
    leaves out the readings: the finding's heading under the table shows them."""
    def b(t: str) -> str:
        return f"**{t}**" if md else t

    v = r.verdict
    printed = "as printed" if r.provenance == "READ" else "as recorded"
    if v is Verdict.REFUTED:
        cell = f"{b('refuted')} as printed"
    elif v is Verdict.RECORDED_FAILS:
        cell = b("recorded reading fails")
    else:
        cell = b(v.value) + ("" if r.provenance == "READ" and not released_code(r.key) else f" {printed}")
    parts = None if short else r.parts
    if parts is not None and parts.reading and v in (Verdict.REFUTED, Verdict.RECORDED_FAILS):
        cell += f" ({parts.reading})"
    if parts is not None and parts.holds_step and v is not Verdict.CONFIRMED:
        held = [s for s in r.steps if s.name == parts.holds_step]
        if held and all(s.status is Status.PASS for s in held):
            cell += f"; {parts.holds_reading or 'corrected reading'} {b('confirmed')}"
    if released_code(r.key):
        rel = _released_verdict(r)
        cell += f", {b(rel)} as released"
    return cell


def _scope_tag(s: Step) -> str:
    return "" if s.scope == "printed" else f" [{s.scope}]"


def _indent(text: str, pre: str) -> str:
    return "\n".join(pre + ln for ln in text.splitlines())


def json_report(results: list[ClaimResult], ctx: Context, *, seconds: float | None = None) -> dict[str, Any]:
    """The JSON object documented in ``iclcheck.cli.commands.verify``."""
    claims = []
    for r in results:
        d = r.to_dict()
        d["max_deviation"] = r.max_deviation
        records = released_code(r.key)
        if records:
            d["released_code"] = [rc.to_dict() for rc in records]
            d["verdicts"] = {"as_printed": r.verdict.value, "as_released": _released_verdict(r)}
        claims.append(d)
    return {"claims": claims, "summary": summary(results, ctx, seconds)}


# A precision check (tolerance below this) whose deviation is under a tenth of its tolerance shows the deviation
# as '< tolerance/10': the exact figure there is rounding or finite-difference noise that varies with the BLAS
# kernel, and the verdict does not depend on it. Monte Carlo |z| steps (tolerances ~3) are never affected.
PRECISION_TOL = 1e-5


def _fmt_md(x: float | None, digits: int = 3, *, tol: float | None = None) -> str:
    """Like _fmt, but rounding-level numbers (< 1e-12, which vary with the BLAS build) print as '< 1e-12', and a
    deviation under a tenth of a precision tolerance as '< tolerance/10', so the report stays byte-identical
    across machines, not only across reruns."""
    if (x is not None and tol is not None and math.isfinite(x) and 0 < tol < PRECISION_TOL
            and abs(x) < tol / 10):  # 0 included: exact zero on one BLAS kernel is 1e-17 on another
        return f"< {tol / 10:.1g}"
    if x is not None and math.isfinite(x) and 0 < abs(x) < 1e-12:
        return "< 1e-12"
    return _fmt(x, digits)


def _md_cell(s: str) -> str:
    """Text safe in a Markdown table cell or paragraph: pipes escaped, '<' not read as an HTML tag, one line."""
    return s.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _md_step(s: Step) -> str:
    nums = []
    if s.deviation is not None:
        nums.append(f"deviation {_fmt_md(s.deviation, 4, tol=s.tolerance)}{_unit(s)}".replace("|", "\\|"))
    if s.tolerance is not None:
        nums.append(f"tolerance {_fmt_md(s.tolerance, 4)}")
    if s.exact:
        nums.append("exact")
    extra = f" ({', '.join(nums)})" if nums else ""
    return f"- **{s.status}**{_scope_tag(s)} {_md_cell(s.name)}: {_md_cell(s.detail)}{extra}"


def markdown_report(results: list[ClaimResult], ctx: Context, *, titles: dict[str, str],
                    notations: dict[str, str] | None = None) -> str:
    """Deterministic Markdown (no timings): a summary line, the verdict table, the findings, and one collapsible
    section per claim (source, statement as printed, the notation map when given, finding, steps)."""
    notations = notations or {}
    lines = [
        f"Generated by `iclcheck verify --format markdown --seed {ctx.seed} --profile {ctx.profile}`: "
        f"{len(results)} claims; {counts_line(results)}.",
        "",
        "| key | claim | source | verdict | deviation (decisive step) | tolerance |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| `{r.key}` | {_md_cell(_title(r, titles))} | {_md_cell(r.source)} | {_md_cell(_verdict_cell(r, md=True))} | "
                     f"{_md_cell(_dev_cell(r, md=True))} | {_fmt_md(_tolerance(r))} |")
    buckets = list(_BUCKETS) + [(lambda r: r.verdict is Verdict.CONFIRMED,
                                 "Notes on confirmed claims (extensions beyond the statement)")]
    for bucket, heading in buckets:
        group = [r for r in results if bucket(r) and r.finding]
        if not group:
            continue
        lines += ["", f"Findings. {heading}:", ""]
        for r in group:
            if r.parts is not None:
                lines.append(f"- `{r.key}` ({_md_cell(_verdict_cell(r))}):")
                lines += [f"  - {_md_cell(ln)}" for ln in r.parts.lines()]
            else:
                assert r.finding is not None  # the group keeps the results with a finding
                lines.append(f"- `{r.key}` ({_md_cell(_verdict_cell(r))}): {_md_cell(r.finding)}")
    lines += ["", "Each claim's checked steps:"]
    for r in results:
        lines += ["", "<details>", f"<summary><code>{r.key}</code>: {_html(_verdict_cell(r))} ({_html(_title(r, titles))})</summary>",
                  "", f"*{_md_cell(r.source)}*", "", _statement_line(r), ""]
        if notations.get(r.key):
            lines += [f"Notation: {_md_cell(notations[r.key])}", ""]
        records = released_code(r.key)
        if records:
            lines += [f"Released code: `{_released_ref(rc)}`: {_md_cell(rc.fact)}" for rc in records]
            printed = "as printed" if r.provenance == "READ" else "as recorded"
            lines += ["", f"Verdict {printed}: **{r.verdict}**; as released: **{_released_verdict(r)}**", ""]
        if r.finding:
            lines += [f"Finding: {_md_cell(r.finding)}", ""]
        lines += [_md_step(st) for st in r.steps]
        lines += ["", "</details>"]
    return "\n".join(lines).rstrip() + "\n"


def _statement_line(r: ClaimResult) -> str:
    if r.provenance == "READ":
        return f"Statement: {_md_cell(r.statement)}"
    return (f"Statement as recorded [{r.provenance}] (a hypothesis until confirmed in the paper's own text): "
            f"{_md_cell(r.statement)}")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def progress_printer(stream=None) -> Callable[[int, int, Claim, ClaimResult], None]:
    """One line per finished claim on ``stream`` (stderr by default)."""
    stream = stream or sys.stderr

    def show(i: int, total: int, claim: Claim, res: ClaimResult) -> None:
        print(f"[{i}/{total}] {claim.key}: {res.verdict} ({res.seconds:.2f}s)", file=stream, flush=True)

    return show
