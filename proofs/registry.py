"""The claim registry and runner: every module in ``proofs.claims`` defines ``CLAIM = Claim(...)``.

Adding a claim touches one module (proofs/claims/<paper>_<claim>.py, pattern: proofs/claims/_template.py)
plus its test; discovery is automatic and ``tests/proofs/test_registry.py`` fails when a module is
unregistered or incomplete. Modules whose name starts with ``_`` are not claims.

The runner is ``Claim.run(ctx)``: it hands the claim to ``verify`` (as ``ctx.claim``), salts the claim's
random stream by the claim (``ctx.rng()`` draws from ``[seed, claim.salt]``), and builds the result from the
``Checker`` that ``verify`` returns (optionally with a finding: ``return chk, finding``). A claim that needs more
than one independent stream declares them once, by name (``Claim.streams``, e.g. ``{"prompts": 2}``), and draws
from ``ctx.stream("prompts")`` (``[seed, 2]``); a family of streams is a tuple ``(base, stride, ...)`` drawn as
``ctx.stream("fit", i, r)`` (``[seed, base + stride * i + ...]``). Integer salts at the call site
(``ctx.rng(7)``) are no longer accepted.

Claims at the user's setting: ``Context(setting=...)`` (a ``theory.setting.Setting`` or a ``UserSetting`` with L
and a test setting) runs the claims that declare ``Claim.parameters`` there, through their declared hook
``Claim.at_setting(ctx, user)`` (``user`` the ``UserSetting``; ``verify`` is the built-in run). Whether a claim can
move is decided in one place, ``check_movable`` (naming the parameter; ``Claim.fixed`` is the reason a claim with
no parameters gives), and applied to a selection by ``movable`` (the one entry of the CLI, the API and the runner).

Plugins: ``all_claims()`` also loads the claims registered through the entry-point group ``iclcheck.claims`` (each
entry a module with ``CLAIM`` or a list ``CLAIMS``, or a callable returning claims) and, with ``paths=``, from .py
files or folders of them (imported with importlib from the path: the file's code runs, as pytest runs a
conftest.py). Each claim records its ``origin``. A plugin that fails to load, including one that calls
``sys.exit`` or raises ``KeyboardInterrupt`` itself, is one problem line; it never ends the command.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import pkgutil
import re
import signal
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iclcheck.proofs.verdict import Checker, ClaimResult

__all__ = ["BUILT_IN", "ENTRY_POINT_GROUP", "PARAMETERS", "PROVENANCE_TAGS", "Claim", "ClaimSkipped", "Context",
           "PluginWarning", "Profiles", "Recipe", "Stream", "UserSetting", "all_claims", "check_movable", "default_salt", "interrupt_watch",
           "movable", "plugin_abort", "runnable_at", "select", "setting_uses"]

BUILT_IN = "built-in"  # the origin of the claims in iclcheck.proofs.claims
ENTRY_POINT_GROUP = "iclcheck.claims"
# a claim key: <paper><year>[letter].<name>[.<more>] -- lower-case paper tag, four-digit year, an optional lower-case
# letter for a second paper of the same authors and year (vonoswald2023b), then parts of identifier characters
KEY_PATTERN = re.compile(r"[a-z]+[0-9]{4}[a-z]?(\.[A-Za-z_][A-Za-z0-9_]*)+", re.ASCII)
# what a claim can be moved to (Claim.parameters): the setting's parts, the number of layers and a test setting
PARAMETERS: dict[str, str] = {
    "Sigma": "the covariance Sigma (with it, d)",
    "n": "the prompt length n",
    "Sigma_w": "a task covariance Sigma_w other than I",
    "sigma2": "a label-noise variance sigma2 > 0",
    "law": "a covariate law other than gaussian",
    "L": "the number of layers L",
    "test": "a test setting (distribution shift)",
}

# Where a claim's statement comes from (notes/NEXT-CLAIMS.md, "Tags"). Only READ is the paper's own text: every other
# statement is a hypothesis, and its verdict is reported "as recorded" (e.g. "refuted as recorded").
PROVENANCE_TAGS: dict[str, str] = {
    "READ": "read in the paper's own text",
    "READ-code": "read in the authors' official code (a formula as implemented)",
    "READ-PARTIAL": "text read, formulas garbled or missing and rebuilt",
    "3P": "a third party's restatement (notes, reviews, a translation)",
    "RECALLED": "from memory, not verified",
    "DERIVED": "derived while compiling the notes; re-derived by the check",
    "RECONSTRUCTED": "rebuilt from the proofs or secondary notes (notes/STATEMENTS.md)",
}

@dataclass(frozen=True)
class UserSetting:
    """A user's setting for moved claims: the data setting, optionally a number of layers L and a test setting."""

    setting: Any  # a theory.setting.Setting
    L: int | None = None
    test: Any = None  # a theory.setting.Setting or None

    @classmethod
    def of(cls, value: Any) -> UserSetting:
        """``value`` as a UserSetting (a bare Setting is wrapped)."""
        return value if isinstance(value, UserSetting) else cls(setting=value)


