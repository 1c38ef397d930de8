"""The project's error types and the exit statuses the CLI maps them to.

The library names its own parameters (``Sigma``, ``n``, ``lr``, ``starts``), never a CLI flag; only the
CLI (``iclcheck.cli``) translates parameter names into flags.

- ``InputError``: bad input (the message names the input and what is wrong). CLI: one line, exit 2.
- ``NumericalFailure``: valid input whose answer could not be computed to the promised accuracy (a
  training run that diverged, a solver that failed, a certificate that could not be proven). CLI: one
  line saying what failed and what to try, exit 3.
"""

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED_CHECK", "EXIT_INTERNAL", "EXIT_NUMERICAL", "EXIT_OK",
           "ICLCheckError", "InputError", "NumericalFailure"]

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
