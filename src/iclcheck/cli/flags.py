"""The one place that maps the library's parameter names to CLI flags.

The library (theory/, numerics/, proofs/) names its own parameters in errors (``Sigma``, ``Sigma_w``,
``n``, ``sigma2``, ``lr``, ``starts``); the CLI shows the user the flag they typed. ``flag_of`` maps an
error's ``what``; ``flag_message`` rewrites an error for printing (its ``what`` and, for numerical
failures, the parameter names in the hint).
"""

from __future__ import annotations

import re

__all__ = ["PARAMETER_FLAGS", "flag_message", "flag_of"]

# library parameter name (as it appears in InputError.what / NumericalFailure.hint) -> CLI flag
PARAMETER_FLAGS: dict[str, str] = {
    "covariance Sigma": "--cov",
    "Sigma": "--cov",
    "task covariance Sigma_w": "--task-cov",
    "Sigma_w": "--task-cov",
    "noise variance sigma2": "--noise",
    "sigma2": "--noise",
    "n": "-n",
    "covariates": "--covariates",
    "parameters P": "--params (P)",
    "parameters Q": "--params (Q)",
    "lr": "--lr",
    "starts": "--starts",
    "steps": "--steps",
    "samples": "--samples",
    "seed": "--seed",
    "L": "-L",
    "exact mode": "--exact",
    "plot file": "--plot",
    "solver": "--solver",
    "gap_tol": "--gap-tol",
    "batch": "--batch",
    "clip": "--clip",
    "warmup": "--warmup",
    "family": "--family",
    "claims path": "--claims",
}
# names that are replaced inside free text (hints); single letters and math symbols are not
_HINT_WORDS = ("lr", "starts", "steps", "samples", "seed", "sigma2")
_HINT_RE = re.compile(r"(?<![\w-])(" + "|".join(_HINT_WORDS) + r")(?![\w(])")


def flag_of(what: str) -> str:
    """The CLI flag for a library parameter name (``what`` unchanged if it is already a flag or unknown)."""
    return PARAMETER_FLAGS.get(what, what)


def flag_message(exc: Exception, command: str | None = None) -> str:
    """The one-line message of a project error with library names replaced by flags."""
    what = getattr(exc, "what", None)
    problem = getattr(exc, "problem", None)
    if what is None or problem is None:
        return str(exc)
    text = f"{flag_of(what)}: {problem}"
    hint = getattr(exc, "hint", "")
    if hint:
        text += f" ({_HINT_RE.sub(lambda m: PARAMETER_FLAGS[m.group(1)], hint)})"
    return text
