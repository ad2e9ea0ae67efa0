"""PNG chunks read and written headlessly (no Qt, no Pillow): how a snippet rides in a picture.

A PNG file is an 8-byte signature followed by chunks, each ``length (4 bytes, big endian)
| type (4 ASCII letters) | data | CRC-32 of type+data``; the first chunk is ``IHDR``, the
last ``IEND``. A haibal snippet is stored as one international text chunk (``iTXt``,
PNG spec 11.3.4.5) with the keyword ``haibal-snippet``, zlib-compressed, UTF-8: any
viewer shows the picture, ``exiftool`` or Qt's ``QImage.text("haibal-snippet")`` show
the JSON, and the chunk survives tools that keep text chunks.

Reading is strict, because the file may come from anywhere (a web page, a drag and drop):
the signature, every CRC, every declared length (never beyond the file's end; at most
``MAX_CHUNK`` bytes, and a decompressed snippet at most ``MAX_TEXT`` bytes), ``IHDR`` first,
``IEND`` last and nothing after it. Every fault raises ``SnippetError`` naming the chunk and
byte offset; nothing is ever executed or unpickled.

``encode_png`` writes a NumPy RGB/RGBA/grey image as a PNG (zlib, filter 0) for places
without Qt.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from ..errors import HaibalError

__all__ = ["Chunk", "SnippetError", "NO_SNIPPET", "SIGNATURE", "SNIPPET_KEYWORD", "MAX_CHUNK", "MAX_TEXT",
           "read_chunks", "write_chunks", "embed_text", "extract_text", "embed_snippet", "extract_snippet",
           "encode_png", "png_size"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SNIPPET_KEYWORD = "haibal-snippet"
NO_SNIPPET = "this image carries no haibal snippet"
#: the largest chunk accepted on reading (a snippet's JSON is a few KiB; pictures are split in IDATs)
MAX_CHUNK = 64 * 1024 * 1024
#: the largest decompressed text accepted (guards against zlib bombs)
MAX_TEXT = 64 * 1024 * 1024


class SnippetError(HaibalError, ValueError):
    """A snippet file (PNG or JSON) is malformed, or cannot be used as asked."""


@dataclass(frozen=True)
class Chunk:
    """One PNG chunk: its 4-letter type and its data (the CRC is computed on writing)."""

    type: bytes
    data: bytes

    @property
    def name(self) -> str:
        return self.type.decode("latin-1")


def _crc(ctype: bytes, data: bytes) -> int:
    return zlib.crc32(data, zlib.crc32(ctype)) & 0xFFFFFFFF


def read_chunks(png: bytes, max_chunk: int = MAX_CHUNK) -> list[Chunk]:
    """Every chunk of a PNG file, checked (signature, lengths, CRCs, IHDR first, IEND last)."""
    if not isinstance(png, (bytes, bytearray, memoryview)):
        raise SnippetError(f"a PNG must be given as bytes, got {type(png).__name__}")
    png = bytes(png)
    if not png.startswith(SIGNATURE):
        raise SnippetError("not a PNG file: the 8-byte PNG signature is missing")
    chunks: list[Chunk] = []
    pos, end = len(SIGNATURE), len(png)
    while True:
        if pos == end:
            last = chunks[-1].name if chunks else "the signature"
            raise SnippetError(f"truncated PNG: the file ends after {last} at byte {pos}, without an IEND chunk")
        if end - pos < 12:
            raise SnippetError(f"truncated PNG: {end - pos} stray byte(s) at byte {pos}, "
                               f"too few for a chunk (12 bytes at least)")
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        if not all(65 <= b <= 90 or 97 <= b <= 122 for b in ctype):
            raise SnippetError(f"corrupt PNG: chunk at byte {pos} has an invalid type {ctype!r}")
        name = ctype.decode("ascii")
        if length > 0x7FFFFFFF or length > max_chunk:
            raise SnippetError(f"corrupt PNG: chunk {name} at byte {pos} declares {length} bytes, "
                               f"more than the {max_chunk} accepted")
        if length > end - pos - 12:
            raise SnippetError(f"truncated PNG: chunk {name} at byte {pos} declares {length} bytes "
                               f"but only {max(end - pos - 12, 0)} remain in the file")
        data = png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        if crc != _crc(ctype, data):
            raise SnippetError(f"corrupt PNG: bad CRC in chunk {name} at byte {pos} "
                               f"(stored {crc:08x}, computed {_crc(ctype, data):08x})")
        if not chunks and ctype != b"IHDR":
            raise SnippetError(f"corrupt PNG: the first chunk is {name}, not IHDR")
        if ctype == b"IHDR" and (chunks or length != 13):
            raise SnippetError(f"corrupt PNG: misplaced or malformed IHDR chunk at byte {pos}")
        chunks.append(Chunk(ctype, data))
        pos += 12 + length
        if ctype == b"IEND":
            if pos != end:
                raise SnippetError(f"corrupt PNG: {end - pos} byte(s) after the IEND chunk")
            return chunks


def write_chunks(chunks: list[Chunk]) -> bytes:
    """A PNG file from chunks (CRCs computed here)."""
    out = [SIGNATURE]
    for c in chunks:
        out.append(struct.pack(">I4s", len(c.data), c.type))
        out.append(c.data)
        out.append(struct.pack(">I", _crc(c.type, c.data)))
    return b"".join(out)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a checked PNG."""
    w, h = struct.unpack(">II", read_chunks(png)[0].data[:8])
    return w, h


