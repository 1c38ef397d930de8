"""cli/render.emit, the one renderer: the JSON envelope, --out (the arrays written, the JSON keys they replace,
where ``out`` goes), the note on big JSON, the text formats and binary_out."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from iclcheck.cli.render import Body, Labelled, emit
from iclcheck.theory.errors import InputError


@dataclass
class Fake:
    matrix: Any
    OUT_REPLACES: ClassVar[tuple[str, ...]] = ("matrix",)

    def to_dict(self) -> dict[str, Any]:
        return {"matrix": self.matrix, "label": "x", "value": np.float64(1.5), "tail": [1, 2]}

    def out_arrays(self, npy: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.matrix is None:
            raise InputError("out", "nothing to write")
        return {"matrix": self.matrix}, {} if npy else {"value": 1.5}


def args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"format": "json", "out": None, **kw})


def test_json_is_the_envelope_around_to_dict(capsys):
    assert emit("demo", Fake(np.eye(2)), args()) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc)[:4] == ["schema", "iclcheck_version", "command", "setting"]
    assert doc["command"] == "demo" and doc["setting"] is None
    assert doc["matrix"] == [[1.0, 0.0], [0.0, 1.0]] and doc["value"] == 1.5


def test_out_writes_the_arrays_and_replaces_their_json_keys(tmp_path, capsys):
    f = tmp_path / "m.npz"
    emit("demo", Fake(np.arange(4.0).reshape(2, 2)), args(out=str(f)), out_after="label")
    doc = json.loads(capsys.readouterr().out)
    assert doc["matrix"] is None and doc["value"] == 1.5  # the scalar written too stays in the JSON
    keys = list(doc)
    assert keys[keys.index("label") + 1] == "out" and doc["out"]["arrays"] == {"matrix": [2, 2], "value": []}
    with np.load(f) as z:
        np.testing.assert_array_equal(z["matrix"], np.arange(4.0).reshape(2, 2))


def test_out_without_out_after_goes_last(tmp_path, capsys):
    emit("demo", Fake(np.eye(2)), args(out=str(tmp_path / "m.npy")))
    assert list(json.loads(capsys.readouterr().out))[-1] == "out"


def test_a_result_with_nothing_to_write_names_the_flag(tmp_path):
    with pytest.raises(InputError) as exc:
        emit("demo", Fake(None), args(out=str(tmp_path / "m.npy")))
    assert exc.value.what == "--out" and exc.value.problem == "nothing to write"


def test_binary_out_false_leaves_out_to_the_command(tmp_path, capsys):
    emit("demo", Fake(np.eye(2)), args(out=str(tmp_path)), binary_out=False)
    assert "out" not in json.loads(capsys.readouterr().out) and list(tmp_path.iterdir()) == []


def test_big_json_note_counts_matrices_not_scalars(capsys):
    emit("demo", Fake(np.zeros((1001, 1000))), args())
    err = capsys.readouterr().err
    assert "carries 1001000 matrix entries" in err  # the numpy scalar "value" is not counted
    emit("demo", Fake(np.zeros((10, 10))), args())
    assert capsys.readouterr().err == ""


def test_text_formats_print_their_lines(capsys):
    seen = []

    def table(result, a, written):
        seen.append(written)
        return ["one", "two"]

    emit("demo", Body({"k": 1}, result="r"), args(format="table"), text=table,
         latex=lambda r, a, w: [r"\alpha"])
    assert capsys.readouterr().out == "one\ntwo\n" and seen == [None]
    emit("demo", Body({"k": 1}), args(format="latex"), text=table, latex=lambda r, a, w: [r"\alpha"])
    assert capsys.readouterr().out == "\\alpha\n"


def test_labelled_puts_the_labels_around_the_result(capsys):
    emit("demo", Labelled(Body({"b": 2}), before={"a": 1}, after={"c": 3}), args(), indent=True)
    out = capsys.readouterr().out
    assert out.startswith("{\n") and list(json.loads(out))[-3:] == ["a", "b", "c"]
