"""Reading and writing arrays in .npy, .npz and .csv files, safely.

Used by the ReadFile/WriteFile nodes, by ``haibal run --input/--output`` and by the graph
format's sibling ``.npz``. The files may come from anyone, so reading:

- never unpickles (an array of Python objects is refused);
- reads a ``.npy`` header (shape, dtype) first and checks it BEFORE allocating: the
  declared size against ``Limits.max_value_bytes``, and against the bytes the file really
  holds (a header declaring 10^12 elements in a 100-byte file is refused at once);
- opens a ``.npz`` as the zip it is and reads only the member asked for, each checked the
  same way, the whole file's decompressed size capped by ``Limits.max_npz_bytes``;
- never echoes file contents in an error (a CSV parse error names the row and column).

Writing is atomic (``atomic.write_atomic``: unique temporary file, fsync, rename; modes kept).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Mapping

import numpy as np
from numpy.lib import format as npy_format

from ..errors import HaibalValueError
from .atomic import probe_folder, write_atomic
from .limits import DEFAULT_LIMITS, Limits, LimitError, array_bytes

__all__ = ["SUFFIXES", "ArrayFileError", "NpzReader", "check_writable", "read_array", "read_npy", "write_arrays"]

SUFFIXES = (".npy", ".npz", ".csv")
_CSV_BYTES_PER_VALUE = 2  # the fewest bytes a CSV value takes ("1,"): bounds its array before parsing
_CHUNK = 16 << 20  # bytes read at a time into an array


class ArrayFileError(HaibalValueError):
    """An array file is missing, unreadable, or not what was asked for."""


def read_array(path: str | Path, key: str | None = None, fallback_key: str | None = None,
               limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """The array in ``path``. For a .npz: the array ``key``; without a key, the array named
    ``fallback_key`` if present, else the only one. CSV: comma-separated numbers, an
    optional header row; integers when no value has a decimal point or exponent."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArrayFileError(f"{path}: unsupported file type {suffix or '(none)'!r}; use .npy, .npz or .csv")
    if not path.is_file():
        raise ArrayFileError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    try:
        if suffix == ".npy":
            with open(path, "rb") as fh:
                return read_npy(fh, os.fstat(fh.fileno()).st_size, str(path), limits)
        if suffix == ".npz":
            with NpzReader(path, limits) as npz:
                return npz.read(npz.pick(key, fallback_key))
        return _read_csv(path, limits)
    except (ArrayFileError, LimitError):
        raise
    except OSError as exc:
        raise ArrayFileError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None


def read_npy(fh: IO[bytes], size: int, where: str, limits: Limits = DEFAULT_LIMITS) -> np.ndarray:
    """The array of a ``.npy`` stream of ``size`` bytes, its header checked before allocating."""
    shape, fortran, dtype, header_end = _npy_header(fh, where)
    nbytes = array_bytes(shape, dtype.itemsize)
    limits.check("max_value_bytes", nbytes, f"{where}: an array of shape {tuple(shape)} {dtype}")
    if nbytes > size - header_end:
        raise ArrayFileError(f"{where}: the header declares shape {tuple(shape)} {dtype} ({nbytes} bytes) but "
                             f"the file holds only {max(size - header_end, 0)} bytes of data (truncated or forged)")
    count = nbytes // dtype.itemsize if dtype.itemsize else 0
    arr = np.empty(count, dtype=dtype)
    if nbytes:
        view, got = memoryview(arr.view(np.uint8).reshape(-1)), 0
        while got < nbytes:
            n = fh.readinto(view[got:got + _CHUNK])
            if not n:
                raise ArrayFileError(f"{where}: the data ends after {got} of {nbytes} bytes (truncated)")
            got += n
    if fortran:
        return arr.reshape(shape[::-1]).transpose()
    return arr.reshape(shape)


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    start = fh.tell()
    try:
        version = npy_format.read_magic(fh)
    except ValueError:
        raise ArrayFileError(f"{where}: not a .npy array (the magic string '\\x93NUMPY' is missing)") from None
    readers = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
    if version not in readers:
        raise ArrayFileError(f"{where}: .npy format version {version[0]}.{version[1]} is not read here "
                             f"(1.0 and 2.0 are)")
    try:
        shape, fortran, dtype = readers[version](fh)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise ArrayFileError(f"{where}: the .npy header cannot be read (damaged or not written by NumPy)") from None
    if dtype.hasobject:
        raise ArrayFileError(f"{where}: holds Python objects (pickled data), which are never loaded")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise ArrayFileError(f"{where}: holds {dtype.kind!r}-kind values ({dtype.str}); only booleans, "
                             f"integers and floats are read")
    if (len(shape) > 32 or not all(isinstance(d, int) and d >= 0 for d in shape)
            or array_bytes([d for d in shape if d], dtype.itemsize) >= 2**62):
        raise ArrayFileError(f"{where}: the .npy header declares an invalid shape")
    return tuple(shape), bool(fortran), dtype, fh.tell() - start


