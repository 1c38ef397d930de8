"""The documented old path of ``iclcheck.numerics.families.restricted`` (moved into a subpackage; this name keeps working: it is that module)."""

import sys

from iclcheck.numerics.families import restricted as _module

sys.modules[__name__] = _module
