"""The parameter families of training (Ahn et al. 2023): linear maps theta -> (Ps, Qs) of the canonical model and
their adjoints (the chain rule of a linear map is a projection). Re-exported by ``numerics.training``.

- ``gd``   condition (8):  P_i = [[0, 0], [0, 1]],  Q_i = -[[A_i, 0], [0, 0]]       (theta = A_i)
- ``gdpp`` condition (11): P_i = [[B_i, 0], [0, 1]], Q_i = -[[A_i, 0], [0, 0]]      (theta = A_i, B_i)
- ``full`` every entry of P_i and Q_i                                              (theta = P_i, Q_i)
- ``gd-scalar`` A_i = a_i Sigma^{-1};  ``gdpp-scalar`` A_i = a_i Sigma^{-1}, B_i = b_i I
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["FAMILIES", "Family", "family"]

FAMILIES = ("gd", "gdpp", "full", "gd-scalar", "gdpp-scalar")


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A linear map theta -> (Ps, Qs) and its adjoint (for the chain rule)."""

    name: str
    L: int
    d: int
    Sigma_inv: np.ndarray  # (d, d), used by the scalar families

    @property
    def size(self) -> int:
        L, d, D = self.L, self.d, self.d + 1
        return {"gd": L * d * d, "gdpp": 2 * L * d * d, "full": 2 * L * D * D, "gd-scalar": L,
                "gdpp-scalar": 2 * L}[self.name]

    def to_PQ(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        L, d, D = self.L, self.d, self.d + 1
        Ps = np.zeros((L, D, D))
        Qs = np.zeros((L, D, D))
        if self.name == "full":
            Ps[:] = theta[: L * D * D].reshape(L, D, D)
            Qs[:] = theta[L * D * D:].reshape(L, D, D)
            return Ps, Qs
        Ps[:, d, d] = 1.0
        if self.name in ("gd", "gdpp"):
            A = theta[: L * d * d].reshape(L, d, d)
            Qs[:, :d, :d] = -A
            if self.name == "gdpp":
                Ps[:, :d, :d] = theta[L * d * d:].reshape(L, d, d)
        else:
            a = theta[:L]
            Qs[:, :d, :d] = -a[:, None, None] * self.Sigma_inv[None]
            if self.name == "gdpp-scalar":
                Ps[:, :d, :d] = theta[L:][:, None, None] * np.eye(d)[None]
        return Ps, Qs

    def pullback(self, dPs: np.ndarray, dQs: np.ndarray) -> np.ndarray:
        """dloss/dtheta from dloss/dPs, dloss/dQs (the adjoint of the linear map to_PQ)."""
        d = self.d
        if self.name == "full":
            return np.concatenate([dPs.ravel(), dQs.ravel()])
        gA = -dQs[:, :d, :d]  # (L, d, d)
        if self.name == "gd":
            return gA.ravel().copy()
        if self.name == "gdpp":
            return np.concatenate([gA.ravel(), dPs[:, :d, :d].ravel()])
        ga = np.einsum("lij,ij->l", gA, self.Sigma_inv)
        if self.name == "gd-scalar":
            return ga
        gb = np.einsum("lii->l", dPs[:, :d, :d])
        return np.concatenate([ga, gb])

    def init(self, rng: np.random.Generator, *, scale: float = 0.1) -> np.ndarray:
        """Small random start: entries N(0, scale^2 / d) (full: P[d,d] starts at 1 as in condition (8))."""
        theta = rng.standard_normal(self.size) * scale / np.sqrt(self.d)
        if self.name == "full":
            L, D = self.L, self.d + 1
            Ps = theta[: L * D * D].reshape(L, D, D)
            Ps[:, D - 1, D - 1] += 1.0
        if self.name == "gdpp-scalar":
            theta[self.L:] = 0.0
        return theta


def family(name: str, setting: Setting, L: int) -> Family:
    if name not in FAMILIES:
        raise InputError("family", f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}")
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 1:
        raise InputError("L", f"number of layers must be a positive integer, got {L!r}")
    if setting.n_is_symbolic:
        raise InputError("n", "training needs a numeric n")
    Si = np.linalg.inv(setting.Sigma)
    return Family(name=name, L=int(L), d=setting.d, Sigma_inv=(Si + Si.T) / 2)