class NpzReader:
    """A ``.npz`` opened lazily: ``names``, and ``read(name)`` decompresses ONE member, after
    checking its declared shape and size (``max_value_bytes``) and the file's running total
    of decompressed bytes (``max_npz_bytes``). Never unpickles."""

    def __init__(self, source: str | Path | IO[bytes], limits: Limits = DEFAULT_LIMITS, where: str | None = None):
        self.where = where or str(source)
        self.limits = limits
        self.read_bytes = 0
        try:
            self._zip = zipfile.ZipFile(source if hasattr(source, "read") else Path(source))
        except zipfile.BadZipFile:
            raise ArrayFileError(f"{self.where}: not a .npz file (it is not a zip archive)") from None
        except (OSError, ValueError, EOFError, OverflowError, NotImplementedError) as exc:
            raise ArrayFileError(f"{self.where}: not a readable .npz file ({type(exc).__name__})") from None
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in self._zip.infolist():
            if info.filename.endswith(".npy") and not info.is_dir():
                self._members[info.filename[:-4]] = info

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def names(self) -> list[str]:
        return list(self._members)

    def pick(self, key: str | None, fallback_key: str | None = None) -> str:
        """The member to read: ``key``; else ``fallback_key`` if present, else the only one."""
        names = self.names
        if key:
            if key not in self._members:
                raise ArrayFileError(f"{self.where}: no array {key!r} (arrays: {_listed(names)})")
            return key
        if fallback_key and fallback_key in self._members:
            return fallback_key
        if len(names) != 1:
            raise ArrayFileError(f"{self.where}: holds {len(names)} arrays ({_listed(names)}); say which one")
        return names[0]

    def read(self, name: str) -> np.ndarray:
        info = self._members.get(name)
        if info is None:
            raise ArrayFileError(f"{self.where}: no array {name!r} (arrays: {_listed(self.names)})")
        what = f"{self.where}, array {name!r}"
        self.limits.check("max_value_bytes", info.file_size, what)
        self.limits.check("max_npz_bytes", self.read_bytes + info.file_size,
                          f"{self.where} (arrays read so far and {name!r})")
        try:
            with self._zip.open(info) as member:
                arr = read_npy(_Counting(member), info.file_size, what, self.limits)
        except (ArrayFileError, LimitError):
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
                RuntimeError) as exc:  # damaged data, a bad CRC, an encrypted member ...
            raise ArrayFileError(f"{what}: the compressed data is damaged or unsupported "
                                 f"({type(exc).__name__})") from None
        self.read_bytes += info.file_size
        return arr


class _Counting:
    """A read-only stream that can tell how many bytes were read (zip members cannot seek cheaply)."""

    def __init__(self, raw):
        self.raw, self.pos = raw, 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos


def _listed(names) -> str:
    shown = ", ".join(repr(n) for n in list(names)[:20])
    return (shown + (" ..." if len(names) > 20 else "")) or "none"


_FLOATY = re.compile(r"[.eEnNiI]")
_NOT_NUMERIC = re.compile(r"[^0-9eE+\-.,nNaAiIfFtTyY \t\n]")  # digits, signs, exponents, nan, inf(inity)
_ROW_COL = re.compile(r"at row (\d+), column (\d+)")


