"""Monte Carlo estimates of population losses with confidence intervals (seeded, batched)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from iclcheck.numerics.forward import Prompts, predict, sample_prompts
from iclcheck.theory.setting import Setting

__all__ = ["MCEstimate", "mc_loss", "mc_mean"]


@dataclass(frozen=True)
class MCEstimate:
    """Sample mean, its standard error and a two-sided confidence interval at ``level``."""

    mean: float
    stderr: float
    n_samples: int
    level: float

    @property
    def halfwidth(self) -> float:
        return float(stats.norm.ppf(0.5 + self.level / 2) * self.stderr)

    @property
    def ci(self) -> tuple[float, float]:
        return (self.mean - self.halfwidth, self.mean + self.halfwidth)

    def contains(self, value: float) -> bool:
        lo, hi = self.ci
        return lo <= value <= hi


def mc_mean(
    sampler: Callable[[np.random.Generator, int], np.ndarray],
    *,
    samples: int,
    rng: np.random.Generator,
    batch: int = 20_000,
    level: float = 0.999,
) -> MCEstimate:
    """Mean of iid draws ``sampler(rng, k) -> (k,)`` with a CLT interval (running sums, bounded memory)."""
    total, total2, done = 0.0, 0.0, 0
    while done < samples:
        k = min(batch, samples - done)
        v = np.asarray(sampler(rng, k), dtype=float)
        total += float(v.sum())
        total2 += float((v * v).sum())
        done += k
    mean = total / done
    var = max(total2 / done - mean * mean, 0.0) * done / max(done - 1, 1)
    return MCEstimate(mean=mean, stderr=float(np.sqrt(var / done)), n_samples=done, level=level)


def mc_loss(
    setting: Setting,
    Ps,
    Qs,
    *,
    samples: int,
    rng: np.random.Generator,
    relu: bool = False,
    batch: int = 20_000,
    level: float = 0.999,
    target: Callable[[Prompts], np.ndarray] | None = None,
) -> MCEstimate:
    """E (TF(Z0) - y_q)^2 by the literal forward pass over fresh prompts (y_q = w^T x_q by default)."""

    def draw(r: np.random.Generator, k: int) -> np.ndarray:
        pr = sample_prompts(setting, k, r)
        yq = pr.yq if target is None else target(pr)
        return (predict(pr.Z0, Ps, Qs, relu=relu) - yq) ** 2

    return mc_mean(draw, samples=samples, rng=rng, batch=batch, level=level)