def setting_uses(value: Any) -> tuple[str, ...]:
    """The parameters (names of ``PARAMETERS``) a user's setting moves: always Sigma and n; Sigma_w unless it is I,
    sigma2 unless 0, law unless gaussian, L and test when given."""
    us = UserSetting.of(value)
    st = us.setting
    used = ["Sigma", "n"]
    if st.task_cov_kind != "identity":
        used.append("Sigma_w")
    if st.sigma2 != 0:
        used.append("sigma2")
    if st.covariates != "gaussian":
        used.append("law")
    if us.L is not None:
        used.append("L")
    if us.test is not None:
        used.append("test")
    return tuple(used)


_MOVE_WHAT = {"Sigma": "Sigma", "n": "n", "Sigma_w": "Sigma_w", "sigma2": "sigma2", "law": "covariates", "L": "L",
              "test": "test setting"}


def check_movable(claim: Claim, value: Any) -> None:
    """Raise ``InputError`` unless ``claim`` can run at the user's setting ``value``: it must declare parameters,
    and every parameter the setting moves must be one of them (the error names the first that is not)."""
    from iclcheck.theory.errors import InputError

    if not claim.parameters:
        raise InputError("setting", f"{claim.key} cannot be moved to a user's setting: {claim.fixed_reason}")
    for name in setting_uses(value):
        if name not in claim.parameters:
            accepted = ", ".join(claim.parameters)
            raise InputError(_MOVE_WHAT[name], f"{claim.key} does not accept {PARAMETERS[name]}: it can be moved in "
                             f"{accepted} only ({claim.fixed or 'its statement does not cover the rest'})")
    if claim.accepts is not None:
        refused = claim.accepts(UserSetting.of(value))
        if refused is not None:
            name, why = refused
            raise InputError(_MOVE_WHAT.get(name, name), f"{claim.key} cannot run at this setting: {why}")


def movable(claims: Iterable[Claim], value: Any, *, skip: Callable[[Claim, str], None] | None = None) -> list[Claim]:
    """The claims of ``claims`` that run at the user's setting ``value``, all checked before any runs
    (``check_movable``). A claim that declares no parameters is an InputError, or, with ``skip``, reported by
    ``skip(claim, reason)`` and left out; a parameter a movable claim does not accept is always an InputError."""
    keep = []
    for c in claims:
        if not c.parameters and skip is not None:
            skip(c, c.fixed_reason)
            continue
        check_movable(c, value)
        keep.append(c)
    return keep


class ClaimSkipped(UserWarning):
    """A selected claim that does not run at the user's setting (it declares no parameters): the API warns with this,
    the CLI prints the same line on stderr (``runnable_at``)."""


def runnable_at(claims: Iterable[Claim], value: Any) -> tuple[list[Claim], list[tuple[Claim, str]]]:
    """The one policy, for the API and the CLI alike, for running a selection at a user's setting: the claims that
    declare no parameters are skipped with their reason (returned as ``(claim, why)``); a parameter that a movable
    claim does not accept is an InputError naming it; a selection of which no claim can run is an InputError naming
    each claim and why."""
    from iclcheck.theory.errors import InputError

    skipped: list[tuple[Claim, str]] = []
    keep = movable(claims, value, skip=lambda c, why: skipped.append((c, why)))
    if not keep:
        reasons = "; ".join(f"{c.key}: {why}" for c, why in skipped) or "no claim selected"
        raise InputError("setting", f"none of the selected claims can run at a user's setting ({reasons})")
    return keep, skipped


