"""Trained weights in and out: read an L-layer model from .npz, .safetensors or a PyTorch state_dict, map it from
its convention to the canonical model, and write learned (P, Q) with metadata.

Canonical model (notes/STATEMENTS.md section 0): Z_{l+1} = Z_l + (1/n) P_l Z_l M (Z_l^T Q_l Z_l), M = diag(I_n, 0),
prediction -[Z_L]_{d+1,n+1}. Each convention is an explicit map (``CONVENTIONS`` documents it; docs/weights.md):

- ``canonical``, ``ahn``: arrays P, Q per layer, used as they are (Ahn et al. 2023 is the canonical model).
- ``vonoswald``: per layer P, W_K, W_Q, W_V (their layer has no 1/N; prediction -1 x the query's y entry):
  P_can = N P W_V, Q_can = W_K^T W_Q (``theory.notation.vonoswald.to_canonical``), n = N.
- ``zhang``: per layer W_PV, W_KQ, y_hat = +[f(E)]_{d+1,N+1}, no query mask: P = W^PV, Q = -W^KQ
  (``theory.notation.zhang.to_canonical``). The missing mask is kept (``Weights.mask`` = False) unless L = 1 and
  W^PV[d+1, :d] = 0, where the query term vanishes and the model is exactly the canonical one.
- ``pytorch``: per layer W_K, W_Q, W_V, attention W_V Z M (Z^T W_K^T W_Q Z) / n (keys and values from the n context
  tokens), prediction +[Z_L]_{d+1,n+1}: P = W_V, Q = W_K^T W_Q, readout sign +1. For one layer the prediction is
  linear in P, so the model is exactly the canonical one at P = -W_V (``Weights`` then holds that); for L >= 2
  no canonical weights give the same function in general, so the readout sign +1 is kept.

Array names (``read_arrays``): stacked ``NAME`` of shape (L, D, D) (or (D, D) for one layer), or one array per
layer ``NAME0, NAME1, ...`` or ``layers.0.NAME`` (a trailing ``.weight`` is ignored; PyTorch aliases
``k_proj``/``key``, ``q_proj``/``query``, ``v_proj``/``value``). Nothing is ever unpickled: .npz is read with
``allow_pickle=False``, a .pt file only by ``torch.load(..., weights_only=True)`` (optional extra ``torch``).
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from iclcheck.theory.errors import InputError

__all__ = ["CONVENTIONS", "MAX_WEIGHTS_BYTES", "Weights", "load_weights", "read_arrays", "save_weights",
           "to_canonical"]

MAX_WEIGHTS_BYTES = 1 << 30
METADATA_KEY = "__metadata__"  # .npz: a 0-d unicode array holding JSON; .safetensors: the header metadata

# name -> (the arrays it reads per layer, the map to the canonical model)
CONVENTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "canonical": (("P", "Q"), "P, Q as given: Z + (1/n) P Z M (Z^T Q Z), prediction -[Z_L]_{d+1,n+1}"),
    "ahn": (("P", "Q"), "Ahn et al. 2023 is the canonical model: P, Q as given"),
    "vonoswald": (("P", "W_K", "W_Q", "W_V"), "von Oswald et al. 2023 (no 1/N, prediction -[Z]_{y,query}): "
                  "P_can = N P W_V, Q_can = W_K^T W_Q, n = N"),
    "zhang": (("W_PV", "W_KQ"), "Zhang, Frei, Bartlett 2024 (prediction +[f(E)]_{d+1,N+1}, no query mask): "
              "P = W^PV, Q = -W^KQ; unmasked unless L = 1 and W^PV[d+1,:d] = 0"),
    "pytorch": (("W_K", "W_Q", "W_V"), "attention W_V Z M (Z^T W_K^T W_Q Z)/n, prediction +[Z_L]_{d+1,n+1}: "
                "P = W_V, Q = W_K^T W_Q, readout +1 (one layer: exactly canonical at P = -W_V)"),
}
_ALIASES = {"k_proj": "W_K", "key": "W_K", "q_proj": "W_Q", "query": "W_Q", "v_proj": "W_V", "value": "W_V"}


@dataclass(frozen=True)
class Weights:
    """An L-layer model in canonical parameters: Ps, Qs (L, d+1, d+1) and the two switches the weights cannot
    absorb: ``readout_sign`` (-1 canonical, +1: prediction +[Z_L]) and ``mask`` (True canonical)."""

    Ps: np.ndarray
    Qs: np.ndarray
    convention: str
    readout_sign: int = -1
    mask: bool = True
    source: str = "arrays"
    metadata: dict = field(default_factory=dict)
    map: str = ""

    @property
    def L(self) -> int:
        return int(self.Ps.shape[0])

    @property
    def d(self) -> int:
        return int(self.Ps.shape[1]) - 1

    @property
    def canonical(self) -> bool:
        """True when (Ps, Qs) in the canonical model is exactly the model read."""
        return self.readout_sign == -1 and self.mask


# ---------------------------------------------------------------------------------------------
# reading files
# ---------------------------------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError("weights file", f"cannot read {path} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError("weights file", f"{path} is not a regular file")
    if st.st_size > MAX_WEIGHTS_BYTES:
        raise InputError("weights file", f"{path.name} is {st.st_size:,} bytes, more than the 1 GiB bound")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError("weights file", f"cannot read {path} ({exc.strerror or exc})") from None


def _npz(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise InputError("weights file", f"{name} holds pickled (object) arrays; iclcheck never unpickles: "
                             "save float arrays with numpy.savez") from None
        raise InputError("weights file", f"{name} is not a readable .npz archive ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, SyntaxError, TokenError, RecursionError) as exc:
        # (a member's .npy header is a Python literal read by tokenize / ast: TokenError, SyntaxError)
        raise InputError("weights file", f"{name} is not a readable .npz archive ({type(exc).__name__})") from None
    meta = {}
    if METADATA_KEY in arrays:
        m = arrays.pop(METADATA_KEY)
        try:
            meta = json.loads(str(m[()]))
        except (ValueError, TypeError):
            meta = {}
    return arrays, meta if isinstance(meta, dict) else {}


def _safetensors(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        arrays = load(data)
        hlen = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + hlen])
    except (SafetensorError, ValueError, OSError) as exc:
        raise InputError("weights file", f"{name} is not a readable .safetensors file ({exc})") from None
    raw = header.get("__metadata__") or {}
    meta = {}
    if isinstance(raw, dict) and "iclcheck" in raw:
        try:
            meta = json.loads(raw["iclcheck"])
        except ValueError:
            meta = {}
    return arrays, meta if isinstance(meta, dict) else {}


def _torch(path: Path, name: str) -> tuple[dict[str, np.ndarray], dict]:
    try:
        import torch
    except ImportError:
        raise InputError("weights file", f"{name} is a PyTorch file; reading it needs PyTorch (pip install "
                         "'iclcheck[torch]'), or save the arrays with safetensors or numpy.savez") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (UnpicklingError for anything beyond tensors)
        raise InputError("weights file", f"{name} cannot be read with torch.load(weights_only=True) "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError("weights file", f"{name} is not a state_dict (a dict of tensors)")
    return {str(k): v.detach().cpu().double().numpy() for k, v in obj.items()}, {}


def read_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(name -> array, metadata) of a weights file, recognised by its content (not its name): .npz (zip of .npy),
    .safetensors (8-byte header length + JSON), a PyTorch zip (torch.save) or, refused, a pickle / a lone .npy."""
    path = Path(path)
    name = path.name
    data = _read_bytes(path)
    if data.startswith(b"PK"):
        try:
            members = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            raise InputError("weights file", f"{name} is a damaged zip archive") from None
        if any(m.endswith("data.pkl") for m in members):
            return _torch(path, name)
        return _npz(data, name)
    if data[:1] == b"\x80" or data[:2] in (b"(d", b"}q", b"(l"):
        raise InputError("weights file", f"{name} is a pickle; iclcheck never unpickles (save the arrays with "
                         "safetensors or numpy.savez, or a torch.save state_dict with PyTorch installed)")
    if data.startswith(b"\x93NUMPY"):
        raise InputError("weights file", f"{name} is a single .npy array; save the layers with numpy.savez(file, "
                         "P=..., Q=...)")
    if len(data) >= 10 and data[8:9] == b"{":
        return _safetensors(data, name)
    raise InputError("weights file", f"{name} is neither .npz, .safetensors nor a PyTorch state_dict")


