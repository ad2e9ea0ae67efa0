"""Snippet files: the snippet document in ``NAME.snippet.json`` and in a ``NAME.png`` picture.

A snippet document is ``{"format": "haibal-snippet", "version": 1, "name", "description",
"category", "params": [...], "graph": <a saved-graph document>}``. The same JSON text is
written to ``NAME.snippet.json`` and, byte for byte, into the ``iTXt`` chunk
``haibal-snippet`` of ``NAME.png`` (``png_chunks``). This module checks a document's
envelope and moves its text to and from files; the graph layer turns it into a template.

The two files are a pair: saving writes each atomically (unique temporary file, fsync,
rename) while holding the folder's lock, so concurrent saves never mix; reading one of
them checks the other when it is there, and a pair holding different snippets (a save
killed between its two renames, a file edited by hand) is refused, naming both files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .atomic import folder_lock, write_bytes_atomic
from .png_chunks import NO_SNIPPET, SnippetError, embed_snippet, encode_png, extract_snippet

__all__ = ["FORMAT", "VERSION", "JSON_SUFFIX", "PNG_SUFFIX", "check_envelope", "check_name", "file_stem",
           "is_snippet_path", "placeholder_png", "read_snippet_text", "snippet_paths", "write_snippet_files"]

FORMAT = "haibal-snippet"
VERSION = 1
JSON_SUFFIX = ".snippet.json"
PNG_SUFFIX = ".png"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\- ]*$")


def check_name(name: Any, source: str = "snippet") -> None:
    """A snippet name: 1-100 letters, digits, spaces, _ or -, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 100:
        raise SnippetError(f"{source}: a snippet name is 1-100 letters, digits, spaces, _ or -, "
                           f"starting with a letter or digit; got {name!r}")


def check_envelope(doc: Any, source: str = "snippet") -> None:
    """SnippetError unless ``doc`` has a snippet document's format, version and field types."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        fmt = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise SnippetError(f"{source}: not a haibal snippet (expected \"format\": \"{FORMAT}\", got {fmt!r})")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SnippetError(f"{source}: snippet version must be a positive integer, got {version!r}")
    if version > VERSION:
        raise SnippetError(f"{source}: snippet format version {version} is newer than this haibal-py "
                           f"reads (version {VERSION}); update haibal-py to use it")
    for key, kind in (("name", str), ("description", str), ("category", str), ("params", list),
                      ("graph", dict)):
        if key in doc and not isinstance(doc[key], kind) or (key in ("name", "graph") and key not in doc):
            raise SnippetError(f"{source}: field {key!r} must be a {kind.__name__}")
    check_name(doc["name"], source)
    for i, p in enumerate(doc.get("params", [])):
        if not isinstance(p, dict) or not all(isinstance(p.get(k), str) for k in ("name", "node", "param")):
            raise SnippetError(f"{source}: params[{i}] must have string fields name, node and param")


def file_stem(name: str) -> str:
    """The file name stem of a snippet (spaces become underscores)."""
    return name.strip().replace(" ", "_")


def is_snippet_path(path: str | Path) -> bool:
    """Whether a path names a snippet file (``*.snippet.json`` or ``*.png``)."""
    name = Path(path).name.lower()
    return name.endswith(JSON_SUFFIX) or name.endswith(PNG_SUFFIX)


def read_snippet_text(path: str | Path, check_pair: bool = True) -> str:
    """The snippet JSON text of a ``.snippet.json`` or ``.png`` file (not yet checked). With
    ``check_pair``, the other file of the pair, when present, must hold the same text."""
    path = Path(path)
    text = _read_one(path)
    other = _pair_of(path)
    if check_pair and other is not None and other.is_file():
        try:
            other_text = _read_one(other)
        except SnippetError:
            other_text = None
        if other_text != text:
            raise SnippetError(f"{path.name} and {other.name} hold different snippets (a save was interrupted, "
                               f"or one was edited); keep the one you want and delete the other")
    return text


def _pair_of(path: Path) -> Path | None:
    low = path.name.lower()
    if low.endswith(JSON_SUFFIX):
        return path.with_name(path.name[:-len(JSON_SUFFIX)] + PNG_SUFFIX)
    if low.endswith(PNG_SUFFIX):
        return path.with_name(path.name[:-len(PNG_SUFFIX)] + JSON_SUFFIX)
    return None


def _read_one(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnippetError(f"cannot read snippet file {str(path)!r}: {exc.strerror or exc}") from None
    if path.name.lower().endswith(PNG_SUFFIX):
        try:
            return extract_snippet(data)
        except SnippetError as exc:
            raise SnippetError(str(exc) if str(exc) == NO_SNIPPET else f"{path.name}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnippetError(f"{path.name}: a snippet file is UTF-8 JSON ({exc.reason} at byte {exc.start})") from None


def snippet_paths(folder: str | Path) -> list[Path]:
    """The snippets in a folder: one path per snippet (the PNG when both files exist), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        low = p.name.lower()
        if low.endswith(JSON_SUFFIX):
            found.setdefault(p.name[:-len(JSON_SUFFIX)], p)
        elif low.endswith(PNG_SUFFIX):
            found[p.name[:-len(PNG_SUFFIX)]] = p
    return [found[k] for k in sorted(found)]


