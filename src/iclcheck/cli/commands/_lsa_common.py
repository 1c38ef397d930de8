"""Shared options of ``iclcheck compare`` and ``iclcheck train`` (setting, rotation, layers)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from iclcheck.cli.inputs import add_setting_arguments, parse_seed, setting_from_args
from iclcheck.theory.errors import InputError

if TYPE_CHECKING:
    from iclcheck.theory.setting import Setting

__all__ = ["add_common", "positive_int", "seed_arg", "setting_of"]


def positive_int(text: str) -> int:
    """A positive integer in ASCII digits (Python's int() would also take '٣')."""
    s = str(text).strip()
    if not re.fullmatch(r"\+?[0-9]{1,30}", s):
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s[:60]!r}")
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def seed_arg(text: str) -> int:
    """An argparse type for seeds: 0 <= S < 2^63 (one line and exit 2 otherwise)."""
    try:
        return parse_seed(text, what="seed")
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def add_common(p: argparse.ArgumentParser) -> None:
    add_setting_arguments(p)
    p.add_argument("-L", "--layers", dest="L", type=positive_int, required=True, help="number of attention layers")
    p.add_argument("--rotate", type=seed_arg, metavar="SEED", default=None,
                   help="use U^T Sigma U with U a Haar-random orthogonal matrix from SEED (Ahn et al.'s Sigma = "
                        "U^T D U; Adam is not rotation invariant)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, 0 <= S < 2^63 (default 0)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")


def setting_of(args: argparse.Namespace) -> Setting:
    st = setting_from_args(args, exact=False)
    if st.n_is_symbolic:
        raise InputError("-n", "this command needs a numeric n")
    if args.rotate is None:
        return st
    import numpy as np
    from scipy.stats import ortho_group

    from iclcheck.theory.setting import Setting

    U = ortho_group.rvs(st.d, random_state=np.random.default_rng(args.rotate)) if st.d > 1 else np.eye(1)
    S = U.T @ st.Sigma @ U
    S = (S + S.T) / 2
    W = {"identity": None, "inverse": "inv"}.get(st.task_cov_kind, U.T @ st.Sigma_w @ U)
    return Setting.make(S, st.n, Sigma_w=W, sigma2=st.sigma2, covariates=st.covariates)
