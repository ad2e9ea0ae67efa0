"""Run Keras' own unit tests of losses, metrics and activations against haibal-py.

    python scripts/run_keras_tests.py [--mirror GITDIR --tag v3.15.1 | --keras-src DIR]
                                      [--markdown docs/keras-tests.md] [-k EXPR]

Keras' test modules (``keras/src/{losses,metrics,activations}/*_test.py``, taken from a git
mirror of Keras at a tag, or from an extracted source tree) are copied to a temporary folder
with only their imports swapped: Keras' losses / metrics / activations become haibal-py's,
and the rest of Keras they import becomes the NumPy-only stand-ins of
``scripts/keras_standin`` (``testing.TestCase`` and its assertion helpers, absl's
``parameterized``, a few ``keras.ops`` to build inputs). They run under this interpreter
(haibal-py's venv: no TensorFlow), and the script prints, per test file, how many passed,
failed, errored, or were counted out as not claimed (tests of something haibal-py does not
claim to have, each under a printed rule), then every failure with its verdict from
``VERDICTS`` below ("UNCLASSIFIED" for one nobody has judged yet). ``--later REF`` runs
the tests of the classes where haibal-py follows a Keras fix made after the tag from Keras at
REF, where they must pass.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = Path(__file__).resolve().parent / "keras_standin"
AREAS = ("losses", "metrics", "activations")

sys.path.insert(0, str(STANDIN.parent))
from keras_standin.not_claimed import RULES  # noqa: E402

#: Import swaps, applied to whole import lines (regex -> replacement). Nothing else changes.
IMPORT_SWAPS = [
    (r"from absl\.testing import parameterized", "from keras_standin import parameterized"),
    (r"from absl import logging", "import logging"),
    (r"from keras\.src import testing", "from keras_standin import testing"),
    (r"from keras\.src import backend", "from keras_standin import backend"),
    (r"from keras\.src import ops", "from keras_standin import ops"),
    (r"from keras\.src\.ops import convert_to_tensor", "from keras_standin.ops import convert_to_tensor"),
    (r"from keras\.src import dtype_policies", "from keras_standin import dtype_policies"),
    (r"from keras\.src import initializers", "from keras_standin import initializers"),
    (r"from keras\.src\.backend\.common\.keras_tensor import KerasTensor",
     "from keras_standin.backend import KerasTensor"),
    (r"from keras\.src\.saving import register_keras_serializable",
     "from keras_standin.saving import register_keras_serializable"),
    (r"from keras\.src\.metrics import metrics_utils", "from keras_standin import metrics_utils"),
    (r"from keras\.src\.losses\.loss import squeeze_or_expand_to_same_rank",
     "from keras_standin.internal import squeeze_or_expand_to_same_rank"),
    (r"from keras\.src import layers", "from haibal_py import layers"),
    (r"from keras\.src import models", "from haibal_py import models"),
    (r"from keras\.src import (losses|metrics|activations)( as \w+)?$", r"from haibal_py import \1\2"),
    (r"from keras\.src\.losses import losses$", "from haibal_py import losses"),
    (r"from keras\.src\.losses\.loss import Loss$", "from haibal_py.losses import Loss"),
    (r"from keras\.src\.metrics\.metric import Metric$", "from haibal_py.metrics import Metric"),
    (r"from keras\.src\.metrics import (\w+_metrics) as (\w+)$", r"from haibal_py import metrics as \2"),
    (r"from keras\.src\.metrics import (\w+_metrics)$", r"from haibal_py import metrics as \1"),
    (r"from keras\.src\.metrics import ([A-Z]\w*)$", r"from haibal_py.metrics import \1"),
]

#: Tests of the classes where haibal-py follows a Keras fix made after the tag; ``--later REF``
#: runs them again from Keras at REF (its master, say), where they must pass.
LATER_FIXES = {
    "TverskyTest": "keras-team/keras#23333 (alpha weighs the false positives, beta the false negatives)",
    "R2ScoreTest": "keras-team/keras#23334 (the adjusted R2 counts samples, not elements)",
    "HuberLossTest": "keras-team/keras#23286 (Huber keeps `delta` in its configuration)",
    "CosineSimilarityTest": "keras-team/keras#23286 (CosineSimilarity keeps `axis` in its configuration)",
}

#: What each remaining failure is: (test id regex, message regex, verdict), the first match
#: wins. A verdict is "message wording only", "deliberate difference: <why>", or "bug: <what>"
#: (a fixed bug leaves this list); a failure no entry matches is printed as UNCLASSIFIED.
VERDICTS: list[tuple[str, str, str]] = [
    (r"", r'^AssertionError: ".*" does not match ".*', "message wording only (the exception type is Keras')"),
    (r"", r"object has no attribute '_dtype'",
     "deliberate difference: reads Keras' private `_dtype` (haibal-py's `dtype` is what was given)"),
    (r"FBetaScoreTest", r"no attribute '_build'", "deliberate difference: calls Keras' private `_build`"),
    (r"(Precision|Recall)Test::test_config", r"no attribute 'name'",
     "deliberate difference: metric states are float64 NumPy values, not Keras variables with a `.name` "
     "(their names are `state_names`)"),
    (r"LossTest::test_(reduction|sample_weight)", r"'float64' != 'float32'",
     "deliberate difference: float64 inputs give a float64 loss (haibal-py's dtype rule); Keras casts "
     "the inputs of a `Loss` to floatx"),
    (r"losses_test.py::(Huber|CosineSimilarity)\w*Test::test_config", r"",
     "deliberate difference: Keras' later fix #23286, the configuration keeps `delta` / `axis`"),
    (r"TverskyTest::", r"", "deliberate difference: Keras' later fix #23333 (alpha and beta were swapped)"),
    (r"R2ScoreTest::test_r2_tfa_comparison", r"",
     "deliberate difference: Keras' later fix #23334 (adjusted R2 with num_regressors > 0)"),
    (r"SparseCategoricalCrossentropyTest::test_\w+_different_axis", r"DID NOT RAISE",
     "deliberate difference: any class `axis` is taken, as Keras' torch backend does (TensorFlow's "
     "refuses axis=0); haibal-py gives the torch branch's expected 0.1578581"),
    (r"MeanIoUTest::test_user_warning_float_weight", r"DID NOT WARN",
     "deliberate difference: IoU keeps float weights in a float64 confusion matrix, so nothing is cast "
     "and nothing warned"),
    (r"test_binary_accuracy_with_boolean_inputs", r"SymbolicTensor",
     "deliberate difference (model side): haibal-py's symbolic tensors take layers, not Python operators "
     "(`inp > 0.5`)"),
    (r"IoUTest::test_compilation", r"_outputs",
     "bug (model side, outside this measure's modules): `Sequential` without an `Input` fails in "
     "`compile`/`fit` with metrics (`output_names` before the model is built)"),
]


def verdict_of(record: dict) -> str:
    for id_pattern, message_pattern, verdict in VERDICTS:
        if re.search(id_pattern, record["id"]) and re.search(message_pattern, record["message"]):
            return verdict
    return "UNCLASSIFIED"


def rewrite(source: str, name: str) -> str:
    """``source`` with every Keras / absl import swapped; an import not in the table is an error."""
    out = []
    for line in source.splitlines():
        stripped = line.strip()
        if re.match(r"(from|import) (keras|absl)\b", stripped):
            for pattern, repl in IMPORT_SWAPS:
                new, n = re.subn(pattern, repl, stripped)
                if n:
                    line = line[: len(line) - len(line.lstrip())] + new
                    break
            else:
                raise SystemExit(f"{name}: no swap for the import {stripped!r}")
        out.append(line)
    return "\n".join(out) + "\n"


def keras_test_sources(args, tag) -> dict[str, str]:
    """``area/file.py`` -> source text of every Keras test module of the three areas."""
    found = {}
    if args.keras_src:
        base = Path(args.keras_src) / "keras" / "src"
        for area in AREAS:
            for path in sorted((base / area).glob("*_test.py")):
                found[f"{area}/{path.name}"] = path.read_text()
        return found
    paths = [f"keras/src/{a}" for a in AREAS]
    tar = subprocess.run(["git", "-C", args.mirror, "archive", tag, *paths], check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        for member in tf.getmembers():
            parts = member.name.split("/")
            if member.isfile() and parts[-1].endswith("_test.py") and len(parts) == 4:
                found[f"{parts[2]}/{parts[3]}"] = tf.extractfile(member).read().decode()
    return dict(sorted(found.items()))


def run(args, tag=None, k=None) -> list[dict]:
    sources = keras_test_sources(args, tag or args.tag)
    if not sources:
        raise SystemExit("no Keras test module found")
    with tempfile.TemporaryDirectory(prefix="keras_tests_") as tmp:
        tmp = Path(tmp)
        shutil.copytree(STANDIN, tmp / "keras_standin", ignore=shutil.ignore_patterns("__pycache__"))
        (tmp / "conftest.py").write_text('pytest_plugins = ["keras_standin.plugin"]\n')
        for rel, text in sources.items():
            dest = tmp / "tests" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(rewrite(text, rel))
        results = tmp / "results.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)]), PYTHONHASHSEED="0")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
               "--rootdir", str(tmp), f"--standin-results={results}", "tests"]
        if k:
            cmd += ["-k", k]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        if not results.exists():
            sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
            raise SystemExit("pytest wrote no results")
        if args.verbose:
            sys.stderr.write(proc.stdout)
        records = json.loads(results.read_text())
    for r in records:
        r["file"] = r["nodeid"].split("::", 1)[0].removeprefix("tests/")
        r["id"] = r["nodeid"].removeprefix("tests/")
    return records


def report(records: list[dict], args, later: list[dict] | None = None) -> str:
    """The table, the rules and the failures, as Markdown (also fine as plain text)."""
    files = sorted({r["file"] for r in records})
    kinds = ("passed", "failed", "error", "not claimed")
    lines = [f"Keras {args.tag} tests of losses, metrics and activations, run against haibal-py "
             f"(`python scripts/run_keras_tests.py`).", ""]
    lines += ["| test file | passed | failed | errors | not claimed |", "|---|---:|---:|---:|---:|"]
    total = Counter()
    for f in files:
        c = Counter(r["outcome"] for r in records if r["file"] == f)
        total.update(c)
        lines.append(f"| {f} | " + " | ".join(str(c[k]) for k in kinds) + " |")
    lines.append("| **total** | " + " | ".join(f"**{total[k]}**" for k in kinds) + " |")
    claimed = total["passed"] + total["failed"] + total["error"]
    lines += ["", f"Of the {claimed} tests of what haibal-py claims, {total['passed']} pass "
              f"({100 * total['passed'] / max(claimed, 1):.1f}%).", ""]
    rule_counts = Counter(r["rule"] for r in records if r["outcome"] == "not claimed")
    lines += ["## Rules by which a test is counted out (not claimed)", ""]
    for key, text in RULES.items():
        lines.append(f"- **{key}** ({rule_counts.get(key, 0)} tests): {text}")
    lines += ["", "## Imports swapped", "",
              "Only import lines change; each Keras import becomes haibal-py's module or a NumPy-only "
              "stand-in of `scripts/keras_standin` (a stand-in raises `NotClaimed` for what is counted out):", ""]
    lines += [f"- `{p}` -> `{r}`".replace("\\", "") for p, r in IMPORT_SWAPS]
    bad = [r for r in records if r["outcome"] in ("failed", "error")]
    kinds_of = Counter(verdict_of(r).split(":")[0].split(" (")[0] for r in bad)
    lines += ["", f"## Remaining failures ({len(bad)}: "
              + ", ".join(f"{n} {k}" for k, n in sorted(kinds_of.items())) + ")", ""]
    at_later = {r["id"]: r["outcome"] for r in later or []}
    for r in bad:
        verdict = verdict_of(r)
        if r["id"] in at_later:
            verdict += f" (this test at Keras {args.later}: {at_later[r['id']]})"
        lines.append(f"- `{r['id']}`: {verdict}. ({r['outcome']}: `{r['message'][:160]}`)")
    if later is not None:
        c = Counter(r["outcome"] for r in later)
        lines += ["", f"## Keras' later fixes, checked against Keras {args.later}", "",
                  "haibal-py follows these fixes made after the tag; the same classes' tests, taken from "
                  f"Keras {args.later}, give {c['passed']} passed, {c['failed']} failed, {c['error']} errors, "
                  f"{c['not claimed']} not claimed:", ""]
        lines += [f"- `{cls}`: {why}" for cls, why in LATER_FIXES.items()]
        lines += [f"- FAILS at {args.later}: `{r['id']}` (`{r['message'][:160]}`)" for r in later
                  if r["outcome"] in ("failed", "error")]
    if args.list_not_claimed:
        lines += ["", "## Not claimed, test by test", ""]
        lines += [f"- `{r['id']}`: {r['rule']}" for r in records if r["outcome"] == "not claimed"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirror", default="/work/.mirror/keras-team+keras/repo", help="git dir of Keras")
    ap.add_argument("--tag", default="v3.15.1")
    ap.add_argument("--keras-src", help="an extracted Keras tree instead of the mirror")
    ap.add_argument("--markdown", help="also write the report to this file")
    ap.add_argument("--json", help="also write every test's record to this file")
    ap.add_argument("--list-not-claimed", action="store_true")
    ap.add_argument("--later", help="also run the tests of LATER_FIXES' classes from this Keras ref")
    ap.add_argument("-k", help="pytest -k expression (a partial run)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    args = ap.parse_args(argv)
    records = run(args, k=args.k)
    later = run(args, tag=args.later, k=" or ".join(LATER_FIXES)) if args.later else None
    text = report(records, args, later)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(
            "# Keras' own tests, run against haibal-py\n\n"
            "Generated by `python scripts/run_keras_tests.py --later 3422977a5e --markdown docs/keras-tests.md` "
            "in haibal-py's venv (NumPy, no TensorFlow; SciPy for the reference values of three tests: "
            "`pip install scipy`), from the Keras git mirror. The stand-ins and the pytest plugin that counts "
            "tests out are in `scripts/keras_standin/`.\n\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