def default_salt(key: str) -> int:
    """A claim's default RNG salt: CRC32 of its key (stable across machines and runs, unlike hash())."""
    return zlib.crc32(key.encode("utf-8"))


class Recipe:
    """One profile's sizes of a claim's random instances, read as attributes (``SIZES.at(ctx).samples``)."""

    def __init__(self, profile: str, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)
        self.__dict__["profile"] = profile

    def __getattr__(self, name: str) -> Any:  # only for names not declared (declared ones are instance attributes)
        raise AttributeError(f"the {self.__dict__.get('profile')} recipe declares no size {name!r}")

    def __repr__(self) -> str:
        return f"Recipe({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


@dataclass(frozen=True)
class Profiles:
    """A claim's random-instance recipe, named per profile and declared once at the top of the claim module::

        SIZES = Profiles(quick=dict(samples=40_000, starts=0), thorough=dict(samples=200_000, starts=8))

    and read in ``verify`` as ``sz = SIZES.at(ctx)``, ``sz.samples`` (instead of ``200_000 if ctx.thorough else
    40_000`` at the call site). Both profiles declare the same names; a value is a constant (a number, a tuple of
    cases), never an expression of the claim's locals."""

    quick: Mapping[str, Any]
    thorough: Mapping[str, Any]

    def __post_init__(self) -> None:
        if set(self.quick) != set(self.thorough):
            odd = sorted(set(self.quick) ^ set(self.thorough))
            raise ValueError(f"Profiles: quick and thorough must declare the same sizes; only one declares {odd}")
        bad = [k for k in self.quick if not (isinstance(k, str) and k.isidentifier() and k != "profile")]
        if bad:
            raise ValueError(f"Profiles: size names are identifiers (not 'profile'), got {bad}")

    def at(self, ctx: Context) -> Recipe:
        """The recipe of ``ctx``'s profile (thorough, or quick for every other profile, as ``ctx.thorough``)."""
        return Recipe("thorough", self.thorough) if ctx.thorough else Recipe("quick", self.quick)


@dataclass(frozen=True)
class Stream:
    """A declared random stream: one salt (``strides`` empty) or a family of them, ``base + sum(stride * index)``
    (``Claim.streams`` values are ints or tuples ``(base, stride, ...)``; ``Stream.of`` reads either)."""

    base: int
    strides: tuple[int, ...] = ()

    @classmethod
    def of(cls, value: int | tuple[int, ...]) -> Stream:
        if isinstance(value, tuple) and value:
            return cls(value[0], tuple(value[1:]))
        if isinstance(value, int):
            return cls(value)
        raise ValueError(f"a stream is an int salt or a tuple (base, stride, ...), got {value!r}")

    def valid(self) -> bool:
        parts = (self.base, *self.strides)
        return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in parts) and \
            all(v > 0 for v in self.strides)

    def salt(self, name: str, index: tuple[int, ...]) -> int:
        if len(index) != len(self.strides):
            raise TypeError(f"stream {name!r} takes {len(self.strides)} index(es), got {len(index)}")
        if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in index):
            raise ValueError(f"stream {name!r}: indexes are ints >= 0, got {index!r}")
        return self.base + sum(s * i for s, i in zip(self.strides, index, strict=True))


