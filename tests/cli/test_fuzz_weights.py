"""``iclcheck check-weights`` on hostile and unusual files, and the findings of issue 22 about it, as a table of exact
commands: every bad file exits 2 with one line on stderr and no traceback; bf16 / fp16 files are read (exactly);
a PyTorch-layout optimum stored transposed is named by the flip warning; a heavy-tailed loss gets no gap and no
percentage; the JSON carries the envelope of docs/json.md.

Safetensors files are written here by hand (8-byte little-endian header length, JSON header, little-endian data;
bfloat16 = the top 16 bits of a float32), independently of the reader under test."""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pytest

from iclcheck.cli import main

D = 4  # d = 3
BASE = ["--cov", "eye:3", "-n", "10"]


# ---------------------------------------------------------------------------------------------
# files written by hand
# ---------------------------------------------------------------------------------------------
def st_bytes(tensors: dict[str, tuple[str, tuple, bytes]], *, offsets: dict | None = None) -> bytes:
    """A safetensors file: name -> (dtype, shape, raw little-endian bytes); ``offsets`` overrides data_offsets."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": (offsets or {}).get(name, [len(data), len(data) + len(raw)])}
        data += raw
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h + data


def bf16(A) -> bytes:
    """bfloat16 bytes of float32 values (the top 16 bits; exact for the values used here)."""
    return (np.asarray(A, "<f4").view("<u4") >> 16).astype("<u2").tobytes()


def pq(c: float = 0.3125) -> tuple[np.ndarray, np.ndarray]:
    """P = e e^T, Q = -[[c I, 0], [0, 0]]: one layer of the (8) form, exact in bfloat16 for c = 0.3125 = 5/16."""
    P, Q = np.zeros((D, D)), np.zeros((D, D))
    P[D - 1, D - 1] = 1.0
    Q[: D - 1, : D - 1] = -c * np.eye(D - 1)
    return P, Q


def loss_gamma_cI(c: float, d: int = 3, n: int = 10) -> float:
    """Sigma = Sigma_w = I, Gaussian, Gamma = c I: L = c^2 tr(M) - 2 c d + d with M = (n+1)/n I + d/n I
    (the reduced one-layer loss tr(G^T S G M) - 2 tr(G^T S^2) + tr S written out at S = I)."""
    return c * c * d * ((n + 1) / n + d / n) - 2 * c * d + d


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)


def _npy_header(shape, descr="<f8") -> bytes:
    h = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h


def _write(name: str, data: bytes):
    def make(tmp):
        f = tmp / name
        f.write_bytes(data)
        return f
    return make


def _npz(name: str, **arrays):
    def make(tmp):
        f = tmp / name
        np.savez(f, **arrays)
        return f
    return make


def _fifo(tmp):
    f = tmp / "w.npz"
    os.mkfifo(f)
    return f


def _zip_members(name, members):
    def make(tmp):
        f = tmp / name
        _zip(f, members)
        return f
    return make


P0, Q0 = pq()
F32 = {"P": ("F32", (D, D), P0.astype("<f4").tobytes()), "Q": ("F32", (D, D), Q0.astype("<f4").tobytes())}

# (id, file builder, expected words in the one line on stderr)
BAD = [
    ("complex npz", _npz("c.npz", P=P0 + 0j, Q=Q0), "complex"),
    ("int npz", _npz("i.npz", P=P0.astype(np.int64), Q=Q0), "integer"),
    ("bool npz", _npz("b.npz", P=P0 > 0, Q=Q0), "boolean"),
    ("object npz", _npz("o.npz", P=np.array([object()], dtype=object), Q=Q0), "pickle"),
    ("complex safetensors", _write("c.safetensors", st_bytes({**F32, "P": ("C64", (D, D), (P0 + 0j).astype(
        "<c8").tobytes())})), "complex"),
    ("int safetensors", _write("i.safetensors", st_bytes({**F32, "P": ("I32", (D, D), P0.astype("<i4").tobytes())})),
     "integer"),
    ("bool safetensors", _write("b.safetensors", st_bytes({**F32, "P": ("BOOL", (D, D), (P0 > 0).tobytes())})),
     "boolean"),
    ("fp8 safetensors", _write("e.safetensors", st_bytes({**F32, "P": ("F8_E4M3", (D, D), bytes(D * D))})),
     "8-bit float"),
    ("unknown dtype safetensors", _write("u.safetensors", st_bytes({**F32, "P": ("X99", (D, D), bytes(D * D))})),
     "unknown"),
    ("safetensors offsets past the data", _write("o.safetensors", st_bytes(F32, offsets={"Q": [64, 10**6]})),
     "data_offsets"),
    ("safetensors size != shape", _write("s.safetensors", st_bytes({**F32, "P": ("F32", (D, D + 1),
                                                                              P0.astype("<f4").tobytes())})),
     "data_offsets"),
    ("safetensors header longer than the file", _write("h.safetensors", (10**9).to_bytes(8, "little") + b"{}"),
     "header"),
    ("safetensors header not JSON", _write("j.safetensors", (4).to_bytes(8, "little") + b"{abc" + bytes(8)),
     "not JSON"),
    ("safetensors entry without offsets", _write("n.safetensors", (lambda h: len(h).to_bytes(8, "little") + h)(
        json.dumps({"P": {"dtype": "F32", "shape": [D, D]}}).encode())), "data_offsets"),
    ("npz member claims 10^10 entries", _zip_members("big.npz", {"P.npy": _npy_header((100_000, 100_000)) + bytes(8),
                                                                  "Q.npy": _npy_header((D, D)) + bytes(8 * D * D)}),
     "truncated or padded"),
    ("npz member complex header", _zip_members("ch.npz", {"P.npy": _npy_header((D, D), "<c16") + bytes(16 * D * D),
                                                          "Q.npy": _npy_header((D, D)) + bytes(8 * D * D)}),
     "complex"),
    ("npz member not .npy", _zip_members("t.npz", {"P.npy": _npy_header((D, D)) + bytes(8 * D * D),
                                                   "notes.txt": b"hello"}), "not a .npy array"),
    ("npz member damaged header", _zip_members("dh.npz", {"P.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8", }),
     "damaged"),
    ("FIFO", _fifo, "FIFO"),
    ("directory", lambda tmp: tmp, "directory"),
]


def _cli(capsys, *argv):
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("name,make,words", BAD, ids=[b[0] for b in BAD])
def test_bad_weights_files_exit_2_with_one_line(tmp_path, capsys, name, make, words):
    f = make(tmp_path)
    rc, out, err = _cli(capsys, "check-weights", str(f), *BASE)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and out == ""
    assert words in err


def test_bf16_safetensors_is_read_exactly(tmp_path, capsys):
    """Issue 22.8: KeyError 'BF16' before. bfloat16 holds 5/16 exactly, so the loss is the float64 one."""
    f = tmp_path / "bf16.safetensors"
    f.write_bytes(st_bytes({"P": ("BF16", (D, D), bf16(P0)), "Q": ("BF16", (D, D), bf16(Q0))}))
    rc, out, err = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["loss"]["exact"] and res["loss"]["value"] == pytest.approx(loss_gamma_cI(0.3125), rel=1e-12)


def test_bf16_rounding_is_the_top_half_of_a_float32(tmp_path):
    """A value that bfloat16 cannot hold reads back as its float32 with the low 16 bits cleared."""
    from iclcheck.numerics.weights import read_arrays

    A = np.full((2, 2), 0.3)
    f = tmp_path / "r.safetensors"
    f.write_bytes(st_bytes({"A": ("BF16", (2, 2), bf16(A))}))
    got = read_arrays(f)[0]["A"]
    expected = float(np.frombuffer(int(np.float32(0.3).view(np.uint32) & 0xFFFF0000).to_bytes(4, "little"), "<f4")[0])
    assert got.dtype == np.float64 and np.all(got == expected) and expected != 0.3 and abs(expected - 0.3) < 2**-8


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_fp16_is_read_exactly(tmp_path, capsys, fmt):
    f = tmp_path / f"h.{fmt}"
    if fmt == "npz":
        np.savez(f, P=P0.astype(np.float16), Q=Q0.astype(np.float16))
    else:
        f.write_bytes(st_bytes({"P": ("F16", (D, D), P0.astype("<f2").tobytes()),
                                "Q": ("F16", (D, D), Q0.astype("<f2").tobytes())}))
    rc, out, err = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["loss"]["value"] == pytest.approx(loss_gamma_cI(0.3125), rel=1e-12)


def test_hand_written_safetensors_reader_agrees_with_the_library(tmp_path):
    """Another route: the safetensors library writes F64 / F32 / F16 files, the reader here reads them bit for bit."""
    from safetensors.numpy import save_file

    from iclcheck.numerics.weights import read_arrays

    rng = np.random.default_rng(0)
    arrs = {"a": rng.normal(size=(2, 3, 3)), "b": rng.normal(size=(5, 5)).astype(np.float32),
            "c": rng.normal(size=(4,)).astype(np.float16), "e": np.zeros((0, 3))}
    f = tmp_path / "lib.safetensors"
    save_file(arrs, str(f), metadata={"iclcheck": json.dumps({"k": 1})})
    got, meta = read_arrays(f)
    assert meta == {"k": 1} and set(got) == set(arrs)
    for k, A in arrs.items():
        assert got[k].dtype == np.float64 and got[k].shape == A.shape
        np.testing.assert_array_equal(got[k], A.astype(np.float64))


# ---------------------------------------------------------------------------------------------
# torch state_dicts (only where torch is installed)
# ---------------------------------------------------------------------------------------------
def _torch_cases():
    return [
        ("complex", lambda t: {"P": t.tensor(P0 + 0j), "Q": t.tensor(Q0)}, "complex"),
        ("sparse coo", lambda t: {"P": t.tensor(P0).to_sparse(), "Q": t.tensor(Q0)}, "sparse"),
        ("sparse csr", lambda t: {"P": t.tensor(P0).to_sparse_csr(), "Q": t.tensor(Q0)}, "sparse"),  # beta in torch
        ("int8", lambda t: {"P": t.tensor(P0).to(t.int8), "Q": t.tensor(Q0)}, "integer"),
        ("bool", lambda t: {"P": t.tensor(P0) > 0, "Q": t.tensor(Q0)}, "boolean"),
        ("not a state_dict", lambda t: [t.tensor(P0), t.tensor(Q0)], "state_dict"),
        ("meta tensor", lambda t: {"P": t.empty(D, D, device="meta"), "Q": t.tensor(Q0)}, "meta tensor"),
        ("nested dict", lambda t: {"layer": {"P": t.tensor(P0)}, "Q": t.tensor(Q0)}, "state_dict"),
    ]


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@pytest.mark.parametrize("case", range(8), ids=["complex", "sparse coo", "sparse csr", "int8", "bool", "list", "meta",
                                                 "nested"])
def test_bad_torch_files_exit_2_with_one_line(tmp_path, capsys, case):
    torch = pytest.importorskip("torch")
    name, build, words = _torch_cases()[case]
    f = tmp_path / "m.pt"
    torch.save(build(torch), f)
    rc, out, err = _cli(capsys, "check-weights", str(f), *BASE)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert words in err


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_low_precision_torch_files_are_read(tmp_path, capsys, dtype):
    torch = pytest.importorskip("torch")
    f = tmp_path / "m.pt"
    dt = getattr(torch, dtype)
    torch.save({"P": torch.tensor(P0).to(dt), "Q": torch.tensor(Q0).to(dt)}, f)
    rc, out, err = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    assert rc == 0, err
    assert json.loads(out)["loss"]["value"] == pytest.approx(loss_gamma_cI(0.3125), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# issue 22.9: weights stored transposed
# ---------------------------------------------------------------------------------------------
S_DIAG, N = (1.0, 2.0, 3.0), 10
DIAG = ["--cov", "diag:1,2,3", "-n", str(N)]


def transposed_case():
    """The one-layer optimum at diag(1,2,3), n = 10 in the PyTorch layout (nn.Linear.weight, output W z) with generic
    factors W_K = R, W_Q = R^-T Q (R = I + 0.5 G, G seeded Gaussian): W_K^T W_Q = Q, W_V = -P. Gamma* is written out
    (diagonal Sigma, Sigma_w = I: Gamma*_ii = 1 / ((n+1)/n s_i + tr(Sigma)/n)); returns (arrays, L*)."""
    a, b = (N + 1) / N, sum(S_DIAG) / N
    g = [1.0 / (a * s + b) for s in S_DIAG]
    L_star = sum(S_DIAG) - sum(s * s * gi for s, gi in zip(S_DIAG, g, strict=True))
    P, Q = np.zeros((4, 4)), np.zeros((4, 4))
    P[3, 3] = 1.0
    Q[:3, :3] = -np.diag(g)
    R = np.eye(4) + 0.5 * np.random.default_rng(1).normal(size=(4, 4))
    return {"W_K": R, "W_Q": np.linalg.solve(R.T, Q), "W_V": -P}, L_star


def pytorch_layout_mc(W: dict, samples: int, seed: int) -> tuple[float, float]:
    """(mean, stderr) of the squared error of the PyTorch-layout layer written out (k = W_K z, q = W_Q z, v = W_V z
    on column tokens, the query neither key nor value, prediction +[Z]_{d+1,n+1}) over fresh Gaussian prompts."""
    rng = np.random.default_rng(seed)
    d, s = 3, np.sqrt(np.array(S_DIAG))
    X = rng.normal(size=(samples, d, N + 1)) * s[None, :, None]  # x ~ N(0, diag(S))
    w = rng.normal(size=(samples, d))  # w ~ N(0, I)
    y = np.einsum("bd,bdn->bn", w, X)
    Z = np.concatenate([X, y[:, None, :]], axis=1)  # (B, 4, n+1)
    yq = y[:, N].copy()
    Z[:, d, N] = 0.0
    K, Qm, V = W["W_K"] @ Z, W["W_Q"] @ Z, W["W_V"] @ Z
    K[:, :, N] = 0.0
    V[:, :, N] = 0.0
    out = Z + V @ (K.transpose(0, 2, 1) @ Qm) / N
    e = (out[:, d, N] - yq) ** 2
    return float(e.mean()), float(e.std() / np.sqrt(samples))


def test_transposed_pytorch_weights_are_named_by_the_warning(tmp_path, capsys):
    W, L_star = transposed_case()
    f = tmp_path / "pt_T.npz"
    np.savez(f, **{k: v.T for k, v in W.items()})  # what code computing Z @ W on row tokens stores
    rc, out, err = _cli(capsys, "check-weights", str(f), "--convention", "pytorch", *DIAG, "--format", "json")
    assert rc == 0, err
    res = json.loads(out)
    # the transposed file read as pytorch is another model: its exact loss agrees with the Monte Carlo of the
    # PyTorch layout written out with the transposed arrays, and is several times the optimum
    mc, se = pytorch_layout_mc({k: v.T for k, v in W.items()}, 200_000, seed=5)
    assert abs(res["loss"]["value"] - mc) <= 4.5 * se
    assert res["loss"]["value"] > 3 * L_star
    flips = {f["flip"]: f["value"] for f in res["flips"]}
    assert flips["arrays transposed"] == pytest.approx(L_star, rel=1e-10)  # transposed back: the optimum
    assert len(res["warnings"]) == 1 and res["warnings"][0].startswith("arrays transposed")
    assert "nn.Linear.weight" in res["warnings"][0]
    rc, out, _ = _cli(capsys, "check-weights", str(f), "--convention", "pytorch", *DIAG)
    warn = [line for line in out.splitlines() if "WARNING" in line]
    assert len(warn) == 1 and f"much lower loss: {L_star:.4g} (exact)" in warn[0]


def test_the_same_model_in_the_right_layout_has_no_warning(tmp_path, capsys):
    W, L_star = transposed_case()
    f = tmp_path / "pt.npz"
    np.savez(f, **W)
    rc, out, err = _cli(capsys, "check-weights", str(f), "--convention", "pytorch", *DIAG, "--format", "json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["warnings"] == [] and res["loss"]["value"] == pytest.approx(L_star, rel=1e-10)
    mc, se = pytorch_layout_mc(W, 200_000, seed=6)
    assert abs(res["loss"]["value"] - mc) <= 4.5 * se


def test_symmetric_arrays_are_not_tried_transposed(tmp_path, capsys):
    """A variant equal to the model (the transpose of symmetric arrays) is not evaluated or listed."""
    f = tmp_path / "sym.npz"
    np.savez(f, P=P0, Q=Q0)
    rc, out, _ = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    names = [fl["flip"] for fl in json.loads(out)["flips"]]
    assert rc == 0 and "arrays transposed" not in names
    assert "Q -> Q^T" not in names  # Q0 is symmetric


def test_swapped_p_and_q_are_named(tmp_path, capsys):
    """P and Q stored under each other's names (canonical): read as they are, the prediction is 0 (P's last row
    is 0), so the loss is E y^2 = tr(Sigma) = 3; swapped back, Gamma = I/2: the warning names the swap."""
    f = tmp_path / "swap.npz"
    P, Q = pq(0.5)
    np.savez(f, P=Q, Q=P)
    rc, out, _ = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    res = json.loads(out)
    assert rc == 0 and res["loss"]["value"] == pytest.approx(3.0, rel=1e-12)
    assert res["warnings"] and res["warnings"][0].startswith("P and Q swapped")
    flips = {fl["flip"]: fl["value"] for fl in res["flips"]}
    assert flips["P and Q swapped"] == pytest.approx(loss_gamma_cI(0.5), rel=1e-12)


# ---------------------------------------------------------------------------------------------
# issue 22.11: no gap or percentage of a mean that is not estimable
# ---------------------------------------------------------------------------------------------
def heavy_three_layers(tmp_path):
    rng = np.random.default_rng(0)
    Ps, Qs = np.zeros((3, D, D)), np.zeros((3, D, D))
    for l in range(3):
        Ps[l, 3, 3] = 1.0
        Qs[l, :3, :3] = -(0.9 * np.eye(3) + 0.3 * rng.normal(size=(3, 3)))
    f = tmp_path / "heavy3.npz"
    np.savez(f, P=Ps, Q=Qs)
    return f


def test_heavy_tails_give_no_gap_and_no_percentage(tmp_path, capsys):
    f = heavy_three_layers(tmp_path)
    argv = ["check-weights", str(f), "--cov", "eye:3", "--task-cov", "inv", "-n", "10", "--samples", "20000"]
    rc, out, err = _cli(capsys, *argv)
    assert rc == 0, err
    assert "not estimable" in out
    gap = [line for line in out.splitlines() if line.strip().startswith("gap")]
    assert len(gap) == 1 and gap[0].strip().startswith("gap to the reference: not reported") and "median" in gap[0]
    assert re.search(r"(?<![0-9e])[+-]\d[\d.]*%?", gap[0]) is None  # no signed gap, no percentage
    rc, out, _ = _cli(capsys, *argv, "--format", "json")
    res = json.loads(out)
    assert res["loss"]["heavy_tail"] is True
    assert res["gap"] is None and "not estimable" in res["gap_note"] and res["flips"] == []
    assert f"median {res['loss']['median']:.4g}" in res["gap_note"]


def test_heavy_tails_at_the_issues_setting(tmp_path, capsys):
    """The issue's case: Ahn et al.'s d = 5 Sigma, n = 20, w ~ N(0, Sigma^-1), three layers (reference 0.1336, the
    condition-(8) optimum): the optimum with P perturbed (0.05 x a seeded Gaussian) has heavy-tailed squared errors
    and no estimable mean; the table printed "gap +x = +y%" right after saying so."""
    import iclcheck
    from iclcheck.numerics.families.gdpp import family_params
    from iclcheck.numerics.random_matrices import ahn_sigma

    Sigma = ahn_sigma(np.random.default_rng(0))
    np.save(tmp_path / "sigma.npy", Sigma)
    opt = iclcheck.optimal_layers(iclcheck.setting(Sigma, 20, Sigma_w="inv"), 3)
    Ps, Qs = (np.array(x) for x in family_params(Sigma, opt.coefficients))
    Ps = Ps + 0.05 * np.random.default_rng(1).standard_normal(Ps.shape)
    iclcheck.save_weights(tmp_path / "w.npz", Ps, Qs)
    rc, out, err = _cli(capsys, "check-weights", str(tmp_path / "w.npz"), "--cov", str(tmp_path / "sigma.npy"),
                        "--task-cov", "inv", "-n", "20", "--samples", "50000")
    assert rc == 0, err
    assert f"reference {opt.loss:.6g}" in out and "not estimable" in out
    gap = [line for line in out.splitlines() if line.strip().startswith("gap")]
    assert len(gap) == 1 and gap[0].strip().startswith("gap to the reference: not reported")
    assert re.search(r"(?<![0-9e])[+-]\d[\d.]*%?", gap[0]) is None


# ---------------------------------------------------------------------------------------------
# issue 22.10: the one JSON envelope
# ---------------------------------------------------------------------------------------------
def test_json_has_the_envelope_of_every_command(tmp_path, capsys):
    from iclcheck import __version__

    f = tmp_path / "w.npz"
    np.savez(f, P=P0, Q=Q0)
    rc, out, _ = _cli(capsys, "check-weights", str(f), *BASE, "--format", "json")
    o = json.loads(out)
    assert rc == 0 and list(o)[:4] == ["schema", "iclcheck_version", "command", "setting"]
    assert o["schema"] == 1 and o["iclcheck_version"] == __version__ and o["command"] == "check-weights"
    s = o["setting"]
    assert s["d"] == 3 and s["n"] == 10 and s["law"] == "gaussian" and s["Sigma"]["spec"] == "eye:3"
    assert s["Sigma_w"]["kind"] == "identity" and s["sigma2"] == 0.0
    assert s["covariates"] == "gaussian" and s["task_cov"] == "identity" and s["cov"] == "eye:3"  # the old keys
    # the same setting object as precond builds (the one helper)
    rc, out, _ = _cli(capsys, "precond", *BASE, "--format", "json")
    assert json.loads(out)["setting"] == s


def test_train_prints_no_gap_of_a_heavy_tailed_mean(capsys, monkeypatch):
    """The same rule in ``iclcheck train``: its paired gap estimate replaced by heavy-tailed draws (Pareto, tail
    index 0.8: no finite mean), the table says why and prints no percentage; the JSON gap is null."""
    import iclcheck.numerics.training as training
    from iclcheck.numerics.model.montecarlo import estimate_from_values

    draws = np.random.default_rng(0).pareto(0.8, size=20_000)
    heavy = estimate_from_values(draws, nonnegative=True)
    assert heavy.heavy_tail
    monkeypatch.setattr(training, "paired_gap", lambda *a, **k: (heavy, heavy))
    argv = ["train", "--cov", "eye:2", "--task-cov", "inv", "-n", "6", "-L", "2", "--steps", "2", "--batch", "8",
            "--samples", "200"]
    rc, out, err = _cli(capsys, *argv)
    assert rc == 0, err
    gap = [line for line in out.splitlines() if "gap to optimum" in line]
    assert len(gap) == 1 and gap[0].strip().startswith("gap to optimum: not reported")
    assert re.search(r"(?<![0-9e])[+-]\d[\d.]*%", gap[0]) is None  # no signed percentage (shares are unsigned)
    loss = [line for line in out.splitlines() if line.strip().startswith("loss")]
    assert "not estimable" in loss[0] and "CI [" not in loss[0]
    rc, out, _ = _cli(capsys, *argv, "--format", "json")
    o = json.loads(out)
    assert o["gap"] is None and o["relative_gap"] is None and "not estimable" in o["gap_note"]
