"""The project's error types and the exit statuses the CLI maps them to.

The library names its own parameters (``Sigma``, ``n``, ``lr``, ``starts``), never a CLI flag; only the
CLI (``iclcheck.cli``) translates parameter names into flags.

- ``InputError``: bad input (the message names the input and what is wrong). CLI: one line, exit 2.
- ``NumericalFailure``: valid input whose answer could not be computed to the promised accuracy (a
  training run that diverged, a solver that failed, a certificate that could not be proven). CLI: one
  line saying what failed and what to try, exit 3.
- ``MissingExtra``: a feature needs an optional dependency that is not installed (``import_optional``; the
  message names the extra to install). CLI: one line, exit 2.
"""

import importlib

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED_CHECK", "EXIT_INTERNAL", "EXIT_NUMERICAL", "EXIT_OK",
           "ICLCheckError", "InputError", "MissingExtra", "NumericalFailure", "import_optional"]

EXIT_OK = 0
EXIT_FAILED_CHECK = 1  # verify --strict with a claim not confirmed; certify: not certified (documented per command)
EXIT_INTERNAL = 1  # an internal error (a bug): one line, ICLCHECK_DEBUG=1 for the traceback
EXIT_BAD_INPUT = 2
EXIT_NUMERICAL = 3


class ICLCheckError(Exception):
    """Base class of every error iclcheck raises on purpose."""


class InputError(ICLCheckError, ValueError):
    """Bad user input. The message names the input and what is wrong with it, on one line."""

    def __init__(self, what: str, problem: str):
        self.what = what
        self.problem = problem
        super().__init__(f"{what}: {problem}")


class NumericalFailure(ICLCheckError, ArithmeticError):
    """Valid input, but the computation failed (diverged, solver failure, accuracy not reached).

    ``what`` names the computation, ``problem`` says what failed, ``hint`` what to try (in the library's
    parameter names: the CLI maps them to flags)."""

    def __init__(self, what: str, problem: str, hint: str = ""):
        self.what = what
        self.problem = problem
        self.hint = hint
        super().__init__(f"{what}: {problem}" + (f" ({hint})" if hint else ""))


class MissingExtra(ICLCheckError, ImportError):
    """A feature needs an optional dependency that is not installed (or cannot be imported). ``feature`` says what
    was asked for, ``extra`` the pyproject extra that installs it, ``module`` the module that failed to import."""

    def __init__(self, feature: str, extra: str, module: str, why: str = "is not installed"):
        self.feature = feature
        self.extra = extra
        self.module = module
        super().__init__(f"{feature} needs the optional dependencies of '{extra}' ({module} {why}): "
                         f"pip install 'iclcheck[{extra}]'", name=module)


def import_optional(module: str, *, extra: str, feature: str):
    """``importlib.import_module(module)``, or ``MissingExtra`` naming ``extra`` when it cannot be imported. The one
    place that turns a missing optional dependency (the extras sweep, weights, torch) into one clear line."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top, missing = module.partition(".")[0], exc.name or module
        raise MissingExtra(feature, extra, top if missing.partition(".")[0] == top else missing) from None
    except ImportError as exc:  # installed but broken (a missing shared library, a version clash)
        why = (str(exc).splitlines() or [""])[0][:160]
        raise MissingExtra(feature, extra, module, f"cannot be imported: {why}") from None