def _read_csv(path: Path, limits: Limits) -> np.ndarray:
    size = path.stat().st_size
    limits.check("max_value_bytes", size // _CSV_BYTES_PER_VALUE * 8, f"{path}: a CSV file of {size} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArrayFileError(f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded)") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ArrayFileError(f"{path}: the CSV file is empty")
    first = [cell.strip() for cell in lines[0].split(",")]
    header = 0
    try:
        [float(c) for c in first]
    except ValueError:  # a header row
        lines, header = lines[1:], 1
        if not lines:
            raise ArrayFileError(f"{path}: the CSV file has a header but no rows")
    body = "\n".join(lines)
    bad = _NOT_NUMERIC.search(body)
    if bad:  # only number text reaches NumPy's parser (it crashes on some non-ASCII text)
        row = body.count("\n", 0, bad.start())
        column = body.count(",", body.rfind("\n", 0, bad.start()) + 1, bad.start()) + 1
        raise ArrayFileError(f"{path}: not a CSV of numbers (row {row + 1 + header}, column {column} holds "
                             f"other characters than a number)")
    dtype = np.float64 if _FLOATY.search(body) else np.int64
    try:
        arr = np.loadtxt(io.StringIO(body), delimiter=",", dtype=dtype, ndmin=1)
    except (ValueError, OverflowError) as exc:  # the message quotes the cell: never shown
        m = _ROW_COL.search(str(exc))
        where = f" (row {int(m.group(1)) + 1 + header}, column {int(m.group(2))})" if m else ""
        raise ArrayFileError(f"{path}: not a CSV of numbers{where}: every row must hold the same number "
                             f"of comma-separated numbers") from None
    return arr


def write_arrays(path: str | Path, arrays: Mapping[str, object]) -> None:
    """Write arrays: .npz (all, by name), .npy or .csv (exactly one), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ArrayFileError(f"{path}: unsupported file type {suffix or '(none)'!r}; use .npy, .npz or .csv")
    check_writable(path)
    plain = {k: _plain(k, v) for k, v in arrays.items()}
    try:
        if suffix == ".npz":
            write_atomic(path, lambda fh: np.savez(fh, **plain))
            return
        if len(plain) != 1:
            raise ArrayFileError(f"{path}: a {suffix} file holds one array, got {len(plain)}; use .npz")
        (arr,) = plain.values()
        if suffix == ".npy":
            write_atomic(path, lambda fh: np.save(fh, arr, allow_pickle=False))
        else:
            if arr.ndim > 2:
                raise ArrayFileError(f"{path}: a CSV holds at most 2-D arrays, got shape {arr.shape}; use .npy")
            fmt = "%d" if arr.dtype.kind in "biu" else "%.17g"
            buf = io.StringIO()
            np.savetxt(buf, np.atleast_1d(arr), delimiter=",", fmt=fmt)
            write_atomic(path, lambda fh: fh.write(buf.getvalue().encode("utf-8")))
    except OSError as exc:
        raise ArrayFileError(f"{path}: cannot be written ({exc.strerror or type(exc).__name__})") from None


def check_writable(path: str | Path) -> None:
    """ArrayFileError unless a file could be written at ``path`` now: its folder exists and
    takes new files (tried with a probe file), and ``path`` is not a folder."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ArrayFileError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise ArrayFileError(f"{path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        raise ArrayFileError(f"{path}: is not a regular file")
    try:
        probe_folder(path.parent)
    except OSError as exc:
        raise ArrayFileError(f"{path}: the folder {path.parent} does not take new files "
                             f"({exc.strerror or type(exc).__name__})") from None


def _plain(name: str, value) -> np.ndarray:
    if isinstance(value, tuple):  # a sequence of batches (Batches is a tuple): one array
        try:
            value = np.stack([np.asarray(v) for v in value])
        except ValueError:
            raise ArrayFileError(f"{name}: batches of different shapes cannot be written as one array") from None
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        raise ArrayFileError(f"{name}: not an array of numbers ({type(value).__name__})")
    return arr
