"""Train an L-layer LSA in the PyTorch layout (attention W_V Z M (Z^T W_K^T W_Q Z) / n, prediction +[Z_L]_{d+1,n+1})
with minibatch Adam on fresh prompts, and write it as a state_dict-style .safetensors file (layers.l.k_proj.weight,
q_proj, v_proj; W_K = I, W_Q = Q, W_V = P). PyTorch itself is not needed: the model is numerics.model.lsa's with the
readout sign +1 (the canonical prediction -[Z_L] trained towards -y_q is +[Z_L] trained towards y_q).

    python scripts/train_pytorch_layout.py out.safetensors --d 3 -n 20 -L 3 --steps 1500
    iclcheck check-weights out.safetensors --convention pytorch --cov eye:3 --task-cov inv -n 20
"""

from __future__ import annotations

import argparse

import numpy as np


def train_pytorch_layout(setting, L: int, *, steps: int, batch: int = 512, lr: float = 0.01, seed: int = 0,
                         init_scale: float = 0.1):
    """(Ps, Qs) (L, d+1, d+1) of the PyTorch-layout model: P = W_V, Q = W_K^T W_Q, readout +1, trained by Adam."""
    from iclcheck.numerics.model.forward import sample_prompts
    from iclcheck.numerics.model.lsa import LSA, loss_and_grads

    rng = np.random.default_rng(seed)
    D = setting.d + 1
    th = init_scale * rng.standard_normal((2, L, D, D))
    m, v = np.zeros_like(th), np.zeros_like(th)
    model = LSA(L=L, reassociate=True)
    for t in range(1, steps + 1):
        pr = sample_prompts(setting, batch, rng)
        _, _, g = loss_and_grads(model, pr.Z0, -pr.yq, th[0], th[1])  # canonical -[Z] towards -y_q
        grad = np.stack([g["Ps"][:, 0], g["Qs"][:, 0]])
        nrm = float(np.linalg.norm(grad))
        if nrm > 1.0:
            grad = grad / nrm
        lr_t = lr * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * t / steps)))
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        th = th - lr_t * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return th[0], th[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--d", type=int, default=3)
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("-L", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from safetensors.numpy import save_file

    from iclcheck.theory.setting import Setting

    st = Setting.make(np.eye(args.d), args.n, Sigma_w="inv")
    Ps, Qs = train_pytorch_layout(st, args.L, steps=args.steps, seed=args.seed)
    arrays = {}
    for l in range(args.L):
        arrays[f"layers.{l}.k_proj.weight"] = np.eye(args.d + 1)
        arrays[f"layers.{l}.q_proj.weight"] = np.ascontiguousarray(Qs[l])
        arrays[f"layers.{l}.v_proj.weight"] = np.ascontiguousarray(Ps[l])
    save_file(arrays, args.out)
    print(f"wrote {args.out}: {args.L}-layer PyTorch-layout LSA (d = {args.d}, n = {args.n}, {args.steps} Adam steps)")


if __name__ == "__main__":
    main()
