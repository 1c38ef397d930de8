"""``iclcheck.save_weights`` / ``load_weights`` on bad arguments (issue 22.17): every case raises the project's
``InputError`` naming the argument (never a bare TypeError / ValueError), and complex P / Q are refused instead of
being cast to their real part."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sps

import iclcheck
from iclcheck.theory.errors import InputError

E3 = np.eye(3)

SAVE = [  # (id, positional args after the path, keyword args, the argument named, words)
    ("metadata a list", (E3, E3), {"metadata": [1, 2]}, "metadata", "must be a dict"),
    ("metadata a string", (E3, E3), {"metadata": "note"}, "metadata", "must be a dict"),
    ("metadata int keys", (E3, E3), {"metadata": {1: "a"}}, "metadata", "keys must be strings"),
    ("metadata NaN", (E3, E3), {"metadata": {"x": float("nan")}}, "metadata", "JSON"),
    ("P text", ("abc", E3), {}, "P", "dtype"),
    ("P ragged", ([[1.0, 2.0], [3.0]], E3), {}, "P", "not an array of numbers"),
    ("P None", (None, E3), {}, "P", "objects"),
    ("P sparse", (sps.eye(3, format="csr"), E3), {}, "P", "sparse"),
    ("Q sparse", (E3, sps.eye(3, format="coo")), {}, "Q", "sparse"),
    ("P complex", (E3 * (1 + 1j), E3), {}, "P", "complex"),
    ("Q complex", (E3, E3 + 0j), {}, "Q", "complex"),
    ("P boolean", (E3 > 0, E3), {}, "P", "boolean"),
    ("P not finite", (np.full((3, 3), np.nan), E3), {}, "P", "non-finite"),
    ("P 1-D", (np.ones(3), E3), {}, "P", "shape"),
    ("P not square", (np.ones((3, 2)), E3), {}, "P", "shape"),
    ("Q other shape", (E3, np.eye(4)), {}, "Q", "shape"),
]


@pytest.mark.parametrize("name,args,kw,what,words", SAVE, ids=[c[0] for c in SAVE])
def test_save_weights_bad_arguments_raise_input_error(tmp_path, name, args, kw, what, words):
    f = tmp_path / "w.npz"
    with pytest.raises(InputError) as e:
        iclcheck.save_weights(f, *args, **kw)
    assert e.value.what == what and words in e.value.problem and "\n" not in str(e.value)
    assert not f.exists()  # nothing written


@pytest.mark.parametrize("path,words", [(3, "file path"), (b"w.npz", "file path"), ("w.txt", "suffix"),
                                        ("/no/such/dir/w.npz", "cannot write")])
def test_save_weights_bad_paths(tmp_path, path, words):
    if isinstance(path, str) and not path.startswith("/"):
        path = str(tmp_path / path)
    with pytest.raises(InputError) as e:
        iclcheck.save_weights(path, E3, E3)
    assert e.value.what == "path" and words in e.value.problem


def test_save_weights_integers_are_written_as_floats_and_read_back(tmp_path):
    f = tmp_path / "w.safetensors"
    iclcheck.save_weights(f, np.eye(3, dtype=int), -np.eye(3, dtype=np.int32), metadata={"a": 1})
    w = iclcheck.load_weights(f)
    assert w.Ps.dtype == np.float64 and np.array_equal(w.Ps[0], E3) and np.array_equal(w.Qs[0], -E3)
    assert w.metadata == {"a": 1, "convention": "canonical"}


LOAD = [  # (id, first argument, keyword args, the argument named)
    ("convention a dict", {"P": E3, "Q": E3}, {"convention": {}}, "convention"),
    ("convention a list", {"P": E3, "Q": E3}, {"convention": ["pytorch"]}, "convention"),
    ("convention unknown", {"P": E3, "Q": E3}, {"convention": "keras"}, "convention"),
    ("n text", {"P": E3, "Q": E3}, {"n": "5"}, "n"),
    ("n zero", {"P": E3, "Q": E3}, {"n": 0}, "n"),
    ("n bool", {"P": E3, "Q": E3}, {"n": True}, "n"),
    ("setting a dict", {"P": E3, "Q": E3}, {"setting": {"d": 2}}, "setting"),
    ("int names", {0: E3, 1: E3}, {}, "weights"),
    ("a list", [E3, E3], {}, "weights"),
    ("complex array", {"P": E3 + 0j, "Q": E3}, {}, "array 'P'"),
    ("sparse array", {"P": sps.eye(3), "Q": E3}, {}, "array 'P'"),
    ("None array", {"P": None, "Q": E3}, {}, "array 'P'"),
]


@pytest.mark.parametrize("name,first,kw,what", LOAD, ids=[c[0] for c in LOAD])
def test_load_weights_bad_arguments_raise_input_error(name, first, kw, what):
    with pytest.raises(InputError) as e:
        iclcheck.load_weights(first, **kw)
    assert e.value.what == what and "\n" not in str(e.value)


def test_torch_tensors_in_a_dict_follow_the_same_rules():
    torch = pytest.importorskip("torch")
    w = iclcheck.load_weights({"P": torch.eye(3, dtype=torch.bfloat16), "Q": torch.eye(3)})
    assert w.Ps.dtype == np.float64 and np.array_equal(w.Ps[0], E3)
    for bad, words in [(torch.eye(3, dtype=torch.complex64), "complex"), (torch.eye(3).to_sparse(), "sparse"),
                       (torch.eye(3, dtype=torch.int8), "integer")]:
        with pytest.raises(InputError, match=words):
            iclcheck.load_weights({"P": bad, "Q": torch.eye(3)})