@dataclass(frozen=True)
class Context:
    """What a check may depend on besides the claim: the seed, the profile and (inside ``Claim.run``)
    the claim being checked."""

    seed: int = 0
    profile: str = "quick"  # "quick" (default run, < 60 s for all claims) or "thorough" (nightly)
    # the user's setting (a theory.setting.Setting, optionally with a "test" setting and L) for claims that declare
    # parameters (Claim.parameters); None in the default run, where every claim uses its built-in settings
    setting: Any = field(default=None, compare=False)
    claim: Claim | None = field(default=None, compare=False, repr=False)

    def rng(self, *salt: Any) -> np.random.Generator:
        """The claim's random stream, ``default_rng([seed, claim.salt])``. Other streams are declared by name on the
        claim (``Claim.streams``) and drawn with ``stream(name)``; an integer salt here (the old ``ctx.rng(131)``)
        is a TypeError saying so."""
        if salt:
            raise TypeError(f"Context.rng() takes no salt (got {salt[0]!r}): declare the stream by name on the claim, "
                            "Claim(streams={'name': salt}), and draw from ctx.stream('name')")
        if self.claim is None:
            raise ValueError("Context.rng() needs the claim: run it through Claim.run(ctx)")
        assert self.claim.salt is not None, "Claim.__post_init__ gives every claim a salt (default_salt)"
        return np.random.default_rng([self.seed, self.claim.salt])

    def stream(self, name: str, *index: int) -> np.random.Generator:
        """The claim's random stream called ``name`` (declared in ``Claim.streams``), ``default_rng([seed, salt])``
        with the declared salt; a family ``(base, stride, ...)`` takes one index per stride:
        ``stream("fit", i, r)`` draws from ``[seed, base + stride_0 * i + stride_1 * r]``."""
        if self.claim is None:
            raise ValueError(f"Context.stream({name!r}) needs the claim: run it through Claim.run(ctx)")
        streams = self.claim.streams
        if name not in streams:
            declared = ", ".join(sorted(streams)) or "none"
            raise KeyError(f"{self.claim.key}: no random stream named {name!r} is declared (Claim.streams: "
                           f"{declared})")
        return np.random.default_rng([self.seed, Stream.of(streams[name]).salt(name, index)])

    @property
    def thorough(self) -> bool:
        return self.profile == "thorough"

    def for_claim(self, claim: Claim) -> Context:
        return dataclasses.replace(self, claim=claim)

    @property
    def moved(self) -> UserSetting | None:
        """The user's setting as a ``UserSetting`` (None in the default run)."""
        return None if self.setting is None else UserSetting.of(self.setting)


