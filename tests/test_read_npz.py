"""``files.array_files.read_npz``: every array of a .npz, stored members read straight from the
file (the shards of a sharded run), compressed ones through NumPy; never a pickle, and a
damaged or truncated file is refused with its name."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from haibal_py.files.array_files import ArrayFileError, read_npz

ARRAYS = {
    "f32": np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32),
    "fortran": np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4)),
    "scalar": np.float64(2.5),
    "empty": np.zeros((0, 3), np.int32),
    "flags": np.array([True, False, True]),
    "big_endian": np.arange(4, dtype=">i4"),
}


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["stored", "compressed"])
def test_every_array_comes_back_as_numpy_reads_it(tmp_path, save):
    path = tmp_path / "a.npz"
    save(path, **ARRAYS)
    got = read_npz(path)
    with np.load(path) as z:
        assert list(got) == list(z.files)
        for name in z.files:
            assert got[name].dtype == z[name].dtype and got[name].shape == z[name].shape
            np.testing.assert_array_equal(got[name], z[name])


def test_python_objects_are_never_loaded(tmp_path):
    np.savez(tmp_path / "o.npz", o=np.array([1, "a"], dtype=object))
    with pytest.raises(ArrayFileError, match="Python objects"):
        read_npz(tmp_path / "o.npz")


def test_damaged_files_are_refused_with_their_name(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(ArrayFileError, match="junk.npz: not a readable .npz file"):
        read_npz(tmp_path / "junk.npz")
    good = tmp_path / "good.npz"
    np.savez(good, x=np.arange(1000, dtype=np.float64))
    data = bytearray(good.read_bytes())
    at = data.find(b"{'descr'")  # make the header claim more rows than the member holds
    header_end = data.find(b"}", at)
    data[at:header_end + 1] = data[at:header_end + 1].replace(b"(1000,)", b"(9999,)")
    (tmp_path / "claims.npz").write_bytes(bytes(data))
    with pytest.raises(ArrayFileError, match="does not fill its member"):
        read_npz(tmp_path / "claims.npz")
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(ArrayFileError, match="'notes.txt' is not an array"):
        read_npz(tmp_path / "other.npz")
    with pytest.raises(ArrayFileError, match="no such file"):
        read_npz(tmp_path / "missing.npz")
