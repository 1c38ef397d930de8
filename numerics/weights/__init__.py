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

Layout: every array W is the matrix applied to a column token, output = W z (pytorch: ``nn.Linear.weight``, which
computes x W^T on row tokens, the same map). Code computing Z @ W on row tokens stores W^T; ``layout_variants``
re-reads the arrays transposed (and with the convention's two arrays swapped) for the flip warning.

Numbers: float16, bfloat16, float32, float64, read as float64 (exact); complex, integer, boolean, 8-bit float,
object, sparse and quantized data are refused in every format (``weight_array``, ``numerics.files.read``). The file is
read by the hardened reader of ``numerics.files.read`` (regular files only, 1 GiB); .npz member headers and safetensors
offsets are checked against the sizes before anything is allocated.

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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from iclcheck.numerics.files.read import (
    READABLE_FLOATS,
    as_path,
    read_regular_file,
    show_name,
    weight_dtype_problem,
)
from iclcheck.theory.errors import InputError, import_optional

__all__ = ["CONVENTIONS", "MAX_WEIGHTS_BYTES", "Weights", "load_weights", "read_arrays", "save_weights",
           "layout_variants", "to_canonical", "weight_array"]

MAX_WEIGHTS_BYTES = 1 << 30
MAX_UNPACKED_BYTES = 2 << 30  # an .npz's members, uncompressed (declared sizes, checked before reading)
MAX_MEMBERS = 10_000
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
    arrays: dict = field(default_factory=dict, repr=False, compare=False)  # role -> (L, D, D) as read (the file's)
    n: int | None = None  # the context length the map used (von Oswald's P_can = N P W_V)

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
    return read_regular_file(path, what="weights file", limit=MAX_WEIGHTS_BYTES, limit_text="the 1 GiB bound")


def _torch_sparse(A: Any) -> str | None:
    layout = getattr(A, "layout", None)
    if layout is not None and str(layout) != "torch.strided":
        return f"a sparse tensor (layout {layout})"
    return None


def weight_array(A: Any, what: str, *, allow_int: bool = False) -> np.ndarray:
    """``A`` (a numpy array, a torch tensor, nested lists) as a dense float64 numpy array, or an ``InputError``
    naming ``what``: sparse data (scipy.sparse, torch sparse layouts), quantized tensors, complex, boolean, object
    and (unless ``allow_int``) integer data are refused (``numerics.files.read.weight_dtype_problem``); float16 and
    bfloat16 are upcast exactly."""
    mod = type(A).__module__ or ""
    if mod.startswith(("scipy.sparse", "sparse")):
        raise InputError(what, f"is a sparse matrix ({type(A).__name__}); weights must be dense arrays "
                         "(call .toarray())")
    if mod.startswith("torch"):
        sp = _torch_sparse(A)
        if sp:
            raise InputError(what, f"is {sp}; weights must be dense tensors (call .to_dense())")
        if getattr(A, "is_quantized", False):
            raise InputError(what, f"is a quantized tensor ({A.dtype}); dequantize it first (.dequantize())")
        dt = getattr(A, "dtype", None)
        if dt is not None and hasattr(dt, "is_floating_point"):
            import torch

            kind = ("f" if dt.is_floating_point else "c" if dt.is_complex else "b" if dt == torch.bool else "i")
            problem = None if kind == "i" and allow_int else weight_dtype_problem(kind, str(dt))
            if problem:
                raise InputError(what, problem)
            if getattr(A, "is_meta", False):
                raise InputError(what, "is a meta tensor (a shape without data); save the tensor's values")
            try:
                return A.detach().cpu().to(torch.float64).numpy()
            except (RuntimeError, NotImplementedError, TypeError) as exc:
                raise InputError(what, f"cannot be read as numbers ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:80] if str(exc) else ''})") from None
    try:
        arr = np.asarray(A)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(what, f"is not an array of numbers ({type(A).__name__}: {str(exc)[:80]})") from None
    kind = arr.dtype.kind
    if not (allow_int and kind in "iu"):
        problem = weight_dtype_problem(kind, str(arr.dtype))
        if problem:
            raise InputError(what, problem)
    return arr.astype(np.float64)


def _npz(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError("weights file", f"{name} is a damaged zip archive") from None
    if len(infos) > MAX_MEMBERS:
        raise InputError("weights file", f"{name} holds {len(infos):,} members, more than {MAX_MEMBERS:,}")
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise InputError("weights file", f"{name} unpacks to more than 2 GiB")
    for info in infos:  # every member's .npy header, before numpy allocates anything
        _check_npz_member(zf, info, name)
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
        except (ValueError, TypeError, IndexError):
            meta = {}
    try:
        arrays = {k: weight_array(A, f"array {k!r} of {name}") for k, A in arrays.items()}
    except InputError as exc:  # the headers were checked: only a numpy that reads them otherwise gets here
        raise InputError("weights file", f"{exc.what} {exc.problem}") from None
    return arrays, meta if isinstance(meta, dict) else {}


def _check_npz_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    from numpy.lib import format as npf

    member = info.filename
    if not member.endswith(".npy"):
        raise InputError("weights file", f"{name}: member {show_name(member)} is not a .npy array (an .npz holds "
                         "only .npy arrays)")
    key = member[:-4]
    try:
        with zf.open(info) as f:
            version = npf.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = npf.read_array_header_1_0(f, max_header_size=10_000)
            elif version in ((2, 0), (3, 0)):
                shape, _, dtype = npf.read_array_header_2_0(f, max_header_size=10_000)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except (ValueError, SyntaxError, TypeError, EOFError, OverflowError, OSError, zipfile.BadZipFile,
            RuntimeError, NotImplementedError, TokenError, RecursionError, KeyError) as exc:  # (TokenError: a header
        # that is not a Python literal, read by numpy through tokenize)
        raise InputError("weights file", f"{name}: member {show_name(member)} has a damaged .npy header "
                         f"({show_name(str(exc), 80)})") from None
    if key == METADATA_KEY:
        if dtype.kind != "U" or shape != ():
            raise InputError("weights file", f"{name}: {METADATA_KEY} must be a 0-d text array")
    elif dtype.hasobject:
        raise InputError("weights file", f"{name} holds pickled (object) arrays; iclcheck never unpickles: "
                         "save float arrays with numpy.savez")
    else:
        problem = weight_dtype_problem(dtype.kind, str(dtype))
        if problem:
            raise InputError("weights file", f"array {key!r} of {name} {problem}")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != info.file_size - offset:
        raise InputError("weights file", f"{name}: array {key!r} is truncated or padded: its header claims shape "
                         f"{tuple(shape)} ({need:,} bytes of {dtype}) but {info.file_size - offset:,} bytes follow")


# safetensors dtypes: name -> (numpy kind, itemsize, numpy dtype read); BF16 is read as uint16 and widened
_ST_DTYPES = {"F64": ("f", 8, "<f8"), "F32": ("f", 4, "<f4"), "F16": ("f", 2, "<f2"), "BF16": ("f", 2, "<u2"),
              "F8_E4M3": ("8", 1, None), "F8_E5M2": ("8", 1, None), "C64": ("c", 8, None),
              "I64": ("i", 8, None), "I32": ("i", 4, None), "I16": ("i", 2, None), "I8": ("i", 1, None),
              "U64": ("u", 8, None), "U32": ("u", 4, None), "U16": ("u", 2, None), "U8": ("u", 1, None),
              "BOOL": ("b", 1, None)}
MAX_ST_HEADER = 100 << 20  # the safetensors library's own bound on the JSON header


def _safetensors(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    """The safetensors format read directly (8-byte little-endian header length N, N bytes of JSON
    {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then the data, little-endian),
    every tensor checked (dtype, offsets inside the data, size = prod(shape) x itemsize) before it is read.
    Read here rather than by safetensors.numpy.load, which fails on BF16 (numpy has no bfloat16): BF16 is widened
    exactly (its 16 bits are the top half of a float32)."""

    def bad(why: str) -> InputError:
        return InputError("weights file", f"{name} is not a readable .safetensors file ({why})")

    hlen = int.from_bytes(data[:8], "little")
    if hlen > min(len(data) - 8, MAX_ST_HEADER):
        raise bad(f"its header claims {hlen:,} bytes, more than the file holds")
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("the header is not JSON") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    raw_meta = header.pop("__metadata__", None)
    buf = memoryview(data)[8 + hlen:]
    arrays = {}
    for key, info in header.items():
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str) and isinstance(info.get("shape"), list)
                and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                        for v in [*info["shape"], *info["data_offsets"]])):
            raise bad(f"tensor {show_name(key)} lacks a dtype, a shape or data_offsets [begin, end]")
        dt, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        if dt not in _ST_DTYPES:
            raise InputError("weights file", f"tensor {key!r} of {name} has dtype {show_name(dt)}, unknown; weights "
                             f"must be {READABLE_FLOATS}")
        kind, size, read_as = _ST_DTYPES[dt]
        if kind == "8":
            raise InputError("weights file", f"tensor {key!r} of {name} has dtype {dt} (8-bit float, usually with "
                             f"scales stored elsewhere); weights must be {READABLE_FLOATS}")
        problem = weight_dtype_problem(kind, dt)
        if problem:
            raise InputError("weights file", f"tensor {key!r} of {name} {problem}")
        count = 1
        for s in shape:
            count *= s
        if not begin <= end <= len(buf) or end - begin != count * size:
            raise bad(f"tensor {show_name(key)}: data_offsets [{begin}, {end}] do not hold shape {shape} of {dt} "
                      f"inside the {len(buf):,} data bytes")
        A = np.frombuffer(buf, dtype=read_as, count=count, offset=begin)
        if dt == "BF16":
            A = (A.astype("<u4") << 16).view("<f4")  # bfloat16 = the top 16 bits of a float32: exact
        arrays[str(key)] = A.astype(np.float64).reshape(shape)
    meta = {}
    if isinstance(raw_meta, dict) and isinstance(raw_meta.get("iclcheck"), str):
        try:
            meta = json.loads(raw_meta["iclcheck"])
        except (ValueError, RecursionError):
            meta = {}
    return arrays, meta if isinstance(meta, dict) else {}


