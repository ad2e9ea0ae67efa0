"""Parsers for the text parameters of the Array and Math nodes (never ``eval``).

- ``parse_ints("2, -1")`` -> (2, -1): a shape or an axes list; ``parse_shape`` (a reshape
  target, one -1 allowed) and ``parse_sizes`` (the shape of an array to make) check it;
- ``parse_axis("all")`` -> None, ``"1"`` -> 1, ``"0, 2"`` -> (0, 2): a reduction axis;
- ``parse_index("0, 1:3, ::2")`` -> (0, slice(1, 3), slice(None, None, 2)): NumPy's basic
  indexing (integers, ``start:stop:step`` slices, ``...`` and ``None``/``newaxis``).

Each raises ``ValueError`` with the reason; the nodes turn it into a ``ParameterError``.
"""

from __future__ import annotations

import re

_INT = re.compile(r"[+-]?\d+")
_NONE_WORDS = ("none", "newaxis")


def _parts(text: str) -> list[str]:
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) > 1 and parts[-1] == "":  # a trailing comma, as in x[0,]
        parts.pop()
    if parts == [""]:
        return []
    return parts


def parse_ints(text: str, what: str = "value") -> tuple[int, ...]:
    """Integers separated by commas (``""``: none); brackets around them are allowed."""
    stripped = str(text).strip()
    if stripped[:1] in "([" and stripped[-1:] in ")]":
        stripped = stripped[1:-1]
    parts = _parts(stripped)
    for p in parts:
        if not _INT.fullmatch(p):
            raise ValueError(f"{what} must be integers separated by commas, got {text!r} "
                             f"({p!r} is not an integer)" if p else
                             f"{what} must be integers separated by commas, got {text!r} (an empty entry)")
    return tuple(int(p) for p in parts)


def parse_shape(text: str) -> tuple[int, ...]:
    """A reshape target: sizes >= 0 and at most one -1 (the size left over)."""
    dims = parse_ints(text, "shape")
    check_shape(dims, repr(text))
    return dims


def parse_sizes(text: str) -> tuple[int, ...]:
    """An array shape to make: sizes >= 0 separated by commas (or ``x``: ``4 x 64``); ``""``: a scalar."""
    dims = parse_ints(str(text).replace("x", ","), "shape")
    if any(d < 0 for d in dims):
        raise ValueError(f"shape {text!r} holds a negative size")
    return dims


def check_shape(dims: tuple[int, ...], shown: str) -> None:
    if any(d < -1 for d in dims):
        raise ValueError(f"shape {shown} holds a size below -1")
    if dims.count(-1) > 1:
        raise ValueError(f"shape {shown} holds -1 more than once (only one size can be inferred)")


def parse_axes(text: str) -> tuple[int, ...] | None:
    """A transpose permutation; empty text: None (reverse the axes)."""
    axes = parse_ints(text, "axes")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axes {text!r} repeats an axis")
    return axes or None


def parse_axis(text: str) -> int | tuple[int, ...] | None:
    """A reduction axis: ``all``/``none``/empty -> None, one integer, or several."""
    stripped = str(text).strip()
    if stripped.lower() in ("", "all", "none"):
        return None
    try:
        axes = parse_ints(stripped, "axis")
    except ValueError:
        raise ValueError(f"axis must be an integer, integers separated by commas, or 'all', "
                         f"got {text!r}") from None
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis {text!r} repeats an axis")
    return axes[0] if len(axes) == 1 and "," not in stripped else axes


def _slice_part(p: str, text: str) -> slice:
    pieces = [s.strip() for s in p.split(":")]
    if len(pieces) > 3:
        raise ValueError(f"{p!r} in index {text!r} has more than two ':'")
    values = []
    for s in pieces:
        if s and not _INT.fullmatch(s):
            raise ValueError(f"{p!r} in index {text!r}: {s!r} is not an integer")
        values.append(int(s) if s else None)
    if len(values) == 3 and values[2] == 0:
        raise ValueError(f"{p!r} in index {text!r}: the step cannot be 0")
    return slice(*values) if len(values) == 3 else slice(values[0], values[1])


def parse_index(text: str) -> tuple:
    """NumPy basic indexing from text: ``"0, 1:3, ::2"``, ``"..., -1"``, ``"None, :"``."""
    parts = _parts(text)
    out: list = []
    for p in parts:
        if p == "":
            raise ValueError(f"index {text!r} has an empty entry")
        if p == "...":
            if Ellipsis in out:
                raise ValueError(f"index {text!r} holds '...' more than once")
            out.append(Ellipsis)
        elif p.lower() in _NONE_WORDS:
            out.append(None)
        elif _INT.fullmatch(p):
            out.append(int(p))
        elif ":" in p:
            out.append(_slice_part(p, text))
        else:
            raise ValueError(f"cannot read {p!r} in index {text!r}: use integers, start:stop:step "
                             f"slices, '...' or None")
    return tuple(out)


def index_rank_change(index: tuple) -> tuple[int, int]:
    """(axes consumed, rank change) of a parsed index: integers drop an axis, None adds one."""
    consumed = sum(1 for e in index if e is not None and e is not Ellipsis)
    change = sum(1 for e in index if e is None) - sum(1 for e in index if isinstance(e, int))
    return consumed, change
