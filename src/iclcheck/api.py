"""The public Python API of iclcheck: functions of a setting, keyword-only options, the same names everywhere.

>>> import numpy as np, iclcheck
>>> st = iclcheck.setting(np.diag([1.0, 2.0, 3.0]), 10)  # diagonal: Gamma*_ii = 1 / ((n+1)/n s_i + tr(Sigma)/n)
>>> np.round(iclcheck.gamma_star(st), 4)
array([[0.5882, 0.    , 0.    ],
       [0.    , 0.3571, 0.    ],
       [0.    , 0.    , 0.2564]])

Every function takes the setting first (built by ``setting``; a ``Setting``), then keyword-only options:
``seed`` (an int: same seed, same answer), ``samples`` (Monte Carlo prompts), ``starts`` (multistart runs),
``profile`` ("quick" or "thorough"), ``convention`` (weights layout). Errors are ``InputError`` (bad input, the
message names the parameter) and ``NumericalFailure`` (valid input, the computation failed). Results are the
toolkit's structured objects; each has the fields its docstring names, and most a ``to_dict()``.

The module is imported on first use of ``iclcheck.<name>`` (``import iclcheck`` stays light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from iclcheck import _API
from iclcheck.numerics.limits import DEFAULT_SAMPLES
from iclcheck.theory.errors import InputError, NumericalFailure  # noqa: F401 (NumericalFailure: re-exported)
from iclcheck.theory.setting import COVARIATE_LAWS, Setting

if TYPE_CHECKING:  # result types, for the annotations only: each function imports its module on first call
    from pathlib import Path

    from iclcheck.numerics.certificate import Certificate
    from iclcheck.numerics.critical import Landscape
    from iclcheck.numerics.deep.implements import Implements
    from iclcheck.numerics.deep.model_loss import ModelLoss
    from iclcheck.numerics.dynamics.flow import FlowResult
    from iclcheck.numerics.dynamics.gd_error import GDError
    from iclcheck.numerics.families.gd import GDOptimum
    from iclcheck.numerics.families.gdpp import GDPPOptimum
    from iclcheck.numerics.one_layer import OneLayer
    from iclcheck.numerics.weights import Weights
    from iclcheck.numerics.weights.check import WeightsCheck
    from iclcheck.one_layer_loss import LayerLoss
    from iclcheck.proofs.registry import Claim
    from iclcheck.proofs.verdict import ClaimResult
    from iclcheck.results import Comparison, Preconditioner, SweepReport, TrainReport

__all__ = list(_API)  # the one list of the public names lives in iclcheck/__init__.py (light import)

# result classes that are public names, imported on first access: importing this module stays light (the CLI's
# commands call it; scipy.stats and sympy load only when a function needs them)
_LAZY = {"ModelLoss": "iclcheck.numerics.deep.model_loss", "WeightsCheck": "iclcheck.numerics.weights.check",
         "ClaimResult": "iclcheck.proofs.verdict", "Preconditioner": "iclcheck.results", "TrainReport": "iclcheck.results",
         "Comparison": "iclcheck.results", "SweepReport": "iclcheck.results", "LayerLoss": "iclcheck.one_layer_loss"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iclcheck.api' has no attribute {name!r}")


def setting(Sigma: Any, n: int, *, Sigma_w: Any = None, sigma2: Any = 0, law: str = "gaussian") -> Setting:
    """The data setting: x = Sigma^{1/2} s (s iid of ``law``: "gaussian", "uniform", "rademacher"), w ~ N(0,
    Sigma_w) (None: identity; "inv": Sigma^-1; or a matrix), y = w^T x + N(0, sigma2) noise, n examples.

    Sigma: a numpy array, nested lists, or ints / fractions.Fraction (kept exact for exact derivations).

    >>> st = setting([[2, 0], [0, 1]], 5, Sigma_w="inv")
    >>> st.d, st.n, st.task_cov_kind
    (2, 5, 'inverse')
    """
    if not isinstance(law, str) or law not in COVARIATE_LAWS:
        shown = repr(law) if len(repr(law)) <= 60 else repr(law)[:60] + "..."
        raise InputError("law", f"must be one of {', '.join(map(repr, COVARIATE_LAWS))}, got {shown}")
    return Setting.make(Sigma, n, Sigma_w=Sigma_w, sigma2=sigma2, covariates=law)


def _check(st: Any) -> Setting:
    if not isinstance(st, Setting):
        raise InputError("setting", f"expected an iclcheck Setting (build it with iclcheck.setting), got "
                         f"{type(st).__name__}")
    return st


def _progress(fn: Any) -> Any:
    """A ``progress=`` argument: None or a callable (checked before any work, not at its first call)."""
    if fn is not None and not callable(fn):
        raise InputError("progress", f"must be a callable or None, got {type(fn).__name__}")
    return fn


def _one_layer(st: Any) -> OneLayer:
    from iclcheck.numerics.one_layer import OneLayer

    return OneLayer(_check(st))


def gamma_star(setting: Setting) -> np.ndarray:
    """The optimal one-layer preconditioner Gamma* = Sigma_w Sigma M^-1 (a d x d float array).

    >>> import numpy as np
    >>> st = iclcheck.setting(np.eye(2), 4)       # Gamma* = n/(n+d+1) I for Sigma = Sigma_w = I
    >>> np.round(gamma_star(st), 6)
    array([[0.571429, 0.      ],
           [0.      , 0.571429]])
    """
    return _one_layer(setting).gamma_star()


def min_loss(setting: Setting) -> float:
    """The minimal one-layer loss L* = L(Gamma*) (float).

    >>> round(min_loss(iclcheck.setting([[1, 0], [0, 1]], 4)), 6)   # d (d+1) / (n+d+1) = 6/7
    0.857143
    """
    return _one_layer(setting).min_loss()


def loss(setting: Setting, P: Any, Q: Any, *, samples: int = DEFAULT_SAMPLES, seed: int = 0, attention: str = "linear",
         heads: int | None = None) -> ModelLoss:
    """The population loss E (TF - w^T x_q)^2 of the canonical LSA at P, Q: (d+1, d+1) for one layer, or stacked
    (L, d+1, d+1) for L layers. Exact where an exact route exists (one layer; stacked layers of the GD / GD++ form
    of Ahn et al. (8) / (11) under w ~ N(0, Sigma^-1); two layers with any weights, Gaussian data and
    d + [sigma2 > 0] <= 5), otherwise a seeded conditioned Monte Carlo (x_q integrated
    exactly, w and the context Gram drawn; docs/deep.md) with an interval (``samples`` prompts). The result:
    ``.value``, ``.exact``, ``.method`` (the route used), ``.interval``.

    >>> import numpy as np
    >>> st = iclcheck.setting(np.eye(2), 4)
    >>> P, Q = np.zeros((3, 3)), np.zeros((3, 3))
    >>> P[2, 2] = 1.0; Q[:2, :2] = -gamma_star(st).T   # the Gamma* point
    >>> r = loss(st, P, Q)
    >>> r.exact, round(r.value, 6)
    (True, 0.857143)

    ``attention`` ("linear", "relu", "exp", "softmax") and ``heads`` (an int: P, Q of shape (heads, d+1, d+1) or
    (L, heads, d+1, d+1)) select kernel / multi-head attention (numerics.kernel_attention.attention_loss); these have
    no exact route at finite n, and ``.method`` says so.
    """
    if attention != "linear" or heads is not None:
        from iclcheck.numerics.attention.kernel_attention import attention_loss

        return attention_loss(_check(setting), P, Q, attention=attention, heads=heads, samples=samples, seed=seed)
    from iclcheck.numerics.deep.model_loss import model_loss

    return model_loss(_check(setting), P, Q, samples=samples, seed=seed, estimator="conditioned")


def critical_points(setting: Setting, *, starts: int = 64, seed: int = 0, methods: Any = None, progress: Any = None,
                    plot: Any = None) -> Landscape:
    """Critical points of the one-layer loss over all (P, Q) by a seeded multistart, deduplicated and classified
    (a ``Landscape``: ``.points`` with ``.loss``, ``.kind``, ``.gamma``; ``.predicted_loss``; ``.to_dict()``, the
    JSON body of ``iclcheck critical``). ``methods``: the runs per start, ("descent",) or ("descent", "newton")
    (None: both for d <= 10, descent beyond); ``progress(done, starts)`` after each start; ``plot``: a .png / .pdf
    / .svg file for the loss along the path global min -> lowest saddle and the Hessian spectra.

    >>> ls = critical_points(iclcheck.setting([[1, 0], [0, 2]], 5), starts=4)
    >>> ls.points[0].kind, abs(ls.points[0].loss - ls.predicted_loss) < 1e-8
    ('global-min', True)
    """
    from iclcheck.numerics.critical import find_critical_points

    if plot is not None:  # before any work
        from iclcheck.numerics.plots.landscape import check_plot_path

        check_plot_path(plot)
    ol = _one_layer(setting)
    land = find_critical_points(ol, starts=starts, seed=seed, methods=methods, progress=_progress(progress))
    if plot is not None:
        from iclcheck.numerics.plots.landscape import plot_landscape

        plot_landscape(ol, land, plot)
    return land


def certify(setting: Setting, *, solver: str = "CLARABEL", gap_tol: float = 1e-6, exact: bool = False
            ) -> Certificate:
    """Prove a global lower bound of the one-layer loss (a convex relaxation, rounding accounted for) and certify
    the Gamma* point (a ``Certificate``: ``.certified``, ``.lower_bound``, ``.predicted_loss``, ``.reason``).

    >>> c = certify(iclcheck.setting([[1, 0], [0, 2]], 5))
    >>> c.certified, c.lower_bound <= c.predicted_loss
    (True, True)
    """
    from iclcheck.numerics.certificate import certify as _certify

    return _certify(_one_layer(setting), solver=solver, gap_tol=gap_tol, exact=exact)


@overload
def optimal_layers(setting: Setting, L: int, *, family: Literal["gd"] = ..., starts: int | None = ..., seed: int = ...,
                   progress: Any = ...) -> GDOptimum: ...
@overload
def optimal_layers(setting: Setting, L: int, *, family: Literal["gdpp"], starts: int | None = ..., seed: int = ...,
                   progress: Any = ...) -> GDPPOptimum: ...
@overload
def optimal_layers(setting: Setting, L: int, *, family: str, starts: int | None = ..., seed: int = ...,
                   progress: Any = ...) -> GDOptimum | GDPPOptimum: ...
def optimal_layers(setting: Setting, L: int, *, family: str = "gd", starts: int | None = None, seed: int = 0,
                   progress: Any = None) -> GDOptimum | GDPPOptimum:
    """Optimal per-layer coefficients of the L-layer family A_l = a_l Sigma^-1 (``family="gd"``, Ahn et al. (8):
    a ``GDOptimum``, certified when the minimiser is real-rooted) or with B_l = b_l I (``family="gdpp"``, (11): a
    ``GDPPOptimum`` by a seeded multistart of ``starts`` runs). Needs Gaussian data and w ~ N(0, Sigma^-1) (or
    Sigma = Sigma_w = I). Fields: ``.coefficients`` / ``.a``, ``.loss``, ``.method``. ``progress(done, total)``
    after each start of a multistart (gdpp's; gd's only when its minimiser is not real-rooted, else never called).

    >>> opt = optimal_layers(iclcheck.setting([[1, 0], [0, 1]], 10, Sigma_w="inv"), 2)
    >>> opt.certified, len(opt.coefficients)
    (True, 2)
    """
    _check(setting)
    if family == "gd":
        from iclcheck.numerics.families.gd import optimal_gd

        if starts is not None:
            raise InputError("starts", "the gd family optimum is solved, not searched: starts applies to gdpp")
        return optimal_gd(setting, L, progress=_progress(progress))
    if family == "gdpp":
        from iclcheck.numerics.families.gdpp import DEFAULT_GDPP_STARTS, optimal_gdpp

        return optimal_gdpp(setting, L, starts=DEFAULT_GDPP_STARTS if starts is None else starts, seed=seed,
                            progress=_progress(progress))
    raise InputError("family", f"unknown family {family!r}; choose 'gd' or 'gdpp'")


def claims() -> list[Claim]:
    """The registered claims (``Claim`` objects: ``.key``, ``.title``, ``.source``, ``.statement``,
    ``.provenance``, ``.parameters`` = what a claim can be moved to; empty: built-in settings only).

    >>> any(c.key == "ahn2023.thm1" for c in claims())
    True
    """
    from iclcheck.proofs.registry import all_claims

    return list(all_claims().values())


def verify(keys: Any = None, *, seed: int = 0, profile: str = "quick", setting: Setting | None = None
           ) -> list[ClaimResult]:
    """Run the proof-checks of the claims selected by ``keys`` (None: all; a key, a paper prefix such as
    "ahn2023", or a list of them) and return their results (``ClaimResult``: ``.verdict``, ``.steps``,
    ``.finding``, ``.to_dict()``). With ``setting``, each claim runs at that setting; a claim that declares no
    parameters (``Claim.parameters``) is skipped with a ``ClaimSkipped`` warning giving its reason, and a selection
    none of which can move is an InputError naming each claim (the same policy as ``iclcheck verify --cov``:
    ``proofs.registry.runnable_at``). Claims run through the CLI's runner (``proofs.report.run_claims``), so a claim
    whose check crashes gives a result with verdict "error", as in the command's report, rather than an exception.

    >>> [r] = verify(["ahn2023.eq7"])
    >>> r.key, str(r.verdict)
    ('ahn2023.eq7', 'confirmed')
    """
    from iclcheck.proofs.registry import Context, select

    if profile not in ("quick", "thorough"):
        raise InputError("profile", f"must be 'quick' or 'thorough', got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise InputError("seed", f"must be an integer in [0, 2^63), got {seed!r}")
    from iclcheck.proofs.report import run_claims

    chosen = select(_claim_keys(keys))
    if setting is not None:
        _check(setting)
        import warnings

        from iclcheck.proofs.registry import ClaimSkipped, runnable_at

        chosen, skipped = runnable_at(chosen, setting)  # every claim is checked before any runs
        for c, why in skipped:
            warnings.warn(f"{c.key} is not run at this setting: {why}", ClaimSkipped, stacklevel=2)
    ctx = Context(seed=int(seed), profile=profile, setting=setting)
    return run_claims(chosen, ctx)


def _claim_keys(keys: Any) -> list[str] | None:
    """``verify``'s selection validated: None (every claim), a non-empty key or paper prefix, or a non-empty list
    / tuple of them. Anything else (a number, bytes, an empty string or list) is an InputError naming ``keys``:
    a falsy value never silently selects all claims."""
    if keys is None:
        return None
    items = [keys] if isinstance(keys, str) else keys
    if not isinstance(items, (list, tuple)):
        raise InputError("keys", f"must be None, a claim key / paper prefix (str) or a list of them, got "
                         f"{type(keys).__name__}")
    if not items:
        raise InputError("keys", "an empty list selects no claim (pass None for every claim)")
    for k in items:
        if not isinstance(k, str) or not k.strip():
            shown = repr(k) if len(repr(k)) <= 60 else repr(k)[:60] + "..."
            raise InputError("keys", f"each key must be a non-empty string (a claim key or paper prefix), got {shown}")
    return list(items)


def load_weights(path_or_arrays: Any, *, convention: str = "canonical", setting: Setting | None = None,
                 n: int | None = None) -> Weights:
    """Read an L-layer model from a file (.npz, .safetensors, a torch state_dict with PyTorch installed) or a dict
    name -> array, and map it to the canonical model (a ``Weights``: ``.Ps``, ``.Qs`` (L, d+1, d+1),
    ``.readout_sign``, ``.mask``, ``.map``). Conventions: canonical, ahn, vonoswald, zhang, pytorch (docs/weights.md);
    n (or the setting's n) is needed by vonoswald's map.

    >>> import numpy as np
    >>> W = {"W_K": np.eye(3), "W_Q": -np.eye(3), "W_V": np.eye(3)}
    >>> w = load_weights(W, convention="pytorch", n=5)
    >>> w.L, w.readout_sign, float(w.Ps[0, 0, 0])     # one layer: canonical at P = -W_V
    (1, -1, -1.0)
    """
    from iclcheck.numerics.weights import load_weights as _load

    if setting is not None:
        _check(setting)
        if setting.n_is_symbolic:
            raise InputError("setting", "the weights need a numeric n (the setting's n is symbolic)")
        n = int(setting.n)
    if n is None:
        if convention == "vonoswald":
            raise InputError("n", "the vonoswald map P_can = N P W_V needs n (give setting or n)")
        n = 1
    return _load(path_or_arrays, convention=convention, n=n, d=None if setting is None else setting.d)


def save_weights(path: Any, P: Any, Q: Any, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write canonical stacked P, Q ((L, d+1, d+1) or (d+1, d+1)) with JSON metadata to .npz or .safetensors.

    >>> import numpy as np, tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> _ = save_weights(f, np.zeros((3, 3)), np.zeros((3, 3)), metadata={"note": "zeros"})
    >>> load_weights(f).metadata["note"]
    'zeros'
    """
    from iclcheck.numerics.weights import save_weights as _save

    return _save(path, P, Q, metadata=metadata)  # validates P, Q (dense, real, (L, D, D)), metadata and path


def check_weights(path_or_arrays: Any, setting: Setting, *, convention: str = "canonical",
                  samples: int = DEFAULT_SAMPLES, seed: int = 0, progress: Any = None) -> WeightsCheck:
    """Check a trained model at a setting: its loss (exact or an interval), the gap to the theory's optimum (one
    layer: L(Gamma*); L layers: the condition-(8) optimum, a reference), each layer's distance to the predicted
    matrix in the whitened frame, and ``.warnings`` when a sign or scale flip of the convention gives a much lower
    loss. The twin of ``iclcheck check-weights``. ``progress(done, total)`` after each Monte Carlo batch: prompts
    drawn, of a total that grows as the model's and each variant's run starts (never called when all are exact).

    >>> import numpy as np
    >>> st = iclcheck.setting(np.diag([1.0, 2.0, 3.0]), 10)
    >>> P, Q = np.zeros((4, 4)), np.zeros((4, 4))
    >>> P[3, 3] = 1.0; Q[:3, :3] = -gamma_star(st).T
    >>> W = {"W_K": np.eye(4), "W_Q": Q, "W_V": -P}            # the optimum in the PyTorch layout
    >>> round(check_weights(W, st, convention="pytorch").loss.value, 4)
    1.6755
    >>> r = check_weights({"P": -P, "Q": Q}, st)                 # the same arrays read as canonical
    >>> round(r.loss.value, 2), r.warnings[0].split(":")[0]
    (18.97, 'prediction sign gives a much lower loss')
    """
    from iclcheck.numerics.weights.check import check_loaded_weights

    _check(setting)
    _progress(progress)
    w = load_weights(path_or_arrays, convention=convention, setting=setting)
    return check_loaded_weights(setting, w, samples=samples, seed=seed, progress=progress)



def gd_error(setting: Setting, steps: int, *, eta: float | None = None, target: str = "label",
             precondition: Any = None) -> GDError:
    """The exact expected error of k = 1..steps in-context GD steps from w_0 = 0 (``numerics.gd_error``): the
    query prediction (``target="label"``) or ||w_k - w*||^2 (``"weights"``), with step ``eta`` (None: the optimal
    step for each k), plain GD (needs Sigma = c I) or ``precondition="inverse"`` (P = Sigma^-1, any Sigma). Returns
    a ``GDError``: ``.error``, ``.eta``, ``.argmin``, ``.first_worse``, ``.heavy_tail`` per k. The twin of
    ``iclcheck gd-error``.

    >>> st = iclcheck.setting(np.eye(10), 20)
    >>> r = gd_error(st, 10, eta=20 / 31, target="weights")   # Huang, Wang, Lee's fixed step n/(n+d+1)
    >>> round(float(r.error[0]), 4), r.argmin, round(float(r.error[9]), 1), bool(r.heavy_tail[9])
    (3.5484, 5, 71.0, True)
    """
    from iclcheck.numerics.dynamics.gd_error import gd_error as _gd_error

    return _gd_error(_check(setting), steps, eta=eta, target=target, precondition=precondition)


def flow(setting: Setting, model: str, *, init: Any, t_max: float, **options: Any) -> FlowResult:
    """Gradient flow of the exact population loss (``numerics.flow``; no sampling) of ``model``: "one_layer" (full
    P, Q), "attnS" (H heads of separate key/query of rank R: ``heads=``, ``rank=``), "attnM" (merged key-query),
    "gd_family" / "tied" (the restricted L-layer families: ``L=``), from ``init`` (a flat parameter vector, or a
    scale for a random start from ``seed=``) to ``t_max``. Returns a ``FlowResult``: the sampled trajectory, the
    plateaus (entry, exit, loss), the conserved quantities' drift, the limit's classification, fitted rates.

    >>> st = iclcheck.setting(np.diag([0.4, 0.3]), 31)
    >>> r = flow(st, "attnS", init=0.01, t_max=4000.0, heads=2, rank=1, seed=1, samples=201)
    >>> [round(p.loss, 4) for p in r.plateaus], r.classification   # plateaus: L(M_0), L(M_1); zero modes: symmetries
    ([0.7, 0.3326], 'degenerate')
    """
    from iclcheck.numerics.dynamics.flow import flow as _flow

    return _flow(_check(setting), model, init=init, t_max=t_max, **options)


def implements(path_or_arrays: Any, setting: Setting, *, convention: str = "canonical", prompts: int = 20_000,
               max_steps: int = 12, seed: int = 0, progress: Any = None) -> Implements:
    """What a deep model implements, layer by layer (an ``Implements``): each layer in the whitened frame with its
    nearest (8) / (11) family point (``.layers``: ``.a``, ``.b``, residuals), the family named when the model's
    predictions are within 1% of E y_q^2 of it (``.family``: '8', '11' or None), and per layer the best of k = 1..
    ``max_steps`` steps of GD, preconditioned GD, GD++ and Iterative Newton against the model's intermediate
    prediction (``.best``: ``.algorithm``, ``.k``, ``.params``, ``.error`` with a held-out 99.9% interval).
    ``path_or_arrays``: as ``load_weights`` (any convention), or a ``Weights``; ``progress(done, total)`` after each
    (layer, algorithm) match. docs/deep.md.

    >>> import numpy as np
    >>> st = iclcheck.setting(np.diag([1.0, 2.0]), 20, Sigma_w="inv")
    >>> Ps, Qs = np.zeros((2, 3, 3)), np.zeros((2, 3, 3))
    >>> Ps[:, 2, 2] = 1.0; Qs[:, :2, :2] = -np.array([0.5, 0.9])[:, None, None] * np.linalg.inv(st.Sigma)
    >>> r = implements({"P": Ps, "Q": Qs}, st, prompts=2000, max_steps=4)
    >>> r.family, [round(a, 3) for a in r.a], r.best[0].algorithm, r.best[0].k
    ('8', [0.5, 0.9], 'pgd', 1)
    """
    from iclcheck.numerics.deep.implements import implements as _implements
    from iclcheck.numerics.weights import Weights

    _check(setting)
    _progress(progress)
    w = path_or_arrays if isinstance(path_or_arrays, Weights) else load_weights(
        path_or_arrays, convention=convention, setting=setting)
    if w.d != setting.d:
        raise InputError("weights", f"the model is for d = {w.d} but the setting has d = {setting.d}")
    return _implements(setting, w.Ps, w.Qs, readout_sign=w.readout_sign, mask=w.mask, prompts=prompts,
                       max_steps=max_steps, seed=seed, progress=progress)


BAYES_SAMPLES = 20_000  # Monte Carlo draws of X for precond's Bayes baseline (seed 0: the same answer every run)


def precond(setting: Setting, *, exact: bool | str = False, test: Setting | None = None, bayes: bool = False
            ) -> Preconditioner:
    """The optimal one-layer preconditioner and what goes with it (a ``Preconditioner``): Gamma* and L* in floats
    (numeric n), exactly too with ``exact=True`` (exact inputs; n may be symbolic) or ``exact="auto"`` (exact where
    the inputs allow it, floats otherwise); Gamma* evaluated at a ``test`` setting (``.shift``: L_test(Gamma*),
    L*_test, the excess; exact too when both settings are); with ``bayes``, the Bayes-optimal risk of the
    posterior mean in the same units (``.bayes``; d <= 20, n <= 200). The twin of ``iclcheck precond``;
    ``.to_dict()`` is its JSON body.

    >>> S = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]                    # integers: an exact setting
    >>> r = precond(iclcheck.setting(S, 4), exact=True)          # Gamma*_ii = 1 / ((n+1)/n s_i + tr(Sigma)/n)
    >>> [str(r.gamma_exact[i, i]) for i in range(3)], str(r.loss_exact), round(r.loss, 6)
    (['4/11', '1/4', '4/21'], '225/77', 2.922078)
    >>> r = precond(iclcheck.setting(S, 20), test=iclcheck.setting(S, 5))   # trained at n = 20, tested at n = 5
    >>> round(r.shift.loss, 4), round(r.shift.excess, 4)
    (3.4142, 0.8169)
    """
    from iclcheck.results import Preconditioner

    _check(setting)
    if exact not in (False, True, "auto"):
        raise InputError("exact", f"must be False, True or 'auto', got {exact!r}")
    if test is not None and not isinstance(test, Setting):
        raise InputError("test", f"expected an iclcheck Setting, got {type(test).__name__}")
    if exact is True and not setting.is_exact:
        raise InputError("exact", "needs exact inputs: Sigma, Sigma_w and sigma2 as integers or fractions")
    if setting.n_is_symbolic and not setting.is_exact:
        raise InputError("setting", "a symbolic n needs exact inputs")
    res = Preconditioner(setting, None, None, test=test)
    if exact is True or (exact == "auto" and setting.is_exact) or setting.n_is_symbolic:
        res.gamma_exact, res.loss_exact = _exact_optimum(setting, strict=exact is True)
    if not setting.n_is_symbolic:
        from iclcheck.numerics.one_layer import OneLayer

        one = OneLayer(setting)  # caches Gamma*, which min_loss() reuses
        res.gamma, res.loss = one.gamma_star(copy=False), one.min_loss()  # read-only: no 32 MB copy at d = 2000
    if test is not None:
        _evaluate_at_test(res, exact=exact is True)
    if bayes:
        from iclcheck.numerics.bayes import MAX_D, MAX_N, bayes_risk

        if setting.n_is_symbolic or setting.d > MAX_D or setting.n > MAX_N:
            raise InputError("bayes", f"needs a numeric n <= {MAX_N} and d <= {MAX_D} (got d = {setting.d}, "
                             f"n = {setting.n})")
        res.bayes = bayes_risk(setting, rng=np.random.default_rng(0), samples=BAYES_SAMPLES)
    return res


def _exact_optimum(setting: Setting, *, strict: bool) -> tuple[Any, Any]:
    """(Gamma*, L*) exactly, or (None, None) when the law has no closed form and floats can stand in (not
    ``strict``, numeric n)."""
    from iclcheck.theory.one_layer import exact_optimum

    try:
        return exact_optimum(setting)
    except InputError as exc:
        if exc.what != "exact mode":
            raise
        if not strict and not setting.n_is_symbolic:
            return None, None
        raise InputError("exact", f"{setting.covariates} covariates need Sigma^(1/2) in closed form; exact output "
                         "is available for a diagonal Sigma only with them") from None


def _evaluate_at_test(res: Any, *, exact: bool) -> None:
    """Gamma* of ``res.setting`` at ``res.test``: floats for numeric n, exactly when the training optimum was
    exact and the test inputs are too (``exact``: they must be)."""
    st, test = res.setting, res.test
    if test.d != st.d:
        raise InputError("test", f"is {test.d}x{test.d} but the setting is {st.d}x{st.d}")
    if exact and not test.is_exact:
        raise InputError("test", "needs exact inputs too (exact=True): Sigma, Sigma_w and sigma2 as integers or "
                         "fractions")
    want = res.gamma_exact is not None and test.is_exact
    if (st.n_is_symbolic or test.n_is_symbolic) and not want:
        raise InputError("test", "a symbolic n needs exact test inputs")
    if not (st.n_is_symbolic or test.n_is_symbolic):
        from iclcheck.numerics.one_layer.shift import shifted_loss

        res.shift = shifted_loss(st, test)
    if want:
        from iclcheck.theory.shift import shifted_loss_exact

        try:
            res.shift_exact = shifted_loss_exact(st, test)
        except InputError as exc:
            if exc.what != "exact mode":
                raise
            raise InputError("test", f"{test.covariates} test covariates need Sigma_test^(1/2) in closed form; "
                             "exact output is available for a diagonal test Sigma only with them") from None


TRAIN_MAX_SAMPLES = 20_000_000  # Monte Carlo prompts for the trained model's loss and its gap
TRAIN_MC_BATCH = 20_000  # prompts per Monte Carlo batch (fewer when one batch would exceed the memory bound)


def train(setting: Setting, L: int, *, family: str = "gd", steps: int = 5000, batch: int = 1024,
          lr: float | None = None, clip: float | None = None, warmup: int | None = None, samples: int = 200_000,
          seed: int = 0, callback: Any = None, save_weights: Any = None, metadata: dict[str, Any] | None = None
          ) -> TrainReport:
    """Train an L-layer linear self-attention with Adam on fresh prompts (numpy, seeded: same seed, same model)
    and read out what it learned (a ``TrainReport``): per layer a_l = tr(Sigma^1/2 A_l Sigma^1/2)/d and Dist(A_l,
    I) in the whitened frame, the loss with a 99.9% interval from ``samples`` prompts, and the paired gap to the
    exact condition-(8) optimum when it exists (Gaussian x, w ~ N(0, Sigma^-1) or Sigma = I). ``family``: "gd"
    (A_l only), "gdpp" (A_l, B_l) or "full" (every entry). lr / clip / warmup default to 0.1 / none / 0 for gd and
    0.01 / 1.0 / 100 otherwise. ``callback(step, loss)`` after each step; ``save_weights``: a .npz / .safetensors
    file for the learned P, Q (canonical, stacked) with the setting and ``metadata``. The twin of ``iclcheck
    train``; ``.to_dict()`` is its JSON body. A run that diverges is a ``NumericalFailure``.

    >>> r = train(iclcheck.setting(np.eye(2), 10, Sigma_w="inv"), 1, steps=300, samples=20_000, seed=1)
    >>> a_opt, f_opt = r.optimum                     # one layer: the optimum is a = n/(n+d+1) on Sigma^-1
    >>> round(float(a_opt[0]), 4), bool(abs(r.layers[0]["a"] - a_opt[0]) < 0.05), r.gap.ci[0] < 0.05 * f_opt
    (0.7692, True, True)
    """
    from iclcheck.numerics.limits import MAX_LAYERS, MAX_MEMORY_BYTES
    from iclcheck.numerics.training import check_budget, step_memory_bytes
    from iclcheck.numerics.training import train as _train

    _check(setting)
    _check_train_options(setting, L, samples=samples, save_weights=save_weights, max_layers=MAX_LAYERS)
    lr = lr if lr is not None else {"gd": 0.1, "gdpp": 0.01, "full": 0.01}.get(family, 0.01)
    clip_ = clip if clip is not None else (None if family == "gd" else 1.0)
    warmup_ = warmup if warmup is not None else (0 if family == "gd" else 100)
    if clip_ is not None and not (np.isfinite(clip_) and clip_ > 0):
        raise InputError("clip", f"must be a positive number, got {clip}")
    if warmup_ < 0:
        raise InputError("warmup", f"must be >= 0, got {warmup}")
    if not (np.isfinite(lr) and lr > 0):
        raise InputError("lr", f"must be a positive number, got {lr}")
    check_budget(setting, L, steps=steps, batch=batch)
    budget = MAX_MEMORY_BYTES // 2**30 * 2**30  # whole GiB, as documented
    mc_batch = max(1, min(TRAIN_MC_BATCH, budget // step_memory_bytes(setting.d, int(setting.n), L, 1)))
    rng = np.random.default_rng(seed)
    run = _train(setting, L, family_name=family, steps=steps, batch=batch, lr=lr, rng=rng, clip=clip_,
                 warmup=warmup_, callback=callback)
    options = {"family": family, "L": L, "steps": steps, "batch": batch, "lr": lr, "clip": clip_, "warmup": warmup_,
               "seed": seed}
    report = _read_out(setting, run, options, samples, rng, mc_batch)
    if save_weights is not None:
        _save_trained(report, save_weights, metadata)
    return report


def _check_train_options(setting: Setting, L: int, *, samples: int, save_weights: Any, max_layers: int) -> None:
    """train's bounds and output file, checked before any work."""
    if setting.n_is_symbolic:
        raise InputError("n", "training needs a numeric n")
    if L > max_layers:
        raise InputError("L", f"at most {max_layers} layers for training, got {L:,}")
    if samples > TRAIN_MAX_SAMPLES:
        raise InputError("samples", f"at most {TRAIN_MAX_SAMPLES:,}, got {samples:,}")
    save = None if save_weights is None else str(save_weights)
    if save is not None and not save.endswith((".npz", ".safetensors")):
        raise InputError("save_weights", f"{save}: the file name must end in .npz or .safetensors")
    if save is not None:  # a regular file that can be written (never a FIFO or a device)
        from iclcheck.numerics.files.write import check_output_path

        check_output_path(save, what="save_weights", suffixes=(".npz", ".safetensors"))
    if save is not None and save.endswith(".safetensors"):  # before training, not after it
        from iclcheck.theory.errors import import_optional

        import_optional("safetensors.numpy", extra="weights", feature="writing .safetensors")


def _read_out(st: Setting, run: Any, options: dict[str, Any], samples: int, rng: Any, mc_batch: int) -> TrainReport:
    """The trained model's coefficients, loss and gap to the condition-(8) optimum (paired prompts)."""
    from iclcheck.numerics.families import family_params, optimal_gd_coefficients
    from iclcheck.numerics.training import paired_gap, summarize
    from iclcheck.results import TrainReport

    with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are refused below
        report = TrainReport(st, **options, run=run, layers=summarize(run, st)["layers"], loss=None)
    try:
        a_opt, f_opt = optimal_gd_coefficients(st, report.L)
    except InputError as exc:
        a_opt, report.optimum_note = None, str(exc)
    with np.errstate(over="ignore", invalid="ignore"):
        if a_opt is not None:
            Pb, Qb = family_params(st.Sigma, a_opt)
            report.loss, report.gap = paired_gap(st, run.Ps, run.Qs, np.array(Pb), np.array(Qb), samples=samples,
                                                 rng=rng, batch=mc_batch)
            report.optimum = (a_opt, f_opt)
        else:
            from iclcheck.numerics.model.forward import sample_prompts
            from iclcheck.numerics.model.montecarlo import mc_mean
            from iclcheck.numerics.training import loss_on

            report.loss = mc_mean(lambda r, k: loss_on(run.Ps, run.Qs, sample_prompts(st, k, r)), samples=samples,
                                  rng=rng, batch=mc_batch)
    _finite(report.to_dict(), ("coefficients", "dist_A", "b", "dist_B", "off_pattern", "loss", "loss_ci", "gap",
                               "gap_ci"))
    return report


def _finite(out: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Never report nan: a non-finite result is a numerical failure, not an answer."""
    import math

    for k in keys:
        v = out.get(k)
        vals = v if isinstance(v, (list, tuple)) else [v]
        if any(x is not None and not math.isfinite(x) for x in vals):
            raise NumericalFailure("training", f"the trained model's {k} is not finite ({v})",
                                   "lower lr, set clip or warmup, or use fewer layers L")


def _save_trained(report: Any, path: Any, metadata: dict[str, Any] | None) -> None:
    from iclcheck.numerics.weights import save_weights as _save

    st = report.setting
    meta = {"convention": "canonical", "written_by": "iclcheck train", "setting": st.describe(), **(metadata or {}),
            "n": int(st.n), "task_cov": st.task_cov_kind, "sigma2": st.sigma2, "covariates": st.covariates,
            "family": report.family, "L": report.L, "steps": report.steps, "seed": report.seed}
    try:
        _save(path, report.run.Ps, report.run.Qs, metadata=meta)
    except InputError as exc:
        raise InputError("save_weights", exc.problem) from None
    report.weights_file = str(path)


def compare(setting: Setting, L: int, *, steps: int | None = None, samples: int = 4000, seed: int = 0,
            train_steps: int = 1500, callback: Any = None, plot: Any = None) -> Comparison:
    """Per-step errors E (yhat_k - w^T x_q)^2 of in-context regression algorithms on the same fresh prompts (a
    ``Comparison``): GD with its optimal step, preconditioned GD, the optimal L-step polynomial of condition (8),
    GD++, Iterative Newton, OLS / Bayes ridge and an L-layer LSA trained for ``train_steps`` Adam steps (0: none;
    ``callback(step, loss)`` after each), each with a 99.9% interval or its exact value where the restricted
    families give one; ``steps`` iterations (default max(L, 10)) from ``samples`` prompts of ``seed``. ``plot``: a
    .png / .pdf / .svg file for the error curves. The twin of ``iclcheck compare``; ``.to_dict()`` is its JSON body.

    >>> r = compare(iclcheck.setting(np.eye(2), 8, Sigma_w="inv"), 2, samples=500, train_steps=0)
    >>> c = {c.name: c for c in r.curves}
    >>> [round(c[k].exact[2], 4) for k in ("pgd", "opt-poly", "gdpp")]   # exact: each family beats the one before
    [0.2884, 0.2227, 0.0613]
    """
    from iclcheck.numerics.compare import compare as _compare
    from iclcheck.numerics.limits import MAX_STEPS
    from iclcheck.results import Comparison

    _check(setting)
    if setting.n_is_symbolic:
        raise InputError("n", "the comparison needs a numeric n")
    if not 0 <= train_steps <= MAX_STEPS:
        raise InputError("train_steps", f"must be between 0 and {MAX_STEPS:,}, got {train_steps:,}")
    if plot is not None:  # before the expensive part: a regular file that can be written
        from iclcheck.numerics.files.write import check_output_path
        from iclcheck.numerics.plots import PLOT_SUFFIXES

        check_output_path(plot, what="plot", suffixes=PLOT_SUFFIXES)
    res = _compare(setting, L, steps=steps, samples=samples, rng=np.random.default_rng(seed), train_steps=train_steps,
                   train_lr=0.01, train_callback=callback)
    if plot is not None:
        from iclcheck.numerics.plots import error_curves

        error_curves(res["curves"], plot, title=f"{setting.describe()}, L={L}")
    return Comparison(res["setting"], res["L"], res["steps"], res["samples"], res["curves"], res["similarity"], seed,
                      None if plot is None else str(plot))


def sweep(settings: Any, out: Any, *, starts: int = 32, seed: int = 0, certify: bool = True, jobs: int | None = None,
          scheduler: str | None = None, progress: Any = None, plot: Any = None) -> SweepReport:
    """The critical-point census of the one-layer loss at every setting of a grid, on Dask (a ``SweepReport``):
    per setting the distinct minimum levels found by ``starts`` seeded descent runs, their basins, the gap of the
    lowest spurious one and (``certify``, d <= 6) a certificate that the lowest is global. ``settings``: a list of
    ``numerics.sweep.SweepPoint`` or a dict of value lists (keys d, cond, n, noise, law, cov_seed: their Cartesian
    product; Sigma = random:d=D,cond=K,seed=COV_SEED, Sigma_w = I). Rows go to the Parquet dataset ``out`` (one
    part per finished setting; a rerun skips them). ``jobs``: local worker processes (default 1), or a running
    ``scheduler``'s address; ``progress(done, total, point, row)`` after each setting; ``plot``: the atlas figure.
    Settings that fail are listed in ``.summary.failed`` (the others are kept). The twin of ``iclcheck sweep``;
    ``.to_dict()`` is its JSON body.

    >>> import tempfile
    >>> r = sweep({"d": [2], "cond": [1.0], "n": [3]}, tempfile.mkdtemp(), starts=4)
    >>> r.summary.computed, r.rows[0]["n_minima"], r.rows[0]["global_certified"]
    (1, 2, True)
    """
    from iclcheck.numerics.sweep import SweepPoint, grid, keys_of, plot_atlas, read_sweep, run_sweep
    from iclcheck.results import SweepReport

    if isinstance(settings, dict):
        points = grid(**settings)
    elif isinstance(settings, (list, tuple)) and all(isinstance(p, SweepPoint) for p in settings):
        points = sorted(set(settings))
    else:
        raise InputError("settings", "must be a list of SweepPoint or a dict of value lists (d, cond, n, ...)")
    if scheduler is not None and jobs is not None:
        raise InputError("jobs", "sets the size of a local cluster; a scheduler's own workers run the tasks")
    if plot is not None:
        from iclcheck.numerics.plots.landscape import check_plot_path

        check_plot_path(plot)  # before the sweep, not after it
    summary = run_sweep(points, out, starts=starts, seed=seed, certify=certify, jobs=1 if jobs is None else jobs,
                        scheduler=scheduler, progress=_progress(progress))
    table = read_sweep(out, keys=keys_of(points, starts=starts, seed=seed, certify=certify))
    if plot is not None:
        try:
            plot_atlas(table, plot)
        except OSError as exc:
            raise InputError("plot file", f"cannot write {str(plot)!r}: {exc.strerror or exc}") from None
    return SweepReport(points, out, table, summary, starts, seed, certify, None if plot is None else str(plot))


def layer_loss(setting: Setting, *, P: Any = None, Q: Any = None, exact: bool = False, symbolic: bool = False,
               test: Setting | None = None) -> LayerLoss:
    """The exact population loss f(P, Q) = E (TF - w^T x_q)^2 of one LSA layer (a ``LayerLoss``): at P, Q
    ((d+1) x (d+1) each; ``.loss``), also in rational arithmetic at the stored binary floats (``exact``;
    ``.loss_exact``), and/or as a polynomial in p_k = P[d+1, k] and q_{i,j} = Q[i, j], j <= d (``symbolic``, exact
    inputs, d <= 10, n may be a sympy Symbol; ``.loss_symbolic``); with ``test``, the same at a test setting. The
    twin of ``iclcheck loss``; ``.to_dict()`` is its JSON body.

    >>> import numpy as np
    >>> st = iclcheck.setting([[1, 0], [0, 2]], 4)
    >>> P, Q = np.zeros((3, 3)), np.zeros((3, 3))
    >>> P[2, 2] = 1.0; Q[:2, :2] = -gamma_star(st).T           # the Gamma* point: f = L*
    >>> r = layer_loss(st, P=P, Q=Q, symbolic=True)
    >>> round(r.loss, 6) == round(min_loss(st), 6), len(r.loss_symbolic.free_symbols)
    (True, 9)
    """
    from iclcheck.one_layer_loss import layer_loss as _layer_loss

    _check(setting)
    if test is not None and not isinstance(test, Setting):
        raise InputError("test", f"expected an iclcheck Setting, got {type(test).__name__}")
    return _layer_loss(setting, P=P, Q=Q, exact=exact, symbolic=symbolic, test=test)