def _torch(data: bytes, name: str) -> tuple[dict[str, np.ndarray], dict]:
    torch = import_optional("torch", extra="torch", feature=f"reading the PyTorch file {name}")
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (UnpicklingError for anything beyond tensors)
        raise InputError("weights file", f"{name} cannot be read with torch.load(weights_only=True) "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError("weights file", f"{name} is not a state_dict (a dict of tensors)")
    try:
        return {str(k): weight_array(v, f"tensor {str(k)!r} of {name}") for k, v in obj.items()}, {}
    except InputError as exc:
        raise InputError("weights file", f"{exc.what} {exc.problem}") from None


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
            return _torch(data, name)
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
        A = weight_array(A, f"array {k!r}")
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
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise InputError("convention", f"unknown convention {repr(convention)[:60]}; choose one of "
                         f"{', '.join(CONVENTIONS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError("n", f"must be a positive integer (the context length), got {repr(n)[:60]}")
    bad = [k for k in arrays if not isinstance(k, str)]
    if bad:
        raise InputError("weights", f"array names must be strings, got {repr(bad[0])[:60]}")
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
                   readout_sign=sign, mask=bool(mask), source=source, metadata=dict(metadata or {}), map=how,
                   arrays=R, n=int(n))


# ---------------------------------------------------------------------------------------------
# the common layout mistakes (tried by numerics.weights.check's flip warning)
# ---------------------------------------------------------------------------------------------
# per convention: the two arrays a script most easily swaps, and what the swap means
_SWAPS = {"canonical": ("P", "Q"), "ahn": ("P", "Q"), "zhang": ("W_PV", "W_KQ"), "pytorch": ("W_K", "W_Q"),
          "vonoswald": ("W_K", "W_Q")}


def layout_variants(w: Weights) -> list[tuple[str, Weights]]:
    """The model re-read from the file's arrays under each common layout mistake, in the same convention:

    - ``arrays transposed``: every array is W^T of the convention's W (a script computing Z @ W on row tokens
      stores W^T where nn.Linear.weight, output W z, stores W);
    - ``A and B swapped``: the two arrays of ``_SWAPS`` exchanged (for pytorch / vonoswald W_K <-> W_Q, which
      is Q -> Q^T of the canonical model).

    Empty when the raw arrays are unknown (a Weights built by hand)."""
    if not w.arrays or w.n is None:
        return []
    out = []
    T = {r: np.ascontiguousarray(np.swapaxes(A, 1, 2)) for r, A in w.arrays.items()}
    out.append(("arrays transposed", T))
    a, b = _SWAPS[w.convention]
    out.append((f"{a} and {b} swapped", {**w.arrays, a: w.arrays[b], b: w.arrays[a]}))
    return [(name, to_canonical(R, w.convention, n=w.n, source=w.source, metadata=w.metadata)) for name, R in out]


def load_weights(path_or_arrays: Any, *, convention: str = "canonical", n: int, d: int | None = None) -> Weights:
    """Read a weights file (or take a dict name -> array) and map it to the canonical model; ``d`` (optional)
    checks the model's dimension against the setting."""
    meta: dict[str, Any]
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


def _stack(A: Any, what: str) -> np.ndarray:
    A = weight_array(A, what, allow_int=True)
    if A.ndim == 2:
        A = A[None]
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] < 1 or A.shape[1] < 2:
        raise InputError(what, f"must be (D, D) or (L, D, D) with D = d + 1 >= 2, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise InputError(what, "has non-finite entries (NaN or inf)")
    return np.ascontiguousarray(A)


def save_weights(path: str | os.PathLike, Ps: Any, Qs: Any, *, metadata: dict | None = None) -> Path:
    """Write canonical P, Q (stacked (L, d+1, d+1), or (d+1, d+1) for one layer) with JSON metadata (a dict with
    string keys; values that JSON cannot hold are written as their str) to .npz or .safetensors (by the suffix).
    P and Q must be dense real arrays (integers are written as floats; complex, sparse, non-numeric: InputError).
    Writing .safetensors needs the optional extra 'weights' (MissingExtra, one line, without it)."""
    path = as_path(path, what="path")
    if path.suffix not in (".npz", ".safetensors"):
        raise InputError("path", f"{show_name(path.name)}: the suffix must be .npz or .safetensors")
    Ps, Qs = _stack(Ps, "P"), _stack(Qs, "Q")
    if Ps.shape != Qs.shape:
        raise InputError("Q", f"needs one Q per P of the same shape: P has shape {Ps.shape}, Q {Qs.shape}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError("metadata", f"must be a dict (str -> JSON value), got {type(metadata).__name__}")
    bad = [k for k in (metadata or {}) if not isinstance(k, str)]
    if bad:
        raise InputError("metadata", f"keys must be strings, got {repr(bad[0])[:60]}")
    meta = {"convention": "canonical", **(metadata or {})}
    try:
        text = json.dumps(meta, sort_keys=True, default=str, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError("metadata", f"cannot be written as JSON ({show_name(str(exc), 80)})") from None
    try:
        if path.suffix == ".npz":
            # mypy matches **{...} against savez's allow_pickle: bool too; the one key here is METADATA_KEY
            np.savez(path, P=Ps, Q=Qs, **{METADATA_KEY: np.array(text)})  # type: ignore[arg-type]
        else:
            save_file = import_optional("safetensors.numpy", extra="weights", feature="writing .safetensors").save_file
            save_file({"P": Ps, "Q": Qs}, str(path), metadata={"iclcheck": text})
    except OSError as exc:
        raise InputError("path", f"cannot write {path} ({exc.strerror or exc})") from None
    return path