# ---------------------------------------------------------------------------------------------
# names -> per-layer roles -> canonical weights
# ---------------------------------------------------------------------------------------------
_TRAIL = re.compile(r"^(.*?)(\d+)$")


def _role_layer(key: str, roles: tuple[str, ...]) -> tuple[str, int | None] | None:
    parts = [p for p in key.split(".") if p]
    if parts and parts[-1] == "weight":
        parts = parts[:-1]
    if not parts:
        return None
    last = _ALIASES.get(parts[-1], parts[-1])
    if last in roles:
        nums = [int(p) for p in parts[:-1] if p.isdigit()]
        return last, (nums[-1] if nums else None)
    m = _TRAIL.match(parts[-1])
    if m and _ALIASES.get(m.group(1).rstrip("_"), m.group(1).rstrip("_")) in roles:
        return _ALIASES.get(m.group(1).rstrip("_"), m.group(1).rstrip("_")), int(m.group(2))
    return None


def _layers(arrays: dict[str, np.ndarray], convention: str) -> dict[str, np.ndarray]:
    """role -> (L, D, D) float array, from stacked or per-layer names."""
    roles = CONVENTIONS[convention][0]
    stacked: dict[str, np.ndarray] = {}
    per: dict[str, dict[int, np.ndarray]] = {r: {} for r in roles}
    unknown = []
    for k, A in arrays.items():
        rl = _role_layer(k, roles)
        if rl is None:
            unknown.append(k)
            continue
        role, layer = rl
        A = np.asarray(A)
        if A.dtype.kind not in "fiu" or A.dtype == bool:
            raise InputError("weights file", f"array {k!r} has dtype {A.dtype}; real numbers expected")
        if layer is None:
            if role in stacked:
                raise InputError("weights file", f"two arrays give {role}")
            stacked[role] = A[None] if A.ndim == 2 else A
        else:
            if layer in per[role]:
                raise InputError("weights file", f"two arrays give {role} of layer {layer}")
            per[role][layer] = A
    if unknown:
        raise InputError("weights file", f"arrays {', '.join(sorted(unknown)[:6])} are not part of the {convention} "
                         f"convention (it reads {', '.join(roles)} per layer)")
    out = {}
    for r in roles:
        if r in stacked and per[r]:
            raise InputError("weights file", f"{r} is given both stacked and per layer")
        if r in stacked:
            A = stacked[r]
        elif per[r]:
            idx = sorted(per[r])
            if idx != list(range(len(idx))):
                raise InputError("weights file", f"layers of {r} must be numbered 0..L-1, got {idx}")
            shapes = {per[r][i].shape for i in idx}
            if len(shapes) != 1:
                raise InputError("weights file", f"the layers of {r} have different shapes {sorted(shapes)}")
            A = np.stack([per[r][i] for i in idx])
        else:
            found = ", ".join(sorted(arrays)[:8]) or "nothing"
            raise InputError("weights file", f"no array {r} for the {convention} convention (found: {found})")
        if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] < 1:
            raise InputError("weights file", f"{r} must be (D, D) or (L, D, D), got shape {A.shape}")
        out[r] = A.astype(float)
    Ls = {A.shape for A in out.values()}
    if len(Ls) != 1:
        raise InputError("weights file", "the arrays have different shapes: "
                         + ", ".join(f"{r} {A.shape}" for r, A in out.items()))
    for r, A in out.items():
        if not np.all(np.isfinite(A)):
            raise InputError("weights file", f"{r} has non-finite entries (NaN or inf)")
    return out


