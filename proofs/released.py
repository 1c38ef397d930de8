"""What the authors' released code does, per claim: repository, commit, file and the convention or constant
it uses, transcribed as facts (read from the public repository; no code is copied).

A finding that a paper is wrong is read next to the authors' code. Where the code's convention differs from
the paper as printed, the claim also checks itself under the code's convention (steps in the ``released``
scope of its ``Checker``), and the report shows both verdicts side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RELEASED", "ReleasedCode", "released_code"]


@dataclass(frozen=True)
class ReleasedCode:
    repo: str  # "owner/name" of the public repository
    commit: str  # the commit read (40 hex digits)
    path: str  # file inside the repository
    fact: str  # the convention or constant the code uses, in one or two sentences
    differs: bool  # True where this differs from the paper as printed

    def to_dict(self) -> dict[str, object]:
        return {"repo": self.repo, "commit": self.commit, "path": self.path, "fact": self.fact,
                "differs": self.differs}


# The repositories and commits read (public GitHub snapshots).
_AHN = ("chengxiang/LinearTransformer", "b6ddc35f0f83e3f8f26e45548e94bac2adafdd50")  # README: code for arXiv 2306.00297
_VO = ("google-research/self-organising-systems", "3d5547ca48b60ecac459834e2c05c9ff5df87991")  # transformers_learn_icl_by_gd/
_FU = ("DeqingFu/transformers-icl-second-order", "c99333c5fabfb41f2d51891b4f321030d4174bb9")

_AHN_ATTENTION = ReleasedCode(
    *_AHN, "linear_transformer.py",
    "attention() keeps tokens as rows of Z (B x (N+1) x (d+1)) and scores Attn[n, m] = z_n^T Q_full z_m with n the "
    "token being updated (the query) and m the key, i.e. Z_query Q Z_key^T; token n receives (1/N) sum over the "
    "unmasked m of Attn[n, m] P_full z_m. That is the paper's P Z M (Z^T Q Z) with Q replaced by Q^T, so Q_code = -A "
    "implements w <- w - A grad R: Lemma 1 as printed, for any A.", differs=True)
_AHN_MODEL = ReleasedCode(
    *_AHN, "linear_transformer.py",
    "Transformer_F trains P_full = [[P, 0], [0, 1]] and Q_full = [[Q, 0], [0, 0]] (P, Q free d x d, one head), "
    "Z <- Z + attention(Z), prediction -[Z_L]_{d+1, n+1} (in_context_loss: mean((output[:, N, d] + y)^2), no 1/2); "
    "generate_data draws x = U D s, s ~ N(0, I) (Sigma = U D^2 U^T) and w = U D^-1 w0, w0 ~ N(0, I) "
    "(w ~ N(0, Sigma^-1)). Same model as the paper up to Q -> Q^T, immaterial for symmetric A_i = a_i Sigma^-1.",
    differs=False)
_AHN_ROTATION = ReleasedCode(
    *_AHN, "rotation demonstration-Adam.ipynb",
    "The non-isotropic runs: d = 5, N = 20, 3 layers, D = diag(1, 1, 1/2, 1/4, 1) with U from the SVD of a Gaussian "
    "matrix, so Sigma has eigenvalues 1, 1, 1/4, 1/16, 1; P trained freely (family (11)); the '-p0' notebook zeroes "
    "P's top-left block (family (8)).", differs=False)
_AHN_VARIABLE_L = ReleasedCode(
    *_AHN, "variable_L_exp.ipynb",
    "The GD and preconditioned-GD baselines of the log-loss vs layers/steps plot (variable-L-plot.pdf) use "
    "X = Z[0:N-1] with N = Z.shape[0] - 1 = 20: 19 of the 20 context points, while the transformer sees all 20; "
    "gradient X^T X w - X^T y (no 1/n) with eta from a grid, preconditioned GD on D^-1 U^T x.", differs=True)

_VO_DATA = ReleasedCode(
    *_VO, "transformers_learn_icl_by_gd/src/data.py",
    "create_reg_data draws x and x_query ~ U(-input_range/2, input_range/2)^d and w ~ N(0, w_scale^2 I), y = w^T x "
    "(noiseless); its docstring says x ~ U(-1, 1), as the paper does.", differs=True)
_VO_CONFIG = ReleasedCode(
    *_VO, "transformers_learn_icl_by_gd/src/config.py",
    "input_range = 1.0, input_size = 10, dataset_size = 10: x ~ U(-1/2, 1/2)^10, N = d = 10. The loss "
    "(src/train.py compute_loss) is 0.5 * sum (target - pred)^2 / batch: 1/2 MSE.", differs=True)
_VO_NOTEBOOK = ReleasedCode(
    *_VO, "transformers_learn_icl_by_gd/constructed_token_setup.ipynb",
    "The 'Test on larger inputs' plot labels its axis 'alpha where x ~ U(-alpha, alpha)', but src/train.py ood() "
    "passes alpha as input_range to create_reg_data, which draws x ~ U(-alpha/2, alpha/2): the label is off by a "
    "factor 2.", differs=True)

_FU_NEWTON = ReleasedCode(
    *_FU, "src/models.py",
    "LeastSquaresModelNewtonMethod.newton_inv(A), called with A = X^T X (unnormalised), sets alpha = "
    "1/torch.linalg.norm(A A^T) (Frobenius, torch's default), M_0 = alpha A^T and M <- M (2I - A M) "
    "(= 2M - M A M) for n_newton_steps (default 3); w = M X^T y. The paper prints alpha = 2/||S S^T||_2, the "
    "convergence boundary; the code's alpha is inside (0, 2/lambda_max^2).", differs=True)

# claim key -> the released-code facts that bear on it
RELEASED: dict[str, tuple[ReleasedCode, ...]] = {
    "ahn2023.lemma1": (_AHN_ATTENTION,),
    "ahn2023.thm3": (_AHN_MODEL, _AHN_ATTENTION),
    "ahn2023.thm4": (_AHN_MODEL, _AHN_ROTATION),
    "ahn2023.fig2": (_AHN_MODEL, _AHN_ROTATION, _AHN_VARIABLE_L),
    "ahn2023.fig4": (_AHN_MODEL, _AHN_ROTATION),
    "vonoswald2023.setup": (_VO_DATA, _VO_CONFIG, _VO_NOTEBOOK),
    "fu2023.eq5": (_FU_NEWTON,),
    "fu2023.rates": (_FU_NEWTON,),
}


def released_code(key: str) -> tuple[ReleasedCode, ...]:
    return RELEASED.get(key, ())
