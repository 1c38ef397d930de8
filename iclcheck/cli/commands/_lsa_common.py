"""Shared options of ``iclcheck compare`` and ``iclcheck train`` (setting, rotation, layers)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from iclcheck.cli.inputs import add_setting_arguments, setting_from_args
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["add_common", "setting_of", "positive_int", "show_progress"]


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def add_common(p: argparse.ArgumentParser) -> None:
    add_setting_arguments(p)
    p.add_argument("-L", "--layers", dest="L", type=positive_int, required=True, help="number of attention layers")
    p.add_argument("--rotate", type=int, metavar="SEED", default=None,
                   help="use U^T Sigma U with U a Haar-random orthogonal matrix from SEED (Ahn et al.'s Sigma = "
                        "U^T D U; Adam is not rotation invariant)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default table)")


def setting_of(args: argparse.Namespace) -> Setting:
    st = setting_from_args(args, exact=False)
    if st.n_is_symbolic:
        raise InputError("-n", "this command needs a numeric n")
    if args.rotate is None:
        return st
    from scipy.stats import ortho_group

    U = ortho_group.rvs(st.d, random_state=np.random.default_rng(args.rotate)) if st.d > 1 else np.eye(1)
    S = U.T @ st.Sigma @ U
    S = (S + S.T) / 2
    W = {"identity": None, "inverse": "inv"}.get(st.task_cov_kind, U.T @ st.Sigma_w @ U)
    return Setting.make(S, st.n, Sigma_w=W, sigma2=st.sigma2, covariates=st.covariates)


def show_progress(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "progress", False) or sys.stderr.isatty())
