"""iclcheck.numerics: what is true, computed (numpy / scipy / cvxpy). May import ``theory``.

Modules are grouped into subpackages by concern (CONTRIBUTING.md, "Where code goes"). The modules that moved keep
their old import paths through ``MOVED`` below, one table instead of a shim file per module: importing
``iclcheck.numerics.<old>`` imports the new module and registers that same module object under the old name too, so
``iclcheck.numerics.model_loss is iclcheck.numerics.deep.model_loss`` and an attribute set through either name is
set on the one module. Importing this package stays light: nothing here imports numpy.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

# old module (under iclcheck.numerics) -> where it lives now (under iclcheck.numerics)
MOVED: dict[str, str] = {
    "derivatives": "one_layer.derivatives",
    "hessian": "one_layer.hessian",
    "lift": "one_layer.lift",
    "shift": "one_layer.shift",
    "exact_two_layer": "deep.exact_two_layer",
    "implements": "deep.implements",
    "model_loss": "deep.model_loss",
    "kernel_attention": "attention.kernel_attention",
    "kernels": "attention.kernels",
    "softmax_discrete": "attention.softmax_discrete",
    "cot": "dynamics.cot",
    "flow": "dynamics.flow",
    "gd_error": "dynamics.gd_error",
    "head_flow": "dynamics.head_flow",
    "landscape_plot": "plots.landscape",
    "many_steps_plots": "plots.many_steps",
    "outfiles": "files.write",
    "crn": "model.crn",
    "forward": "model.forward",
    "lsa": "model.lsa",
    "montecarlo": "model.montecarlo",
    "iteration_counts": "algorithms.iteration_counts",
    "restricted": "families.restricted",
}
# The old modules one_layer, deep, plots, files and algorithms are now the subpackages of those names; each
# package exports the old module's names (defined in one_layer.closed_form, deep.conditioned, plots.curves,
# files.read and algorithms.reference).


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``iclcheck.numerics.<old>`` for each old name of ``MOVED`` and loads it as the moved module itself."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}  # alias name -> the module's own spec

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = fullname.rpartition(".")
        if prefix != __name__ or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__name__}.{MOVED[spec.name.rpartition('.')[2]]}")
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the module ran when it was imported under its new name; the import system has just stamped the alias's
        # spec on it: give it back its own (its real name and file)
        alias = module.__spec__
        if alias is not None and alias.name in self._specs:
            module.__spec__ = self._specs.pop(alias.name)


# one finder per process, also when this module is reloaded (a reload defines a new _Alias class)
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__qualname__ != "_Alias" or type(f).__module__ != __name__]
sys.meta_path.insert(0, _Alias())


def names_of(module: ModuleType, package: str) -> Any:
    """A package's ``__getattr__`` that gives any other name of ``module`` (the package stands for the old module
    of its name: one_layer, deep, plots, files, algorithms export that module's names; constants and helpers
    outside ``__all__`` come through here)."""
    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return getattr(module, name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return __getattr__


def __getattr__(name: str) -> ModuleType:
    """``iclcheck.numerics.<old>`` as an attribute (``from iclcheck.numerics import model_loss``)."""
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
