"""Steps several claims share: functions that add checked steps to a ``Checker`` (or give a claim the sizes and
tolerances those steps use). A claim imports these, never another claim's module.

Modules, by the claims that share them:

- ``common``: checks of claims of several papers (the one-layer full-space global certificate, the symbolic
  Gamma*, the released code's attention, exact rotations); its names are re-exported here, so
  ``from iclcheck.proofs.steps import check_full_space_global`` keeps working;
- ``asym``: the proportional-asymptotics claims (Marchenko-Pastur branch, master limit, rate fits);
- ``bayes``: the Bayes-baseline claims (ridge = posterior mean, exact risk brackets);
- ``moved``: claims moved to a user's setting (``Claim.at_setting``): tolerances from the conditioning, the sizes
  up to which the exact / Monte Carlo / full-space steps run;
- ``shift``: the test-setting (distribution shift) claims.

Where a new helper goes:

1. It adds steps to a ``Checker`` and two or more claims use it: here, in the module of the claims that share it
   (a new family of claims gets a new module; import it as ``iclcheck.proofs.steps.<module>``; only ``common``
   is re-exported here);
2. it is a paper's closed form or notation map (sympy / numpy, no ``Checker``): ``theory/notation/<paper>.py``;
   a closed form of the canonical model: the ``theory`` module of that model (``theory/one_layer.py``, ...);
3. it is a numerical routine (sampling, Monte Carlo, optimisation, no ``Checker``): its ``numerics`` module;
4. only one claim uses it: it stays in that claim's module, named ``_private``.

The modules here import ``theory``, ``numerics``, ``proofs.verdict`` and ``proofs.registry``, never a claim.
"""

from __future__ import annotations

from iclcheck.proofs.steps.common import (
    S2,
    N,
    cayley,
    check_full_space_global,
    check_released_attention,
    gamma_star_symbolic,
)

__all__ = ["N", "S2", "cayley", "check_full_space_global", "check_released_attention", "gamma_star_symbolic"]