@dataclass(frozen=True)
class Claim:
    key: str  # stable key, e.g. "ahn2023.thm1"
    title: str  # a few words for the table
    source: str  # exact citation, e.g. "[Ahn et al. 2023, Thm 1] arXiv 2306.00297"
    statement: str  # as printed, in the paper's own notation
    notation: str  # the explicit map from the paper's notation to the canonical model
    # verify(ctx) -> Checker | (Checker, finding) (new), or -> ClaimResult (old pattern, still accepted)
    verify: Callable[[Context], Any] = field(repr=False)
    salt: int | None = None  # the claim's RNG salt (ctx.rng()); None -> default_salt(key)
    # the claim's other random streams, declared once by name: name -> salt, or (base, stride, ...) for a family;
    # drawn with ctx.stream(name, *index)
    streams: Mapping[str, int | tuple[int, ...]] = field(default_factory=dict, compare=False)
    # the statement's provenance: tags of PROVENANCE_TAGS joined by '+', e.g. "3P+DERIVED"; only "READ" is the paper
    provenance: str = "READ"
    # where the statement was read, for the tags that name a source, e.g. "camera-ready, App. B.3 eqs. (37)-(40)" or
    # "google-research/causallm_icl@f8ccc1e:theory_plots.py"; shown by `iclcheck list`
    locator: str = ""
    aliases: tuple[str, ...] = ()  # former keys that still select this claim (e.g. "zhang2024.thm4_1")
    # what the claim can be moved to (names from "Sigma", "n", "Sigma_w", "sigma2", "law", "L", "test"); () means the
    # claim runs only at its built-in settings
    parameters: tuple[str, ...] = ()
    # the run at a user's setting: at_setting(ctx, user: UserSetting) -> Checker | (Checker, finding), called by
    # run() instead of verify when ctx.setting is given (a claim with parameters and no hook: verify reads ctx.setting,
    # the old pattern)
    at_setting: Callable[[Context, UserSetting], Any] | None = field(default=None, repr=False, compare=False)
    # why the claim cannot be moved (further), e.g. "its statement is about Sigma = I"; shown by check_movable and
    # `iclcheck list`. A built-in claim with no parameters must give its own (tests/proofs/test_registry.py); a
    # plugin's may leave it empty and gets fixed_reason's generic text
    fixed: str = ""
    # optional finer test of a user's setting: accepts(UserSetting) -> None if the claim can run there, else
    # (parameter name, why not), e.g. ("Sigma", "its statement is about Sigma = c I")
    accepts: Callable[[UserSetting], tuple[str, str] | None] | None = field(default=None, repr=False, compare=False)
    # where the claim comes from: "built-in", "plugin <dist name>" or "file <path>" (set by all_claims)
    origin: str = field(default=BUILT_IN, compare=False)

    def __post_init__(self) -> None:
        bad = [p for p in self.parameters if p not in PARAMETERS]
        if self.at_setting is not None and not self.parameters:
            raise ValueError(f"claim {self.key!r}: at_setting needs the parameters it reads (Claim.parameters)")
        if bad or not isinstance(self.parameters, tuple):
            raise ValueError(f"claim {self.key!r}: parameters must be a tuple of names from {list(PARAMETERS)}, "
                             f"got {self.parameters!r}")
        tags = self.provenance.split("+") if isinstance(self.provenance, str) else [None]
        if not tags or any(t not in PROVENANCE_TAGS for t in tags):
            raise ValueError(f"claim {self.key!r}: provenance must be tags of {sorted(PROVENANCE_TAGS)} joined by "
                             f"'+', got {self.provenance!r}")
        if self.salt is None:
            object.__setattr__(self, "salt", default_salt(self.key))
        elif not isinstance(self.salt, int) or isinstance(self.salt, bool) or self.salt < 0:
            raise ValueError(f"claim {self.key!r}: salt must be an int >= 0, got {self.salt!r}")
        self._check_streams()

    def _check_streams(self) -> None:
        """Stream names are identifiers; salts ints >= 0 (strides > 0); no two single streams share a salt, and none
        is the claim's own salt (that stream is ``ctx.rng()``)."""
        seen: dict[int, str] = {}
        for name, value in self.streams.items():
            try:
                ok = isinstance(name, str) and name.isidentifier() and Stream.of(value).valid()
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"claim {self.key!r}: streams maps identifiers to an int salt >= 0 or a tuple "
                                 f"(base, stride > 0, ...), got {name!r}: {value!r}")
            if isinstance(value, int):
                if value == self.salt or value in seen:
                    other = "the claim's salt (ctx.rng())" if value == self.salt else f"stream {seen[value]!r}"
                    raise ValueError(f"claim {self.key!r}: stream {name!r} has the salt {value} of {other}")
                seen[value] = name

    @property
    def paper(self) -> str:
        """The paper part of the key ('ahn2023' for 'ahn2023.thm1')."""
        return self.key.split(".")[0]

    @property
    def fixed_reason(self) -> str:
        """Why the claim runs only at its built-in settings (the text of ``fixed``, or a generic reason)."""
        return self.fixed or "it declares no parameters (its statement is about the paper's own settings)"

    @property
    def as_printed(self) -> bool:
        """True when the statement is the paper's own text ([READ]); otherwise verdicts are 'as recorded'."""
        return self.provenance == "READ"

    def run(self, ctx: Context) -> ClaimResult:
        """Run ``verify`` with this claim in ``ctx`` and build its result (key, source, statement from here).
        With ``ctx.setting`` the claim must be movable there (``movable``: InputError otherwise) and runs its
        hook ``at_setting(ctx, ctx.moved)``."""
        if ctx.setting is not None:
            movable([self], ctx.setting)  # the one policy: InputError naming the parameter it cannot take
        if ctx.setting is not None and self.at_setting is not None:
            moved = ctx.moved
            assert moved is not None  # ctx.setting is set
            out = self.at_setting(ctx.for_claim(self), moved)
        else:
            out = self.verify(ctx.for_claim(self))
        if isinstance(out, ClaimResult):  # old pattern: verify called chk.result(...) itself
            out.provenance = self.provenance  # ClaimResult re-scopes its verdict (verdict.scoped)
            return out
        finding = None
        if isinstance(out, tuple):
            chk, finding = out
        else:
            chk = out
        if not isinstance(chk, Checker):
            raise TypeError(f"{self.key}: verify() must return its Checker (or (Checker, finding)), "
                            f"got {type(out).__name__}")
        return chk.result(self.key, self.source, self.statement, finding=finding, provenance=self.provenance)


