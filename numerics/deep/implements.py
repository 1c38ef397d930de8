"""What a deep linear-attention model implements, layer by layer (Fu et al.'s question: GD, GD++ or Newton, and how
many steps per layer?).

For each layer of a model (any convention mapped by ``numerics.weights``: stacked canonical P_l, Q_l with its
readout sign and mask):

1. its matrices in the whitened frame: tokens z = D z~, D = diag(Sigma^{1/2}, 1), so P~ = D^-1 P D, Q~ = D Q D (the
   loss and every prediction are unchanged; w~ = Sigma^{1/2} w);
2. the nearest point of the condition-(8) family (P~ = c [[0, 0], [0, 1]], Q~ = -(1/c) [[A~, 0], [0, 0]]) and of the
   (11) family (P~ = c [[B~, 0], [0, 1]], same Q~): the layer is read at c = P~[d+1, d+1] as (P~ / c, c Q~) (the same
   layer); A~ = -c Q~[:d, :d], B~ = P~[:d, :d] / c; the scalar fit a = tr(A~)/d, b = tr(B~)/d (A = a Sigma^-1,
   B = b I in the original frame), with relative residuals ||A~ - a I||_F / ||A~||_F and ||B~ - b I||_F / ||a I||_F;
   ``off_pattern`` = the share of ||(P~ / c, c Q~)||_F outside the (11) pattern (outside (8): B~ included);
3. for the whole model, the prediction residual of each family: E (pred_model - pred_family)^2 / E y_q^2 on the
   matching prompts, with the family model at the fitted scalars (a_l, b_l); the family is named when it is below
   ``FAMILY_TOL`` (the (8) family first, as (8) is inside (11));
4. layer by layer, the model's intermediate prediction sign * [Z_l]_{d+1,n+1} (l = 1..L) against k = 1..K steps of
   - GD: w <- w - eta grad R(w), constant eta fitted;
   - preconditioned GD: w <- w - a Sigma^-1 grad R(w), constant a fitted;
   - GD++: the (11) layer with constant (a, b) (von Oswald et al.'s data transform x <- (I - a b S Sigma^-1) x with
     a preconditioned GD step), both fitted;
   - Iterative Newton (Fu et al. eq. 5; M_0 = alpha S, alpha = 1 / ||S S^T||_F, the authors' code rule; no fitted
     parameter): w_k = M_k X^T y,
   all from 0, on the same prompts (GD, preconditioned GD and GD++ run as the canonical model with those weights,
   which equals the algorithm exactly - tested against ``numerics.algorithms.reference``). The match error of (algorithm, k)
   is E (pred_l - alg_k)^2 / E y_q^2 (E y_q^2 = tr(Sigma Sigma_w) exactly); parameters and the best k are chosen on
   one half of the prompts and the error is estimated on the other half (99.9% CLT interval, clipped at 0, with the
   heavy-tail flag of ``numerics.model.montecarlo``). The best algorithm of a layer: the lowest held-out error, or among
   the algorithms tied with it (a paired sign test on the per-prompt errors: not worse on significantly more than
   half of the prompts) the one with fewest fitted parameters. A model of the (8) / (11) family is read exactly:
   its layer l is l steps of preconditioned GD / GD++ with the layer coefficients a_0..a_{l-1} (b_0..b_{l-1}) -
   ``exact_reading``.

Prompts: Gaussian covariates draw the context Gram from its Wishart law given w (``numerics.deep.conditioned.context_gram``); other
laws draw the n tokens. All the algorithms above depend on the prompt only through its Gram and x_q.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from iclcheck.numerics.deep.conditioned import as_stack, context_gram, gram_forward
from iclcheck.numerics.linalg import sqrtm_psd
from iclcheck.numerics.model.forward import standardized
from iclcheck.numerics.model.montecarlo import MCEstimate, estimate_from_values
from iclcheck.theory.errors import InputError
from iclcheck.theory.setting import Setting

__all__ = ["ALGORITHMS", "DEFAULT_MAX_STEPS", "DEFAULT_PROMPTS", "FAMILY_TOL", "Implements", "LayerFit", "Match",
           "family_fit", "implements"]

ALGORITHMS = ("gd", "pgd", "gdpp", "newton")
ALGORITHM_NAMES = {"gd": "GD", "pgd": "preconditioned GD", "gdpp": "GD++", "newton": "Iterative Newton"}
DEFAULT_PROMPTS = 20_000  # half to fit, half to measure
DEFAULT_MAX_STEPS = 12
FAMILY_TOL = 0.01  # prediction residual (relative to E y_q^2) under which a model is read as a family member
MAX_LAYERS = 64
FIT_PROMPTS = 4000


@dataclass(frozen=True)
class LayerFit:
    """One layer in the whitened frame and its nearest (8) / (11) family point (module docstring, item 2)."""

    layer: int
    P_whitened: np.ndarray
    Q_whitened: np.ndarray
    c: float  # P~[d+1, d+1]: the layer read as (P~ / c, c Q~)
    A: np.ndarray  # A~ = -c Q~[:d, :d]
    B: np.ndarray  # B~ = P~[:d, :d] / c
    a: float
    b: float
    residual_A: float  # ||A~ - a I|| / ||A~||
    residual_B: float  # ||B~ - b I|| / ||a I|| (B~ relative to the layer's step)
    off_pattern_11: float
    off_pattern_8: float

    def to_dict(self) -> dict:
        return {"layer": self.layer, "c": self.c, "a": self.a, "b": self.b, "residual_A": self.residual_A,
                "residual_B": self.residual_B, "off_pattern_11": self.off_pattern_11,
                "off_pattern_8": self.off_pattern_8, "A_whitened": self.A.tolist(), "B_whitened": self.B.tolist(),
                "P_whitened": self.P_whitened.tolist(), "Q_whitened": self.Q_whitened.tolist()}


@dataclass(frozen=True)
class Match:
    """Layer ``layer`` (1..L, the prediction after that many layers) against ``k`` steps of ``algorithm``."""

    layer: int
    algorithm: str
    k: int
    params: dict
    error: MCEstimate  # held-out E (pred_l - alg_k)^2 / E y_q^2

    def to_dict(self) -> dict:
        e = self.error
        return {"layer": self.layer, "algorithm": self.algorithm, "k": self.k, "params": self.params,
                "error": e.mean, "interval": list(e.ci), "level": e.level, "prompts": e.n_samples,
                "heavy_tail": e.heavy_tail}


@dataclass(frozen=True)
class Implements:
    """The reading of a deep model (module docstring): ``layers`` (LayerFit), ``family`` ('8', '11' or None),
    ``family_residual`` {'8': r8, '11': r11}, ``best`` (per layer: among the algorithm with the lowest held-out
    error and those tied with it - not worse on significantly more than half of the prompts, a paired 99.9% sign
    test that heavy tails do not upset - the one with fewest fitted parameters), ``ties`` (per layer, the other tied
    algorithms), ``matches`` (every algorithm's best k per layer), ``exact_reading``."""

    L: int
    readout_sign: int
    mask: bool
    layers: list[LayerFit]
    family: str | None
    family_residual: dict
    best: list[Match]
    matches: list[Match]
    ties: list[list[str]] = field(default_factory=list)  # per layer: algorithms tied with the best (paired test)
    exact_reading: str = ""
    prompts: int = 0
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def a(self) -> list[float]:
        return [f.a for f in self.layers]

    @property
    def b(self) -> list[float]:
        return [f.b for f in self.layers]

    def to_dict(self) -> dict:
        return {"L": self.L, "readout_sign": self.readout_sign, "mask": self.mask, "family": self.family,
                "family_residual": self.family_residual, "a": self.a, "b": self.b,
                "layers": [f.to_dict() for f in self.layers], "best": [m.to_dict() for m in self.best],
                "matches": [m.to_dict() for m in self.matches], "ties": self.ties, "exact_reading": self.exact_reading,
                "prompts": self.prompts, "seed": self.seed, "notes": list(self.notes)}


def _fit_layer(l: int, P: np.ndarray, Q: np.ndarray, Sh: np.ndarray, Shi: np.ndarray) -> LayerFit:
    d = Sh.shape[0]
    D, Di = np.eye(d + 1), np.eye(d + 1)
    D[:d, :d], Di[:d, :d] = Sh, Shi
    Pw, Qw = Di @ P @ D, D @ Q @ D  # (D, D) whitened frame
    c = float(Pw[d, d])
    if c == 0.0:
        nan = float("nan")
        return LayerFit(l, Pw, Qw, 0.0, np.full((d, d), nan), np.full((d, d), nan), nan, nan, nan, nan, 1.0, 1.0)
    Pn, Qn = Pw / c, Qw * c  # the same layer
    A, B = -Qn[:d, :d], Pn[:d, :d]
    a, b = float(np.trace(A) / d), float(np.trace(B) / d)
    I = np.eye(d)
    nA = float(np.linalg.norm(A))
    res_A = float(np.linalg.norm(A - a * I) / nA) if nA else 0.0
    res_B = float(np.linalg.norm(B - b * I) / (abs(a) * np.sqrt(d))) if a else float("inf")
    out11 = np.ones((d + 1, d + 1), bool)
    out11[:d, :d] = False
    out11[d, d] = False
    outQ = np.ones((d + 1, d + 1), bool)
    outQ[:d, :d] = False
    tot = float(np.sqrt(np.sum(Pn**2) + np.sum(Qn**2)))
    off11 = float(np.sqrt(np.sum(Pn[out11] ** 2) + np.sum(Qn[outQ] ** 2)) / tot)
    off8 = float(np.sqrt(np.sum(Pn[out11] ** 2) + np.sum(B**2) + np.sum(Qn[outQ] ** 2)) / tot)
    return LayerFit(l, Pw, Qw, c, A, B, a, b, res_A, res_B, off11, off8)


def family_fit(setting: Setting, Ps: np.ndarray, Qs: np.ndarray):
    """(a, b, Ps_family, Qs_family): the scalar (11) fit of every layer and the canonical family model at it
    (b_{L-1} set to 0: it does not reach the output); None when a layer has P~[d+1, d+1] = 0."""
    Sh = sqrtm_psd(setting.Sigma)
    Shi = np.linalg.inv(Sh)
    fits = [_fit_layer(l, Ps[l], Qs[l], Sh, Shi) for l in range(Ps.shape[0])]
    if not all(np.isfinite(f.a) and np.isfinite(f.b) for f in fits):
        return None
    a = [f.a for f in fits]
    b = [f.b for f in fits[:-1]] + [0.0]
    return (a, b, *_family_weights(setting.Sigma, a, b))


def _family_weights(Sigma: np.ndarray, a, b) -> tuple[np.ndarray, np.ndarray]:
    """Canonical stacked (Ps, Qs) of the (11) family at A_l = a_l Sigma^-1, B_l = b_l I ((8): b = 0)."""
    d = Sigma.shape[0]
    Si = np.linalg.inv(Sigma)
    Si = (Si + Si.T) / 2
    L = len(a)
    Ps, Qs = np.zeros((L, d + 1, d + 1)), np.zeros((L, d + 1, d + 1))
    for l in range(L):
        Ps[l, d, d] = 1.0
        Ps[l, :d, :d] = b[l] * np.eye(d)
        Qs[l, :d, :d] = -a[l] * Si
    return Ps, Qs


@dataclass(frozen=True)
class _Prompts:
    G0: np.ndarray  # (B, D, D) context Gram
    xq: np.ndarray  # (B, d)
    w: np.ndarray  # (B, d)
    n: int

    @property
    def zq(self) -> np.ndarray:
        z = np.zeros((self.xq.shape[0], self.xq.shape[1] + 1))
        z[:, :-1] = self.xq
        return z

    def take(self, idx) -> _Prompts:
        return _Prompts(self.G0[idx], self.xq[idx], self.w[idx], self.n)


def _draw(setting: Setting, k: int, rng: np.random.Generator) -> _Prompts:
    d = setting.d
    w = rng.standard_normal((k, d)) @ np.linalg.cholesky(setting.Sigma_w).T  # (k, d)
    G0 = context_gram(setting, w, rng)  # (k, D, D)
    xq = standardized(setting.covariates, rng, (k, d)) @ sqrtm_psd(setting.Sigma)  # (k, d)
    return _Prompts(G0, xq, w, int(setting.n))


def _predictions(Ps, Qs, pr: _Prompts, *, sign: int, mask: bool) -> np.ndarray:
    """sign * [Z_l]_{d+1,n+1} for l = 1..L: (L, B)."""
    zq = pr.zq
    _, path = gram_forward(Ps, Qs, pr.G0, zq=None if mask else zq / np.sqrt(pr.n), keep=True)
    d = zq.shape[1] - 1
    return np.stack([sign * np.einsum("bj,bj->b", T[:, d, :], zq) for T in path])  # (L, B)


def _family_path(Sigma, a, b, pr: _Prompts, k: int) -> np.ndarray:
    """Predictions after 1..k canonical (11)-layers with constant (a, b): (k, B) (GD / PGD / GD++ from 0), through
    the literal layer maps (``gram_forward``); the fits use the spectral form ``_Spectral`` (equal, tested)."""
    Ps, Qs = _family_weights(Sigma, [a] * k, [b] * k)
    return _predictions(Ps, Qs, pr, sign=-1, mask=True)


@dataclass(frozen=True)
class _Spectral:
    """Per prompt, the eigenvalues lam (B, d) of M = W G_xx W and ab = (U^T W x_q) * (U^T W g) (B, d), g = G_xy:
    the (11) model with A = a W^2, B = b I predicts sum_m ab_m (1 - p(lam_m)) / lam_m, p the GD++ filter
    (``families.gdpp``); W = I gives plain GD, W = Sigma^-1/2 preconditioned GD and GD++; Newton uses W = I."""

    lam: np.ndarray
    ab: np.ndarray
    n: int

    @staticmethod
    def of(pr: _Prompts, W: np.ndarray) -> _Spectral:
        d = pr.xq.shape[1]
        M = W @ pr.G0[:, :d, :d] @ W  # (B, d, d)
        lam, U = np.linalg.eigh((M + M.transpose(0, 2, 1)) / 2)  # (B, d), (B, d, d)
        al = np.einsum("bim,ij,bj->bm", U, W, pr.xq)  # (B, d)
        be = np.einsum("bim,ij,bj->bm", U, W, pr.G0[:, :d, d])  # (B, d)
        return _Spectral(np.clip(lam, 0.0, None), al * be, pr.n)

    def filtered(self, one_minus_p_over_lam: np.ndarray) -> np.ndarray:
        return np.sum(self.ab * one_minus_p_over_lam, axis=1)  # (B,)

    def gdpp(self, a: float, b: float, k: int) -> np.ndarray:
        """Predictions after k layers of the (11) model with constant (a, b) ((8): b = 0), (B,)."""
        x = self.lam
        T = np.ones_like(x)
        p = np.ones_like(x)
        for _ in range(k):
            xT2 = x * T * T
            p = p * (1.0 - a * xT2)
            T = (1.0 - a * b * xT2) * T
        safe = np.where(x > 0, x, 1.0)
        return self.filtered(np.where(x > 0, (1.0 - p) / safe, 0.0))

    def newton(self, k: int) -> np.ndarray:
        """Iterative Newton predictions x_q^T M_j X^T y, j = 1..k (Fu et al.; alpha = 1/||S S^T||_F): (k, B)."""
        s = self.n * self.lam  # eigenvalues of S = X^T X
        alpha = 1.0 / np.sqrt(np.sum(s**4, axis=1, keepdims=True))  # (B, 1)
        m = alpha * s  # (B, d) eigenvalues of M_0 = alpha S
        out = []
        for _ in range(k):
            m = 2 * m - s * m * m
            out.append(self.filtered(self.n * m))  # x_q^T U m U^T (n g)
        return np.stack(out)


def _fit_constant(kind: str, sp: _Spectral, target: np.ndarray, K: int, scale: float, hi: float
                  ) -> list[tuple[dict, float]]:
    """Per k = 1..K the best constant parameters of ``kind`` on (target, prompts) and the mean squared error / scale."""

    def mse(p: np.ndarray) -> float:
        v = float(np.mean((p - target) ** 2))
        return v if np.isfinite(v) else 1e300

    out: list[tuple[dict, float]] = []
    for k in range(1, K + 1):
        r = optimize.minimize_scalar(lambda a, k=k: mse(sp.gdpp(a, 0.0, k)), bounds=(0.0, hi), method="bounded",
                                     options={"xatol": 1e-8 * hi})
        if kind in ("gd", "pgd"):
            out.append(({"eta" if kind == "gd" else "a": float(r.x)}, r.fun / scale))
            continue
        best = None  # gdpp: (a, b), Nelder-Mead from the best (8) step with b = 0 and from the previous k's point
        starts = [np.array([r.x, 0.0])] + ([np.array([out[-1][0]["a"], out[-1][0]["b"]])] if out else [])
        def gdpp_mse(th: np.ndarray, k: int = k) -> float:  # (a def: mypy cannot match the lambda to scipy-stubs)
            return mse(sp.gdpp(th[0], th[1], k))

        for th0 in starts:
            res = optimize.minimize(gdpp_mse, th0, method="Nelder-Mead",
                                    options={"xatol": 1e-7, "fatol": 1e-14 * scale, "maxiter": 300})
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None  # starts holds at least the (8) step's point
        out.append(({"a": float(best.x[0]), "b": float(best.x[1])}, best.fun / scale))
    return out


SIGN_Z = 3.29  # two-sided 99.9% normal quantile of the paired sign test


def _worse(e: np.ndarray, ref: np.ndarray) -> bool:
    """True when per-prompt errors e lose to ref on significantly more than half of the prompts (sign test)."""
    ok = np.isfinite(e) & np.isfinite(ref) & (e != ref)
    N = int(ok.sum())
    if N == 0:
        return False
    wins = int(np.sum(e[ok] < ref[ok]))
    return (wins - N / 2) / np.sqrt(N / 4) < -SIGN_Z


def _alg_pred(kind: str, sps: dict, params: dict, k: int) -> np.ndarray:
    if kind == "gd":
        return sps["plain"].gdpp(params["eta"], 0.0, k)
    if kind == "pgd":
        return sps["white"].gdpp(params["a"], 0.0, k)
    if kind == "gdpp":
        return sps["white"].gdpp(params["a"], params["b"], k)
    return sps["plain"].newton(k)[-1]


def implements(setting: Setting, Ps, Qs, *, readout_sign: int = -1, mask: bool = True,
               prompts: int = DEFAULT_PROMPTS, max_steps: int = DEFAULT_MAX_STEPS, seed: int = 0,
               algorithms: tuple[str, ...] = ALGORITHMS, level: float = 0.999,
               progress: Callable[[int, int], None] | None = None) -> Implements:
    """Read an L-layer model at stacked canonical (Ps, Qs) (module docstring). ``progress(done, total)`` after each
    (layer, algorithm) match, total = L x len(algorithms); it changes nothing computed."""
    if setting.n_is_symbolic:
        raise InputError("n", "reading a model needs a numeric n")
    d = setting.d
    Ps, Qs = as_stack(Ps, d, "P"), as_stack(Qs, d, "Q")
    if Ps.shape != Qs.shape:
        raise InputError("Q", f"needs one Q per P: P has shape {Ps.shape}, Q {Qs.shape}")
    L = Ps.shape[0]
    if L > MAX_LAYERS:
        raise InputError("L", f"at most {MAX_LAYERS} layers, got {L}")
    if readout_sign not in (-1, 1):
        raise InputError("readout_sign", f"must be -1 or +1, got {readout_sign!r}")
    for what, v, lo, hi in (("prompts", prompts, 200, 2_000_000), ("max_steps", max_steps, 1, 64)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise InputError(what, f"must be an integer in [{lo}, {hi}], got {v!r}")
    bad = [a for a in algorithms if a not in ALGORITHMS]
    if bad:
        raise InputError("algorithms", f"unknown {bad}; choose from {', '.join(ALGORITHMS)}")
    Sh = sqrtm_psd(setting.Sigma)
    Shi = np.linalg.inv(Sh)
    fits = [_fit_layer(l, Ps[l], Qs[l], Sh, Shi) for l in range(L)]
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pr = _draw(setting, prompts, rng)
        half = prompts // 2
        fit_pr, ev_pr = pr.take(slice(0, half)), pr.take(slice(half, None))
        scale = float(np.trace(setting.Sigma @ setting.Sigma_w))  # E y_q^2 (noise-free target)
        preds_fit = _predictions(Ps, Qs, fit_pr, sign=readout_sign, mask=mask)  # (L, B/2)
        preds_ev = _predictions(Ps, Qs, ev_pr, sign=readout_sign, mask=mask)
        notes = []
        # family residuals at the fitted scalars (model's own readout and mask)
        fam_res = {}
        ok = all(np.isfinite(f.a) for f in fits)
        for name in ("8", "11"):
            if not ok:
                fam_res[name] = float("nan")
                continue
            bs = [0.0] * L if name == "8" else [f.b for f in fits]
            Pf, Qf = _family_weights(setting.Sigma, [f.a for f in fits], bs)
            pf = _predictions(Pf, Qf, ev_pr, sign=readout_sign, mask=mask)[-1]
            fam_res[name] = float(np.mean((pf - preds_ev[-1]) ** 2) / scale)
        family = "8" if fam_res["8"] <= FAMILY_TOL else "11" if fam_res["11"] <= FAMILY_TOL else None
        exact = ""
        if family is not None:
            # every layer A = a Sigma^-1 and nothing outside the (11) pattern; B = b I (family (11)) or 0 (8) in
            # every layer but the last (its B does not reach the output)
            tight = (readout_sign == -1 and mask
                     and all(f.residual_A < 1e-9 and f.off_pattern_11 < 1e-12 for f in fits)
                     and all(abs(f.b) < 1e-12 and f.residual_B < 1e-9 if family == "8" else f.residual_B < 1e-9
                             for f in fits[:-1]))
            if tight:
                alg = "preconditioned GD (Gamma_t = a_t Sigma^-1)" if family == "8" else \
                    "GD++ (Gamma_t = a_t Sigma^-1, data transform b_t)"
                exact = (f"exact: layer l computes l steps of {alg} from 0 with the layer coefficients "
                         f"a = {_fmt([f.a for f in fits])}" + ("" if family == "8" else
                                                               f", b = {_fmt([f.b for f in fits])}"))
        Shi2 = np.linalg.inv(sqrtm_psd(setting.Sigma))
        sub = fit_pr.take(slice(0, FIT_PROMPTS))  # the parameters are fitted on at most FIT_PROMPTS prompts
        sp_fit = {"plain": _Spectral.of(sub, np.eye(d)), "white": _Spectral.of(sub, Shi2)}
        sp_ev = {"plain": _Spectral.of(ev_pr, np.eye(d)), "white": _Spectral.of(ev_pr, Shi2)}
        lam_max = float(np.max(np.linalg.eigvalsh(setting.Sigma)))
        matches, best, ties = [], [], []
        for l in range(1, L + 1):
            tgt_fit, tgt_ev = preds_fit[l - 1, :FIT_PROMPTS], preds_ev[l - 1]
            per_alg, values = [], {}
            for kind in algorithms:
                if kind == "newton":
                    path = sp_fit["plain"].newton(max_steps)
                    cand: list[tuple[dict, float]] = [({}, float(np.mean((path[k - 1] - tgt_fit) ** 2) / scale))
                                                      for k in range(1, max_steps + 1)]
                else:
                    sp = sp_fit["plain" if kind == "gd" else "white"]
                    cand = _fit_constant(kind, sp, tgt_fit, max_steps, scale, 2.5 / lam_max if kind == "gd" else 2.5)
                errs = np.array([c[1] if np.isfinite(c[1]) else np.inf for c in cand])
                k = int(np.argmin(errs)) + 1
                params = cand[k - 1][0]
                ev = (_alg_pred(kind, sp_ev, params, k) - tgt_ev) ** 2 / scale
                est = estimate_from_values(ev, level=level, nonnegative=True)
                per_alg.append(Match(l, kind, k, params, est))
                values[kind] = ev
                if progress is not None:
                    progress((l - 1) * len(algorithms) + len(per_alg), L * len(algorithms))
            matches.extend(per_alg)
            finite = [m for m in per_alg if np.isfinite(m.error.mean)]
            if finite:
                low = min(finite, key=lambda m: m.error.mean)
                # tied with the lowest mean unless it loses on significantly more than half of the prompts (a
                # paired sign test: robust to the heavy tails these errors often have)
                tied = [m for m in finite if m is not low and not _worse(values[m.algorithm], values[low.algorithm])]
                # the one with fewest fitted parameters is named
                top = min([low, *tied], key=lambda m: (len(m.params), m.error.mean))
                best.append(top)
                ties.append([m.algorithm for m in [low, *tied] if m is not top])
        if not mask:
            notes.append("unmasked model: the query is a key; the algorithms are the masked ones")
    return Implements(L=L, readout_sign=readout_sign, mask=mask, layers=fits, family=family,
                      family_residual=fam_res, best=best, matches=matches, ties=ties, exact_reading=exact,
                      prompts=prompts,
                      seed=seed, notes=notes)


def _fmt(v) -> str:
    return "[" + ", ".join(f"{float(x):.4g}" for x in v) + "]"
