"""Weights files: ``save_weights`` / ``load_weights`` in formats that never run code.

Each weight is stored under ``"<layer name>/<weight name>"`` (a nested model adds its
own name in front: ``"encoder/dense/kernel"``), in the order of ``model.weights``.

- ``*.weights.npz``: a NumPy archive, read back without unpickling, only the model's own
  weights decompressed and no more bytes than the model holds (a zip bomb is refused);
- ``*.safetensors``: the safetensors layout (an 8-byte little-endian header length, a
  JSON header of names, dtypes, shapes and byte offsets, then the raw little-endian
  data), written and read here without the ``safetensors`` package; files written by
  that package (with the same names) load too.

Loading reads and checks the whole file before touching the model: a missing or
unexpected name, a shape or a dtype that does not fit is refused, naming the first
mismatch, and the model keeps its weights. Files are written to a temporary file
beside the target, then renamed over it.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ...errors import LayerError
from ...files.array_files import ArrayFileError, NpzReader
from ...files.limits import LimitError, Limits

__all__ = ["weight_entries", "save_weights", "load_weights", "read_safetensors", "write_safetensors"]

_SAFE_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_SAFE_NAMES = {np.dtype(v).str: k for k, v in _SAFE_DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


def weight_entries(model, prefix: str = "") -> list[tuple[str, object]]:
    """``(key, WeightSpec)`` for every weight of ``model``, in ``model.weights`` order."""
    out, seen = [], set()

    def walk(container, pre):
        for layer in container.layers:
            if hasattr(layer, "_graph") or getattr(layer, "_is_sequential", False):
                walk(layer, f"{pre}{layer.name}/")
                continue
            for spec in layer.weight_specs():
                if id(spec.value) not in seen:
                    seen.add(id(spec.value))
                    out.append((f"{pre}{layer.name}/{spec.name}", spec))

    walk(model, prefix)
    keys = [k for k, _ in out]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise LayerError(f"two weights of the model would be saved under the same name {dup!r}")
    return out


def _format(path: Path) -> str:
    name = path.name
    if name.endswith(".weights.npz"):
        return "npz"
    if name.endswith(".safetensors"):
        return "safetensors"
    raise LayerError(f"weights files end with '.weights.npz' or '.safetensors', got {str(path)!r}")


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_safetensors(fh, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` to the open binary file ``fh`` in the safetensors layout."""
    header: dict = {"__metadata__": dict(metadata or {})}
    blobs, offset = [], 0
    for key, arr in arrays.items():
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False)
        tag = _SAFE_NAMES.get(data.dtype.str)
        if tag is None:
            raise LayerError(f"weight {key!r}: dtype {arr.dtype} cannot be written to safetensors")
        raw = data.tobytes()
        header[key] = {"dtype": tag, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    fh.write(struct.pack("<Q", len(text)))
    fh.write(text)
    for raw in blobs:
        fh.write(raw)


def read_safetensors(path) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file (checked: header, dtypes, shapes and offsets)."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise LayerError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(_MAX_HEADER, len(data) - 8):
        raise LayerError(f"{path}: not a safetensors file (bad header length {n})")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayerError(f"{path}: not a safetensors file ({exc})") from None
    if not isinstance(header, dict):
        raise LayerError(f"{path}: not a safetensors file (the header is not a JSON object)")
    body = memoryview(data)[8 + n:]
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype = np.dtype(_SAFE_DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise LayerError(f"{path}: tensor {key!r} has a header entry this reader does not understand: "
                             f"{info!r}") from None
        if any(d < 0 for d in shape) or not 0 <= start <= end <= len(body) \
                or end - start != math.prod(shape) * dtype.itemsize:
            raise LayerError(f"{path}: tensor {key!r} has inconsistent offsets or shape")
        out[key] = np.frombuffer(body[start:end], dtype=dtype).reshape(shape).copy()
    return out


def _read_npz(path: Path, entries) -> tuple[dict[str, np.ndarray], list[str]]:
    """(the model's weights found in the archive, every name it holds). Only those weights
    are decompressed, each no larger than the model's largest weight and all together no
    larger than the model: a small file cannot make the reader allocate more (a zip bomb)."""
    slack = 64 * 1024  # a .npy header
    sizes = [spec.value.nbytes + slack for _, spec in entries] or [slack]
    limits = Limits(max_value_bytes=max(sizes), max_npz_bytes=sum(sizes))
    try:
        with NpzReader(path, limits, where=path.name) as npz:
            names = npz.names
            return {key: npz.read(key) for key, _ in entries if key in names}, names
    except LimitError:
        raise LayerError(f"{path.name}: an array in the file is larger than the model's weights "
                         f"({sum(sizes) - slack * len(sizes)} bytes in all): not this model's weights file") from None
    except ArrayFileError as exc:
        raise LayerError(f"cannot read this weights file: {exc}") from None


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write every weight of ``model`` to ``filepath`` (see the module docstring)."""
    path = Path(filepath)
    kind = _format(path)
    if path.exists() and not overwrite:
        raise LayerError(f"{path} exists and overwrite=False")
    arrays = {key: spec.value for key, spec in weight_entries(model)}
    if kind == "npz":
        _atomic_write(path, lambda fh: np.savez(fh, **arrays))
    else:
        _atomic_write(path, lambda fh: write_safetensors(fh, arrays, {"format": "haibal-py"}))


def load_weights(model, filepath) -> None:
    """Read ``filepath`` into ``model``'s weights, all or nothing (see the module docstring)."""
    path = Path(filepath)
    kind = _format(path)
    if not path.is_file():
        raise LayerError(f"no weights file at {str(path)!r}")
    entries = weight_entries(model)
    if kind == "npz":
        stored, names = _read_npz(path, entries)
    else:
        stored = read_safetensors(path)
        names = list(stored)
    for key, spec in entries:
        if key not in stored:
            raise LayerError(f"{path.name}: the model's weight {key!r} is not in the file "
                             f"(the file holds {', '.join(sorted(names)) or 'nothing'})")
        arr = stored[key]
        if arr.shape != spec.value.shape:
            raise LayerError(f"{path.name}: weight {key!r} has shape {arr.shape} in the file, "
                             f"the model needs {spec.value.shape}")
        if arr.dtype.kind not in "biuf":
            raise LayerError(f"{path.name}: weight {key!r} has dtype {arr.dtype}, not a number type")
    expected = {k for k, _ in entries}
    extra = sorted(k for k in names if k not in expected)
    if extra:
        raise LayerError(f"{path.name}: the file holds {extra[0]!r}, which the model does not have")
    for key, spec in entries:
        spec.value[...] = stored[key]