class PluginWarning(UserWarning):
    """A plugin (entry point or --claims file) that could not be loaded: the other claims still run."""


class _Watch:
    installed = False  # our SIGINT handler ran the block (so a KeyboardInterrupt without a signal is code's own)
    signalled = False  # a SIGINT arrived while the block ran (a real Ctrl-C)


@contextlib.contextmanager
def interrupt_watch():
    """While the block runs, a SIGINT is recorded before it raises KeyboardInterrupt as usual, so that a plugin's own
    ``raise KeyboardInterrupt`` can be told from the user's Ctrl-C (``plugin_abort``). Only in the main thread and
    when SIGINT has Python's default handler; otherwise nothing is installed and every KeyboardInterrupt counts as
    the user's."""
    w = _Watch()
    prev = None
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                def _on_sigint(signum: int, frame: Any) -> None:
                    w.signalled = True
                    raise KeyboardInterrupt

                prev = signal.signal(signal.SIGINT, _on_sigint)
                w.installed = True
    try:
        yield w
    finally:
        if w.installed:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, prev)


def plugin_abort(exc: BaseException, watch: _Watch) -> bool:
    """True when ``exc`` is code's own attempt to end the process (``sys.exit``, ``raise SystemExit`` or a
    ``KeyboardInterrupt`` no Ctrl-C caused): a plugin's failure, reported like any exception, never the command's
    exit status (a plugin calling sys.exit(0) would otherwise turn ``verify --strict`` green with no output)."""
    if isinstance(exc, SystemExit):
        return True
    return isinstance(exc, KeyboardInterrupt) and watch.installed and not watch.signalled


def _describe_abort(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): a plugin may not end the process"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _claims_of(obj: Any, where: str) -> list[Claim]:
    """The claims a plugin object provides: a module with CLAIM or CLAIMS, a callable returning claims, a Claim."""
    if callable(obj) and not isinstance(obj, Claim) and not hasattr(obj, "__path__") and not hasattr(obj, "__file__"):
        obj = obj()
    if isinstance(obj, Claim):
        found: Any = [obj]
    elif hasattr(obj, "CLAIMS"):
        found = list(obj.CLAIMS)
    elif hasattr(obj, "CLAIM"):
        found = [obj.CLAIM]
    elif isinstance(obj, (list, tuple)):
        found = list(obj)
    else:
        raise TypeError(f"{where} provides no CLAIM, CLAIMS or claims")
    bad = [type(c).__name__ for c in found if not isinstance(c, Claim)]
    if bad:
        raise TypeError(f"{where} provides {bad[0]} objects, not iclcheck Claim")
    return found


def _built_in() -> list[Claim]:
    import iclcheck.proofs.claims as pkg

    out = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):  # the template and private helpers are not claims
            continue
        mod = importlib.import_module(f"iclcheck.proofs.claims.{info.name}")
        claim = getattr(mod, "CLAIM", None)
        if claim is not None:
            out.append(claim)
    return out


def _entry_point_claims(problems: list[str]) -> list[Claim]:
    from importlib.metadata import entry_points

    out: list[Claim] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or ep.value.split(":")[0].split(".")[0]
        origin = f"plugin {dist}"
        with interrupt_watch() as watch:
            try:
                claims = _claims_of(ep.load(), f"entry point {ep.name!r} ({ep.value})")
            except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a broken plugin is one line
                if not isinstance(exc, Exception) and not plugin_abort(exc, watch):
                    raise  # the user's Ctrl-C
                problems.append(f"plugin {dist}: entry point {ep.name!r} ({ep.value}) failed to load: "
                                f"{_describe_abort(exc)}")
                continue
        out.extend(dataclasses.replace(c, origin=origin) for c in claims)
    return out