def write_snippet_files(folder: str | Path, name: str, text: str, picture: bytes) -> tuple[Path, Path]:
    """Write ``NAME.snippet.json`` and ``NAME.png`` (``picture`` with ``text`` embedded), each
    atomically, holding the folder's lock (concurrent saves of one snippet never mix)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png = embed_snippet(picture, text)
    stem = file_stem(name)
    json_path, png_path = folder / f"{stem}{JSON_SUFFIX}", folder / f"{stem}{PNG_SUFFIX}"
    with folder_lock(folder):
        write_bytes_atomic(json_path, text.encode("utf-8"))
        write_bytes_atomic(png_path, png)
    return json_path, png_path


def placeholder_png(boxes: Iterable[tuple[float, float, str]], wires: Iterable[tuple[int, int]],
                    scale: float = 0.5) -> bytes:
    """A plain headless drawing: node boxes at ``(x, y, role)`` (role "input", "output" or "node")
    and straight wires between box indices; the editor renders the real picture from its scene."""
    boxes = list(boxes)
    xs = [b[0] for b in boxes] or [0.0]
    ys = [b[1] for b in boxes] or [0.0]
    x0, y0 = min(xs), min(ys)
    box_w, box_h, pad = 120, 50, 20
    w = int((max(xs) - x0) * scale) + box_w + 2 * pad
    h = int((max(ys) - y0) * scale) + box_h + 2 * pad
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (45, 47, 52)
    corner = [(int((x - x0) * scale) + pad, int((y - y0) * scale) + pad) for x, y, _ in boxes]
    for a, b in wires:
        (ax, ay), (bx, by) = corner[a], corner[b]
        _line(img, ax + box_w, ay + box_h // 2, bx, by + box_h // 2, (230, 190, 80))
    for (cx, cy), (_, _, role) in zip(corner, boxes):
        color = (70, 120, 180) if role == "input" else (90, 160, 90) if role == "output" else (110, 110, 125)
        img[cy:cy + box_h, cx:cx + box_w] = color
        img[cy:cy + 12, cx:cx + box_w] = tuple(min(c + 60, 255) for c in color)
    return encode_png(img)


def _line(img: np.ndarray, ax: int, ay: int, bx: int, by: int, color) -> None:
    n = max(abs(bx - ax), abs(by - ay), 1)
    t = np.linspace(0.0, 1.0, n + 1)
    xs = np.clip(np.round(ax + (bx - ax) * t).astype(int), 0, img.shape[1] - 1)
    ys = np.clip(np.round(ay + (by - ay) * t).astype(int), 0, img.shape[0] - 1)
    img[ys, xs] = color
    img[np.clip(ys + 1, 0, img.shape[0] - 1), xs] = color
