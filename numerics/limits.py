"""The size bounds of the numerical routines, in one import-free module.

The library checks them before any work; the CLI shows them in ``--help`` and checks them at parse time.
Both import them from here, so there is one value each and the CLI stays light (no numpy at start-up).
"""

# certificate (numerics.certificate)
MAX_CERT_DIM = 40  # = lift.MAX_LIFT_DIM; QP in the Kronecker eigenbasis (r d variables, diagonal): d = 20 in
#                   0.4 s, d = 40 in 1.5 s here (the former dense QP: d = 16 in 44 s)
MAX_EXACT_CERT_DIM = 10  # rational moments + exact LDL^T of P x P, P = 66 at d = 10: 11 s here (dense Sigma)
MAX_GAP_TOL = 0.1
QP_SOLVERS = ("CLARABEL", "SCS", "OSQP", "ECOS", "PIQP", "PROXQP", "CVXOPT", "HIGHS", "MOSEK", "GUROBI")

# critical-point search (numerics.critical)
MAX_CRITICAL_DIM = 50  # (d+1)^2 = 2601 parameters: one descent start ~2 s here at d = 50, ~1 s at d = 20
#                       (forward-mode HVPs, no dense Hessian above d = 10, one BLAS thread); memory < 0.1 GB
MAX_STARTS = 10_000
MAX_SEED = 2**63 - 1

# training (numerics.training); checked by ``check_budget``
MAX_LAYERS = 64  # the papers train L <= 12; deeper residual stacks amplify the minibatch gradient (d = 5, n = 20,
#                  L = 64, lr 0.1: loss ~3e5 after 30 steps; full: nan at step 1) and L = 10000 gave nan coefficients
MAX_STEPS = 1_000_000  # ~3 h at the Sec. 4.3 size (~0.01 s per step of 1024 prompts on one core)
MAX_BATCH = 1_000_000  # prompts per step; memory is bounded separately
MAX_MEMORY_BYTES = 2 * 2**30  # working set of one step (step_memory_bytes), 2 GiB

# restricted L-layer families (numerics.families.gd, numerics.families.gdpp; iclcheck layers)
MAX_GD_LAYERS = 20  # condition (8): L = 20 takes ~9 s (moments up to degree 42); beyond grows like partition numbers
MAX_GDPP_LAYERS = 3  # condition (11): the exact loss needs moments up to degree 80 at L = 4
MAX_GDPP_STARTS = 1_000  # multistart runs of the GD++ optimum: ~0.4 s each at d = 5, n = 20, L = 3 here (shared
#                          machine), so 1000 starts ~7 min; the default 24 finds the best minimum at that size

# stacked weights (numerics.deep.model_loss, numerics.weights.check; iclcheck check-weights, loss --params)
DEFAULT_SAMPLES = 200_000  # Monte Carlo prompts of a model's loss (numerics.deep.model_loss, the API's default)
MAX_MODEL_LAYERS = MAX_LAYERS  # the models iclcheck train writes; 64 zero layers check in ~30 s here (d = 2)

# compare (numerics.compare; iclcheck compare)
MAX_COMPARE_LAYERS = MAX_GD_LAYERS  # the exact condition-(8) optimum it compares against; -L 20 ~30 s here
MAX_COMPARE_N = 10_000  # context length
MAX_COMPARE_SAMPLES = 1_000_000  # test prompts
MAX_COMPARE_STEPS = 10_000  # GD / Newton iterations
MAX_COMPARE_BYTES = 2 * 2**30  # the prompts and per-step predictions held at once

# output paths and folders (numerics.files.write; iclcheck new-claim)
MAX_PATH_DEPTH = 256  # folders created for --dir / --tests-dir: deeper paths are refused before any is made
