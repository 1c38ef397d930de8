"""The hand-written backprop against central finite differences, the re-associated forward pass
against the literal one, and a tiny training run that lowers the loss."""

import numpy as np
import pytest

from iclcheck.numerics.model.forward import predict, sample_prompts
from iclcheck.numerics.training import dist_to_identity, family, forward_backward, train
from iclcheck.theory.setting import Setting

# (family, d, n, L, seed, rtol): central differences with h = 1e-6 have truncation error O(h^2 f''')
# and rounding error O(eps f / h) ~ 1e-10 relative; 1e-6 leaves four orders of margin on both.
CASES = [
    ("full", 2, 4, 1, 0, 1e-6),
    ("full", 3, 5, 3, 1, 1e-6),
    ("gd", 3, 6, 2, 2, 1e-6),
    ("gdpp", 2, 5, 3, 3, 1e-6),
    ("gdpp-scalar", 3, 4, 3, 4, 1e-6),
]


@pytest.mark.parametrize("name,d,n,L,seed,rtol", CASES)
def test_backprop_matches_finite_differences(name, d, n, L, seed, rtol):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    st = Setting.make(A @ A.T + np.eye(d), n, Sigma_w="inv")
    fam = family(name, st, L)
    th = fam.init(rng, scale=0.5)
    pr = sample_prompts(st, 9, rng)

    def f(t):
        Ps, Qs = fam.to_PQ(t)
        return forward_backward(Ps, Qs, pr.Z0, pr.yq, grad=False)[0]

    Ps, Qs = fam.to_PQ(th)
    _, _, dP, dQ = forward_backward(Ps, Qs, pr.Z0, pr.yq)
    g = fam.pullback(dP, dQ)
    h = 1e-6
    num = np.array([(f(th + h * e) - f(th - h * e)) / (2 * h) for e in np.eye(th.size)])
    np.testing.assert_allclose(g, num, rtol=rtol, atol=rtol * np.max(np.abs(num)))


def test_reassociated_forward_equals_literal_forward():
    rng = np.random.default_rng(7)
    st = Setting.make(np.diag([1.0, 2.0, 0.5]), 6)
    pr = sample_prompts(st, 11, rng)
    Ps = rng.standard_normal((3, 4, 4)) * 0.4
    Qs = rng.standard_normal((3, 4, 4)) * 0.4
    _, r, _, _ = forward_backward(Ps, Qs, pr.Z0, pr.yq, grad=False)
    np.testing.assert_allclose(r, predict(pr.Z0, list(Ps), list(Qs)) - pr.yq, rtol=1e-12, atol=1e-12)


def test_tiny_training_run_lowers_the_loss():
    st = Setting.make(np.eye(3), 8, Sigma_w="inv")
    res = train(st, 2, family_name="gd", steps=150, batch=256, lr=0.1, rng=np.random.default_rng(0))
    first, last = res.history[0][1], res.history[-1][1]
    assert last < 0.6 * first, (first, last)


def test_dist_to_identity():
    assert dist_to_identity(3.0 * np.eye(4)) == pytest.approx(0.0, abs=1e-15)
    M = np.diag([1.0, -1.0])  # alpha* = 0: the distance is the whole matrix
    assert dist_to_identity(M) == pytest.approx(1.0)


def test_summarize_reads_the_restricted_family_exactly():
    from iclcheck.numerics.families import family_params
    from iclcheck.numerics.training import TrainResult, summarize

    rng = np.random.default_rng(4)
    A = rng.standard_normal((3, 3))
    st = Setting.make(A @ A.T + np.eye(3), 7, Sigma_w="inv")
    Ps, Qs = family_params(st.Sigma, [0.4, 1.3], [0.7, 0.0])
    fam = family("gdpp", st, 2)
    info = summarize(TrainResult(family=fam, theta=np.zeros(fam.size), Ps=np.array(Ps), Qs=np.array(Qs)), st)
    np.testing.assert_allclose([e["a"] for e in info["layers"]], [0.4, 1.3], rtol=1e-12)
    np.testing.assert_allclose([e["b"] for e in info["layers"]], [0.7, 0.0], atol=1e-12)
    assert max(e["dist_A"] for e in info["layers"]) < 1e-12


