"""absl's ``parameterized`` decorators, for ``testing.TestCase`` subclasses.

``parameters(*cases)`` names the expanded tests ``<test><index>`` and
``named_parameters(*cases)`` ``<test>_<name>``, as absl does, so test ids match Keras' runs.
A case is a tuple (positional arguments), a dict (keyword arguments) or a single value.
"""

from collections.abc import Mapping


def _normalize(cases):
    if len(cases) == 1 and not isinstance(cases[0], (tuple, Mapping)):
        cases = tuple(cases[0])  # one iterable of cases
    return cases


def parameters(*cases):
    cases = _normalize(cases)

    def mark(fn):
        fn._standin_cases = [(str(i), c) for i, c in enumerate(cases)]
        fn._standin_named = False
        return fn
    return mark


def named_parameters(*cases):
    cases = _normalize(cases)
    named = []
    for c in cases:
        if isinstance(c, Mapping):
            c = dict(c)
            named.append((c.pop("testcase_name"), c))
        else:
            named.append((c[0], tuple(c[1:])))

    def mark(fn):
        fn._standin_cases = named
        fn._standin_named = True
        return fn
    return mark


def expand(cls) -> None:
    """Replace every marked method of ``cls`` by one method per case."""
    for attr, fn in list(vars(cls).items()):
        cases = getattr(fn, "_standin_cases", None)
        if cases is None:
            continue
        delattr(cls, attr)
        for label, case in cases:
            name = f"{attr}_{label}" if fn._standin_named else f"{attr}{label}"
            setattr(cls, name, _bind(fn, case, name))


def _bind(fn, case, name):
    if isinstance(case, Mapping):
        def test(self):
            return fn(self, **case)
    elif isinstance(case, tuple):
        def test(self):
            return fn(self, *case)
    else:
        def test(self):
            return fn(self, case)
    test.__name__ = name
    test.__qualname__ = name
    test.__wrapped_case__ = fn
    for mark in getattr(fn, "pytestmark", []):  # keep pytest marks (skipif, ...)
        test.pytestmark = getattr(test, "pytestmark", []) + [mark]
    return test


class TestCase:  # absl's parameterized.TestCase is used only as a base of testing.TestCase
    pass
