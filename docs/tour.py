# The iclcheck Python API in five cells: the same code as docs/api.md, run as a test (tests/api/test_tour.py).
# Run it with `python docs/tour.py`; each cell starts with "# %%" (a notebook cell in VS Code / Jupytext).

# %% 1. Gamma* and L* for your own covariance
import numpy as np

import iclcheck

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 4))
Sigma = A @ A.T / 4 + np.eye(4)  # your covariance (any symmetric positive definite numpy array)
st = iclcheck.setting(Sigma, 20)  # n = 20 examples; w ~ N(0, I), no noise, Gaussian x
G = iclcheck.gamma_star(st)  # the optimal one-layer preconditioner
print(np.round(G, 3))
print("L* =", round(iclcheck.min_loss(st), 6))

# %% 2. The loss of your own (P, Q): one layer is exact
P = np.zeros((5, 5))
P[4, 4] = 1.0
Q = np.zeros((5, 5))
Q[:4, :4] = -0.8 * np.linalg.inv(Sigma)  # a guess: Gamma = 0.8 Sigma^-1
r = iclcheck.loss(st, P, Q)
print(r.exact, round(r.value, 6), "vs L* =", round(iclcheck.min_loss(st), 6))

# %% 3. Stacked layers: exact for the GD family, Monte Carlo with an interval otherwise
st_inv = iclcheck.setting(Sigma, 20, Sigma_w="inv")  # w ~ N(0, Sigma^-1), Ahn et al.'s prior
opt = iclcheck.optimal_layers(st_inv, 3)  # the certified condition-(8) optimum
Ps, Qs = np.zeros((3, 5, 5)), np.zeros((3, 5, 5))
Ps[:, 4, 4] = 1.0
Qs[:, :4, :4] = -opt.coefficients[:, None, None] * np.linalg.inv(Sigma)
r3 = iclcheck.loss(st_inv, Ps, Qs)
print(r3.exact, round(r3.value, 6), "=", round(opt.loss, 6))
noisy = iclcheck.loss(st_inv, Ps + 0.02 * rng.standard_normal(Ps.shape), Qs, samples=50_000, seed=1)
print(noisy.exact, noisy.method.split(" (")[0], [round(v, 3) for v in noisy.interval])

# %% 4. A published claim, at your setting where the claim can be moved
[res] = iclcheck.verify(["ahn2023.thm1"], setting=st)  # ahn2023.thm1 declares parameters ("Sigma", "n")
print(res.key, res.verdict, f"{len(res.steps)} steps")

# %% 5. Trained weights in the PyTorch layout (prediction +[Z]): named, and read wrongly
W = {"W_K": np.eye(5), "W_Q": Q, "W_V": -P}  # the model of cell 2 as a PyTorch layout stores it
ok = iclcheck.check_weights(W, st, convention="pytorch")
print(round(ok.loss.value, 6), ok.warnings)
wrong = iclcheck.check_weights({"P": W["W_V"], "Q": W["W_K"].T @ W["W_Q"]}, st)  # read as canonical
print(round(wrong.loss.value, 4), wrong.warnings[0].split(";")[0])