def to_canonical(arrays: dict[str, Any], convention: str, *, n: int, source: str = "arrays",
                 metadata: dict | None = None) -> Weights:
    """The canonical model of ``arrays`` (name -> array) read in ``convention`` (module docstring); n is the
    context length (von Oswald's map needs it)."""
    if convention not in CONVENTIONS:
        raise InputError("convention", f"unknown convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    R = _layers(arrays, convention)
    how = CONVENTIONS[convention][1]
    sign, mask = -1, True
    if convention in ("canonical", "ahn"):
        Ps, Qs = R["P"], R["Q"]
    elif convention == "vonoswald":
        from iclcheck.theory.notation.vonoswald import to_canonical as vo_map

        pairs = [vo_map(P=P, W_K=K, W_Q=Q, W_V=V, N=int(n)) for P, K, Q, V in zip(R["P"], R["W_K"], R["W_Q"],
                                                                                   R["W_V"], strict=True)]
        Ps, Qs = np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])
    elif convention == "zhang":
        from iclcheck.theory.notation.zhang import to_canonical as zfb_map

        pairs = [zfb_map(P, K) for P, K in zip(R["W_PV"], R["W_KQ"], strict=True)]
        Ps, Qs = np.array([p for p, _ in pairs]), np.array([q for _, q in pairs])
        d = Ps.shape[1] - 1
        mask = Ps.shape[0] == 1 and not np.any(Ps[0, d, :d])
    else:  # pytorch
        Ps = R["W_V"].copy()
        Qs = np.einsum("lji,ljk->lik", R["W_K"], R["W_Q"])  # W_K^T W_Q per layer
        if Ps.shape[0] == 1:
            Ps = -Ps  # one layer: +[Z_1] at W_V = -[Z_1] at -W_V exactly
        else:
            sign = 1
    return Weights(Ps=np.ascontiguousarray(Ps), Qs=np.ascontiguousarray(Qs), convention=convention,
                   readout_sign=sign, mask=bool(mask), source=source, metadata=dict(metadata or {}), map=how)