def _path_files(path: Path) -> list[Path]:
    from iclcheck.theory.errors import InputError

    if path.is_dir():
        # a folder's claim modules: not _private helpers, not test_*.py files (their tests sit next to them)
        return sorted(p for p in path.glob("*.py") if not p.name.startswith(("_", "test_")))
    if path.is_file() and path.suffix == ".py":
        return [path]
    raise InputError("claims path", f"{str(path)!r} is neither a .py file nor a folder")


def _file_claims(paths: Iterable[str | Path], problems: list[str]) -> list[Claim]:
    from iclcheck.theory.errors import InputError

    out: list[Claim] = []
    for raw in paths:
        if not str(raw).strip():  # Path("") is ".": every .py file of the current folder would run
            raise InputError("claims path", "is empty (give a .py file or a folder; '.' for the current folder)")
        for f in _path_files(Path(raw)):
            origin = f"file {f}"
            name = f"_iclcheck_claims_file_{zlib.crc32(str(f.resolve()).encode())}_{f.stem}"
            with interrupt_watch() as watch:
                try:  # the file's code runs here, as pytest runs a conftest.py (docs/plugins.md)
                    spec = importlib.util.spec_from_file_location(name, f)
                    if spec is None or spec.loader is None:
                        raise ImportError(f"cannot import {f}")
                    mod = importlib.util.module_from_spec(spec)
                    sys.modules[name] = mod  # dataclasses and pickling look the module up by name
                    spec.loader.exec_module(mod)
                    claims = _claims_of(mod, origin)
                except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a broken file is one line
                    sys.modules.pop(name, None)
                    if not isinstance(exc, Exception) and not plugin_abort(exc, watch):
                        raise  # the user's Ctrl-C
                    problems.append(f"{origin} failed to load: {_describe_abort(exc)}")
                    continue
            out.extend(dataclasses.replace(c, origin=origin) for c in claims)
    return out


def all_claims(*, paths: Iterable[str | Path] | None = None, plugins: bool = True,
               problems: list[str] | None = None) -> dict[str, Claim]:
    """Every registered claim, keyed and sorted by key: the built-in ones, those of the entry-point group
    ``iclcheck.claims`` (``plugins=True``) and those in ``paths`` (.py files or folders of them).

    A plugin that fails to load is one line appended to ``problems`` (or a ``PluginWarning`` when ``problems`` is
    None); the other claims are still returned. Two claims with the same key are an error naming both origins."""
    from iclcheck.theory.errors import InputError

    local: list[str] = []
    found: dict[str, Claim] = {}
    claims = _built_in()
    if plugins:
        claims += _entry_point_claims(local)
    if paths:
        claims += _file_claims(paths, local)
    for claim in claims:
        if claim.key in found:
            other = found[claim.key]
            if other.origin == BUILT_IN and claim.origin == BUILT_IN:
                raise RuntimeError(f"duplicate claim key {claim.key!r} in proofs.claims")
            raise InputError("claims", f"claim key {claim.key!r} from {claim.origin} collides with the one from "
                             f"{other.origin}; rename one of them")
        found[claim.key] = claim
    if problems is None:
        for line in local:
            warnings.warn(line, PluginWarning, stacklevel=2)
    else:
        problems.extend(local)
    return dict(sorted(found.items()))


def select(patterns: list[str] | None, *, paths: Iterable[str | Path] | None = None,
           problems: list[str] | None = None) -> list[Claim]:
    """Claims whose key equals a pattern or starts with it followed by '.' (or the pattern ends in '.');
    ``paths`` and ``problems`` as for ``all_claims``."""
    claims = all_claims(paths=paths, problems=problems)
    if not patterns:
        return list(claims.values())
    from iclcheck.theory.errors import InputError

    out: list[Claim] = []
    for p in patterns:
        hits = [c for k, c in claims.items() if k == p or p in c.aliases
                or k.startswith(p if p.endswith(".") else p + ".")
                or (not p.endswith(".") and k.split(".")[0] == p)]
        if not hits:
            raise InputError("claim", f"no registered claim matches {p!r} (see 'iclcheck list')")
        out.extend(c for c in hits if c not in out)
    return out
