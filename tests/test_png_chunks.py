"""The headless PNG chunk reader/writer that carries snippets: strict reading, exact round trips."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haibal_py.errors import HaibalError
from haibal_py.files.png_chunks import (MAX_CHUNK, NO_SNIPPET, SIGNATURE, Chunk, SnippetError, embed_snippet,
                                  encode_png, extract_snippet, extract_text, png_size, read_chunks,
                                  write_chunks)

TEXT = '{"format": "haibal-snippet", "name": "caf\u00e9 \u2013 \u03bb", "version": 1}\n'


def _image(h=5, w=7, c=4):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def _raw_chunk(ctype: bytes, data: bytes, crc: int | None = None) -> bytes:
    if crc is None:
        crc = zlib.crc32(ctype + data) & 0xFFFFFFFF
    return struct.pack(">I4s", len(data), ctype) + data + struct.pack(">I", crc)


def _decode_filter0(png: bytes) -> np.ndarray:
    """Test-side decoder for our own encoder's output (filter 0 only), written from the spec."""
    chunks = read_chunks(png)
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[0].data[:10])
    assert depth == 8
    c = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(ch.data for ch in chunks if ch.type == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + w * c)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, c)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_encode_png_round_trips_pixels(channels):
    img = _image(c=channels)
    png = encode_png(img[:, :, 0] if channels == 1 else img)
    assert png.startswith(SIGNATURE)
    assert png_size(png) == (7, 5)
    assert np.array_equal(_decode_filter0(png).reshape(img.shape), img)


def test_embed_and_extract_bit_identical_and_replaces():
    png = encode_png(_image())
    carried = embed_snippet(png, TEXT)
    assert extract_snippet(carried) == TEXT
    names = [c.name for c in read_chunks(carried)]
    assert names == ["IHDR", "IDAT", "iTXt", "IEND"]
    again = embed_snippet(carried, TEXT + " ")
    assert [c.name for c in read_chunks(again)].count("iTXt") == 1
    assert extract_snippet(again) == TEXT + " "
    # other text chunks are kept and not mistaken for the snippet
    other = write_chunks(read_chunks(png)[:-1] + [Chunk(b"iTXt", b"Comment\x00\x00\x00\x00\x00hi"),
                                                   Chunk(b"IEND", b"")])
    assert extract_text(other, "Comment") == "hi"
    with pytest.raises(SnippetError) as err:
        extract_snippet(other)
    assert str(err.value) == NO_SNIPPET
    both = embed_snippet(other, TEXT)
    assert extract_text(both, "Comment") == "hi" and extract_snippet(both) == TEXT


def test_png_without_chunk_has_exact_message():
    with pytest.raises(SnippetError) as err:
        extract_snippet(encode_png(_image()))
    assert str(err.value) == "this image carries no haibal snippet"
    assert isinstance(err.value, HaibalError) and isinstance(err.value, ValueError)


def test_not_png():
    with pytest.raises(SnippetError, match="signature"):
        read_chunks(b"GIF89a" + b"\x00" * 40)


@pytest.mark.parametrize("cut", [8, 9, 20, 33, -13, -1])
def test_truncated(cut):
    png = embed_snippet(encode_png(_image()), TEXT)
    with pytest.raises(SnippetError, match="truncated"):
        read_chunks(png[:cut])


def test_bad_crc_names_chunk():
    png = bytearray(embed_snippet(encode_png(_image()), TEXT))
    chunks = read_chunks(bytes(png))
    offset = len(SIGNATURE) + sum(12 + len(c.data) for c in chunks[:2])  # the iTXt chunk
    png[offset + 8 + 3] ^= 0x40
    with pytest.raises(SnippetError, match=r"bad CRC in chunk iTXt at byte %d" % offset):
        extract_snippet(bytes(png))


def test_huge_declared_length_rejected_without_reading():
    head = SIGNATURE + _raw_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    huge = head + struct.pack(">I4s", MAX_CHUNK + 1, b"iTXt") + b"\x00" * 100
    with pytest.raises(SnippetError, match="declares %d bytes, more than" % (MAX_CHUNK + 1)):
        read_chunks(huge)
    bigger = head + struct.pack(">I4s", 0xFFFFFFF0, b"IDAT") + b"\x00" * 100
    with pytest.raises(SnippetError, match="declares"):
        read_chunks(bigger)
    beyond = head + struct.pack(">I4s", 5000, b"IDAT") + b"\x00" * 100
    with pytest.raises(SnippetError, match="only 96 remain"):
        read_chunks(beyond)


def test_missing_ihdr_and_iend_and_trailing():
    png = encode_png(_image())
    chunks = read_chunks(png)
    with pytest.raises(SnippetError, match="not IHDR"):
        read_chunks(write_chunks(chunks[1:]))
    with pytest.raises(SnippetError, match="without an IEND"):
        read_chunks(write_chunks(chunks[:-1]))
    with pytest.raises(SnippetError, match="after the IEND"):
        read_chunks(png + b"junk")
    with pytest.raises(SnippetError, match="invalid type"):
        read_chunks(write_chunks([chunks[0], Chunk(b"ID@T", b"x"), chunks[-1]]))


def _with_itxt(data: bytes) -> bytes:
    chunks = read_chunks(encode_png(_image()))
    return write_chunks(chunks[:-1] + [Chunk(b"iTXt", data), chunks[-1]])


@pytest.mark.parametrize("data,match", [
    (b"haibal-snippet\x00\x01\x00\x00\x00" + b"not zlib", "damaged"),
    (b"haibal-snippet\x00\x01\x00\x00\x00" + zlib.compress(b"{}" * 100)[:-6], "truncated"),
    (b"haibal-snippet\x00\x01\x07\x00\x00" + zlib.compress(b"{}"), "compression method"),
    (b"haibal-snippet\x00\x02\x00\x00\x00{}", "compression flag"),
    (b"haibal-snippet\x00\x00\x00\x00\x00\xff\xfe", "not UTF-8"),
    (b"haibal-snippet\x00\x00\x00", "missing language"),
])
def test_corrupt_itxt(data, match):
    with pytest.raises(SnippetError, match=match):
        extract_snippet(_with_itxt(data))


def test_zlib_bomb_capped(monkeypatch):
    import haibal_py.files.png_chunks as pc
    monkeypatch.setattr(pc, "MAX_TEXT", 1000)
    bomb = _with_itxt(b"haibal-snippet\x00\x01\x00\x00\x00" + zlib.compress(b" " * 5000))
    with pytest.raises(SnippetError, match="inflates beyond 1000"):
        extract_snippet(bomb)


def test_encode_png_rejects_bad_images():
    with pytest.raises(SnippetError, match="uint8"):
        encode_png(np.zeros((2, 2, 3)))
    with pytest.raises(SnippetError, match="shape"):
        encode_png(np.zeros((2, 2, 2), np.uint8))


_VALID = embed_snippet(encode_png(_image(3, 4)), TEXT)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_raise_only_snippet_error(data):
    for blob in (data, SIGNATURE + data):
        try:
            extract_snippet(blob)
        except SnippetError:
            pass


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, len(_VALID)))
def test_fuzz_mutations_raise_only_snippet_error(edits, cut):
    blob = bytearray(_VALID)
    for pos, value in edits:
        blob[pos] = value
    blob = bytes(blob[:cut]) if cut < len(blob) else bytes(blob)
    try:
        text = extract_snippet(blob)
    except SnippetError:
        return
    assert isinstance(text, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_any_text_round_trips(text):
    assert extract_snippet(embed_snippet(_VALID, text)) == text