def load_weights(path_or_arrays: Any, *, convention: str = "canonical", n: int, d: int | None = None) -> Weights:
    """Read a weights file (or take a dict name -> array) and map it to the canonical model; ``d`` (optional)
    checks the model's dimension against the setting."""
    if isinstance(path_or_arrays, dict):
        arrays, meta, src = dict(path_or_arrays), {}, "arrays"
    elif isinstance(path_or_arrays, (str, os.PathLike)):
        arrays, meta = read_arrays(path_or_arrays)
        src = str(path_or_arrays)
    else:
        raise InputError("weights", f"expected a file path or a dict of arrays, got {type(path_or_arrays).__name__}")
    w = to_canonical(arrays, convention, n=n, source=src, metadata=meta)
    if d is not None and w.d != d:
        raise InputError("weights", f"the model is for d = {w.d} (matrices {w.d + 1}x{w.d + 1}) but the setting "
                         f"has d = {d}")
    return w


def save_weights(path: str | os.PathLike, Ps: np.ndarray, Qs: np.ndarray, *, metadata: dict | None = None) -> Path:
    """Write stacked canonical P, Q (L, d+1, d+1) with JSON metadata to .npz or .safetensors (by the suffix)."""
    path = Path(path)
    Ps = np.ascontiguousarray(np.asarray(Ps, dtype=np.float64))
    Qs = np.ascontiguousarray(np.asarray(Qs, dtype=np.float64))
    meta = {"convention": "canonical", **(metadata or {})}
    text = json.dumps(meta, sort_keys=True, default=str)
    try:
        if path.suffix == ".npz":
            np.savez(path, P=Ps, Q=Qs, **{METADATA_KEY: np.array(text)})
        elif path.suffix == ".safetensors":
            from safetensors.numpy import save_file

            save_file({"P": Ps, "Q": Qs}, str(path), metadata={"iclcheck": text})
        else:
            raise InputError("weights file", f"{path.name}: the suffix must be .npz or .safetensors")
    except OSError as exc:
        raise InputError("weights file", f"cannot write {path} ({exc.strerror or exc})") from None
    return path
