"""pytest plugin of the Keras-test runner: counts tests out by rule, records every outcome.

A test is counted out ("not claimed") when it raises ``NotClaimed``, when Keras' own
``skipif`` skips it under the TensorFlow backend, or by its source: it asks for bfloat16,
or it (or a class of its module that it names) calls ``add_variable`` (Keras variables). The
outcomes go to the JSON file named by ``--standin-results``: one record per test with its
file, outcome (passed / failed / error / not claimed), rule and first message line.
"""

import inspect
import json
import re

import pytest

from keras_standin.not_claimed import NotClaimed

_RESULTS: dict = {}


def pytest_addoption(parser):
    parser.addoption("--standin-results", default=None)


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_trainable_backend: Keras' marker (a trainable backend)")


def _source(item) -> str:
    fn = getattr(item, "obj", None)
    fn = getattr(fn, "__wrapped_case__", fn)
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _source_of(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _uses_add_variable(item, source: str) -> bool:
    if "add_variable(" in source:
        return True
    cls = getattr(item, "cls", None)
    for helper in re.findall(r"self\.(\w+)\(", source):  # helpers of the test class it calls
        fn = getattr(cls, helper, None)
        if fn is not None and not helper.startswith("assert") and "add_variable(" in _source_of(fn):
            return True
    module = getattr(item, "module", None)
    for name, obj in vars(module).items() if module is not None else ():
        if (inspect.isclass(obj) and obj.__module__ == module.__name__ and re.search(rf"\b{name}\b", source)
                and "add_variable(" in inspect.getsource(obj)):
            return True
    return False


def pytest_collection_modifyitems(items):
    for item in items:
        source = _source(item)
        if "bfloat16" in source:
            item.add_marker(pytest.mark.skip(reason="not claimed [bfloat16]: the test asks for bfloat16"))
        elif _uses_add_variable(item, source):
            item.add_marker(pytest.mark.skip(reason="not claimed [variables]: the test builds Keras variables "
                                                    "with Metric.add_variable"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo
    if exc is not None and exc.errisinstance(NotClaimed):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), 0, str(exc.value))
    elif exc is not None and report.failed:
        report.standin_message = exc.exconly().strip().splitlines()[0][:300] if exc.exconly().strip() else exc.typename


def _record(nodeid: str, **fields):
    old = _RESULTS.get(nodeid)
    if old is not None and old["outcome"] in ("failed", "error"):
        return  # the first failure of a test is its outcome (a teardown error after a failure adds nothing)
    _RESULTS[nodeid] = {"nodeid": nodeid, **fields}


def pytest_runtest_logreport(report):
    if report.passed and report.when == "call":
        _record(report.nodeid, outcome="passed", rule=None, message="")
    elif report.failed:
        _record(report.nodeid, outcome="failed" if report.when == "call" else "error", rule=None,
                message=getattr(report, "standin_message", str(report.longrepr).splitlines()[-1][:300]))
    elif report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        rule = reason.split("[", 1)[1].split("]", 1)[0] if reason.startswith("not claimed [") else "backend"
        _record(report.nodeid, outcome="not claimed", rule=rule, message=reason[:300])


def pytest_collectreport(report):
    if report.failed:
        _record(report.nodeid, outcome="error", rule=None,
                message="collection: " + str(report.longrepr).strip().splitlines()[-1][:300])


def pytest_sessionfinish(session):
    path = session.config.getoption("--standin-results")
    if path:
        with open(path, "w") as f:
            json.dump(sorted(_RESULTS.values(), key=lambda r: r["nodeid"]), f, indent=1)