# ---------------------------------------------------------------------------------- iTXt
def _itxt(keyword: str, text: str) -> bytes:
    # keyword \0 compression-flag(1) method(0) language-tag \0 translated-keyword \0 text
    return keyword.encode("latin-1") + b"\x00\x01\x00" + b"\x00" + b"\x00" + zlib.compress(text.encode("utf-8"), 9)


def _parse_itxt(data: bytes, offset_name: str) -> tuple[str, str]:
    """(keyword, text) of an iTXt chunk; SnippetError when malformed."""
    key_end = data.find(b"\x00")
    if key_end < 1 or key_end > 79 or len(data) < key_end + 3:
        raise SnippetError(f"corrupt PNG: malformed iTXt chunk ({offset_name}): bad keyword")
    keyword = data[:key_end].decode("latin-1")
    flag, method = data[key_end + 1], data[key_end + 2]
    rest = data[key_end + 3:]
    lang_end = rest.find(b"\x00")
    tkey_end = rest.find(b"\x00", lang_end + 1) if lang_end >= 0 else -1
    if tkey_end < 0:
        raise SnippetError(f"corrupt PNG: malformed iTXt chunk {keyword!r}: missing language or translated keyword")
    body = rest[tkey_end + 1:]
    if flag == 1:
        if method != 0:
            raise SnippetError(f"corrupt PNG: iTXt chunk {keyword!r} uses unknown compression method {method}")
        body = _inflate(body, keyword)
    elif flag != 0:
        raise SnippetError(f"corrupt PNG: iTXt chunk {keyword!r} has compression flag {flag} (0 or 1 expected)")
    try:
        return keyword, body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnippetError(f"corrupt PNG: iTXt chunk {keyword!r} is not UTF-8 text ({exc.reason} "
                           f"at byte {exc.start})") from None


def _inflate(body: bytes, keyword: str) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(body, MAX_TEXT + 1)
    except zlib.error as exc:
        raise SnippetError(f"corrupt PNG: the compressed text of chunk {keyword!r} is damaged ({exc})") from None
    if len(out) > MAX_TEXT:
        raise SnippetError(f"corrupt PNG: the text of chunk {keyword!r} inflates beyond {MAX_TEXT} bytes")
    if not d.eof:
        raise SnippetError(f"corrupt PNG: the compressed text of chunk {keyword!r} is truncated")
    return out


def extract_text(png: bytes, keyword: str) -> str | None:
    """The text of the iTXt chunk with this keyword, or None when there is none."""
    for c in read_chunks(png):
        if c.type == b"iTXt" and c.data.startswith(keyword.encode("latin-1") + b"\x00"):
            return _parse_itxt(c.data, keyword)[1]
    return None


def embed_text(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with an iTXt chunk ``keyword`` holding ``text`` just before IEND (an existing
    chunk with this keyword is replaced). The input PNG is checked first."""
    if not (1 <= len(keyword) <= 79):
        raise SnippetError(f"a PNG text keyword has 1 to 79 characters, got {keyword!r}")
    prefix = keyword.encode("latin-1") + b"\x00"
    chunks = [c for c in read_chunks(png) if not (c.type == b"iTXt" and c.data.startswith(prefix))]
    chunks.insert(len(chunks) - 1, Chunk(b"iTXt", _itxt(keyword, text)))
    return write_chunks(chunks)


def embed_snippet(png: bytes, text: str) -> bytes:
    """The PNG carrying ``text`` (a snippet's JSON) in its ``haibal-snippet`` chunk."""
    return embed_text(png, SNIPPET_KEYWORD, text)


def extract_snippet(png: bytes) -> str:
    """The snippet JSON text carried by a PNG; SnippetError(NO_SNIPPET) when it has none."""
    text = extract_text(png, SNIPPET_KEYWORD)
    if text is None:
        raise SnippetError(NO_SNIPPET)
    return text


# ---------------------------------------------------------------------------------- encoder
def encode_png(image, compress_level: int = 9) -> bytes:
    """A PNG of a uint8 image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; filter 0 on every row."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise SnippetError(f"encode_png needs a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise SnippetError(f"encode_png needs an (H, W), (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    h, w, c = arr.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), np.ascontiguousarray(arr).reshape(h, w * c)], axis=1)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return write_chunks([Chunk(b"IHDR", ihdr), Chunk(b"IDAT", zlib.compress(rows.tobytes(), compress_level)),
                         Chunk(b"IEND", b"")])