def test_paired_gap_of_a_model_with_itself_is_zero():
    from iclcheck.numerics.training import paired_gap

    st = Setting.make(np.eye(2), 5)
    P = np.zeros((1, 3, 3))
    P[0, 2, 2] = 1.0
    Q = np.zeros((1, 3, 3))
    Q[0, :2, :2] = -0.5 * np.eye(2)
    la, gap = paired_gap(st, P, Q, P, Q, samples=2000, rng=np.random.default_rng(0))
    assert gap.mean == 0.0 and la.mean > 0


# ---------------------------------------------------------------------------------------------
# bounds and divergence (library), and how the train command reports them
# ---------------------------------------------------------------------------------------------
def test_sizes_beyond_the_bounds_are_refused_before_any_work(monkeypatch):
    from iclcheck.numerics import training
    from iclcheck.theory.errors import InputError

    def no_work(*a, **k):
        raise AssertionError("prompts were drawn before the size check")

    monkeypatch.setattr(training, "sample_prompts", no_work)
    st = Setting.make(np.eye(5), 20, Sigma_w="inv")
    rng = np.random.default_rng(0)
    for kw, what in ((dict(L=training.MAX_LAYERS + 1), "L"), (dict(L=2, steps=training.MAX_STEPS + 1), "steps"),
                     (dict(L=2, batch=training.MAX_BATCH + 1), "batch"), (dict(L=2, batch=900_000), "batch")):
        L = kw.pop("L")
        with pytest.raises(InputError) as exc:
            train(st, L, rng=rng, **kw)
        assert exc.value.what == what


def test_memory_estimate_counts_what_the_step_keeps():
    from iclcheck.numerics.training import step_memory_bytes

    # per prompt and layer the VJP keeps Z before and after attention (D x (n+1)) and K, T (D x D)
    d, n = 5, 20
    per_layer = step_memory_bytes(d, n, 3, 1) - step_memory_bytes(d, n, 2, 1)
    assert per_layer == 8 * (2 * 6 * 21 + 2 * 36)
    assert step_memory_bytes(d, n, 2, 1000) == 1000 * step_memory_bytes(d, n, 2, 1)


def test_a_diverging_run_is_a_numerical_failure():
    from iclcheck.theory.errors import NumericalFailure

    st = Setting.make(np.eye(3), 8, Sigma_w="inv")
    fam = family("gd", st, 2)
    with pytest.raises(NumericalFailure) as exc:  # A = 1e200: the forward pass overflows at step 1
        train(st, 2, steps=5, batch=16, rng=np.random.default_rng(0), theta0=np.full(fam.size, 1e200))
    assert "step 1 of 5" in exc.value.problem and "lr" in exc.value.hint and "--" not in str(exc.value)


def test_train_command_exit_codes_and_messages(capsys):
    from iclcheck.cli import main

    base = ["train", "--cov", "eye:5", "-n", "20"]
    assert main(base + ["-L", "10000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-L" in err and "64" in err
    assert main(base + ["-L", "2", "--steps", "1000000000"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert main(base + ["-L", "2", "--batch", "900000"]) == 2
    err = capsys.readouterr().err
    assert "--batch" in err and "GiB" in err
    assert main(base + ["-L", "64", "--family", "full", "--steps", "3", "--batch", "16", "--samples", "100"]) == 3
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "diverged at step 1" in cap.err
    assert "--lr" in cap.err and "-L" in cap.err


def test_train_command_bounds_are_the_library_bounds():
    from iclcheck.cli.commands import train as cmd
    from iclcheck.numerics import training

    assert (cmd.MAX_LAYERS, cmd.MAX_STEPS, cmd.MAX_BATCH) == (training.MAX_LAYERS, training.MAX_STEPS,
                                                             training.MAX_BATCH)
    assert cmd.MAX_MEMORY_GIB * 2**30 == training.MAX_MEMORY_BYTES
    assert "-L <= 64" in cmd.EPILOG and "1,000,000" in cmd.EPILOG and "2 GiB" in cmd.EPILOG
