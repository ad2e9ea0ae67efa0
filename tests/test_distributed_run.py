"""Sharded runs and sweeps in this process: ``run_over`` and ``haibal run --over/--sweep``
(merged outputs, per-shard tables, failures, usage errors, running without Dask, Ctrl+C)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from haibal_py import cli
from haibal_py.distributed import run_over
from haibal_py.graph import Graph
from haibal_py.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
SEG = ROOT / "examples" / "segmentation.json"
_spec = importlib.util.spec_from_file_location("make_shards", ROOT / "scripts" / "make_shards.py")
make_shards_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_shards_module)


@pytest.fixture
def shards(tmp_path):
    """Five small segmentation shards (2 maps of 8x8, 5 classes, void 255) and their concatenation."""
    folder = tmp_path / "shards"
    paths = make_shards_module.make_shards(folder, 5, 2, 8, 5, concat=tmp_path / "all.npz")
    with np.load(tmp_path / "all.npz") as z:
        whole = {k: z[k] for k in z.files}
    return folder, paths, whole


def single(inputs: dict, sets: dict | None = None):
    g = Graph.load(SEG)
    for (node, param), value in (sets or {}).items():
        g.set_param(node, param, value)
    return Runtime(g).run(inputs).outputs


def main(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------------------- merged results
def test_the_segmentation_example_over_shards_equals_one_run_over_their_concatenation(shards):
    folder, paths, whole = shards
    res = run_over(SEG, str(folder / "*.npz"), workers=1)
    assert res.ok and res.shards == 5 and res.where == "in this process"
    row = res.rows[0]
    assert row.per_shard == ["loss_map"] and row.shards == 5
    np.testing.assert_allclose(res.merged["mean_loss"], single(whole)["mean_loss"], rtol=1e-12)
    # the shards as a list of paths give the same (and the same order, whatever was listed first)
    again = run_over(Graph.load(SEG), [str(p) for p in reversed(paths)], workers=1)
    assert again.merged == res.merged


def test_haibal_run_over_prints_the_merged_outputs(shards, capsys):
    folder, _, whole = shards
    code, out, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if ln.startswith("mean_loss"))
    assert "merged over 5 of 5 shards" in line
    assert float(line.split()[1]) == pytest.approx(single(whole)["mean_loss"], rel=1e-12)
    assert "loss_map" in out and "per shard (5 values" in out
    assert "ran 5 runs in this process" in err
    code, out, _ = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["shards"] == 5 and doc["failures"] == []
    assert doc["outputs"]["mean_loss"]["value"] == pytest.approx(single(whole)["mean_loss"], rel=1e-12)
    assert doc["results"][0]["per_shard"] == ["loss_map"]


def test_per_shard_outputs_go_to_npz_csv_and_json(shards, tmp_path, capsys):
    folder, paths, whole = shards
    npz, table, js = tmp_path / "out.npz", tmp_path / "out.csv", tmp_path / "out.json"
    for out in (npz, table, js):
        code, _, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1", "--output", out)
        assert code == 0, err
    merged = single(whole)["mean_loss"]
    with np.load(npz) as z:
        assert float(z["mean_loss"]) == pytest.approx(merged, rel=1e-12)
        for p in paths:
            with np.load(p) as s:
                one = single({"labels": s["labels"], "logits": s["logits"]})
            key = Path(p).with_suffix("").as_posix().lstrip("/")
            np.testing.assert_array_equal(z[f"loss_map/{key}"], one["loss_map"])
            assert float(z[f"mean_loss/{key}"]) == one["mean_loss"]
    rows = list(csv.DictReader(table.open()))
    assert [r["shard"] for r in rows] == [str(p) for p in paths] + ["(merged)"]
    assert float(rows[-1]["mean_loss"]) == pytest.approx(merged, rel=1e-12) and rows[-1]["loss_map"] == ""
    assert rows[0]["loss_map"].startswith("shape (2, 8, 8) float32") and rows[0]["error"] == ""
    doc = json.loads(js.read_text())
    assert doc["outputs"] == ["loss_map", "mean_loss"] and len(doc["rows"]) == 6
    assert doc["rows"][-1]["shard"] == "(merged)" and doc["rows"][-1]["shards"] == 5
    assert doc["rows"][0]["outputs"]["loss_map"]["summary"]["shape"] == [2, 8, 8]
    assert not list(tmp_path.glob(".out.*.tmp"))  # the temporary files were renamed


def test_a_failing_shard_is_listed_and_the_others_complete(shards, tmp_path, capsys):
    folder, paths, whole = shards
    (folder / "broken.npz").write_bytes(b"not a zip file")
    np.savez(folder / "named_wrong.npz", labels=np.zeros((1, 8, 8), np.int32), scores=np.zeros((1, 8, 8, 5)))
    np.savez(folder / "bad_labels.npz", labels=np.full((1, 8, 8), 40, np.int32),
             logits=np.zeros((1, 8, 8, 5), np.float32))
    out = tmp_path / "t.csv"
    code, stdout, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1", "--output", out)
    assert code == 1
    assert "haibal: 3 of 8 runs failed:" in err
    lines = err.splitlines()
    bad = next(ln for ln in lines if "bad_labels.npz" in ln)
    assert "node 'scc1' (per pixel, SparseCategoricalCrossentropy) failed" in bad and "label 40" in bad
    assert any("broken.npz" in ln and "not a .npz file (it is not a zip archive)" in ln for ln in lines)
    assert any("named_wrong.npz" in ln and "no input 'scores'" in ln for ln in lines)
    assert "Traceback" not in err
    line = next(ln for ln in stdout.splitlines() if ln.startswith("mean_loss"))
    assert "merged over 5 of 8 shards" in line  # the five good ones, as one run over them
    assert float(line.split()[1]) == pytest.approx(single(whole)["mean_loss"], rel=1e-12)
    rows = {r["shard"]: r for r in csv.DictReader(out.open())}
    assert "label 40" in rows[str(folder / "bad_labels.npz")]["error"]
    assert rows["(merged)"]["error"] == "3 shard(s) failed"
    res = run_over(SEG, str(folder / "*.npz"), workers=1)
    assert {Path(f.shard).name: f.node for f in res.failures} == {
        "bad_labels.npz": "scc1", "broken.npz": None, "named_wrong.npz": None}


# ---------------------------------------------------------------------------- sweeps
def test_a_sweep_runs_the_product_of_settings_and_writes_one_table(tmp_path, capsys):
    table = tmp_path / "sweep.csv"
    code, out, err = main(capsys, "run", SEG, "--workers", "1", "--sweep", "mean over valid pixels.from_logits=true,false",
                          "--sweep", "scc2.ignore_class=255,null", "--output", table)
    assert code == 1 and "haibal: 2 of 4 runs failed:" in err  # without ignore_class, 255 is out of range
    rows = list(csv.DictReader(table.open()))
    settings = [(r["mean over valid pixels.from_logits"], r["scc2.ignore_class"]) for r in rows]
    assert settings == [("true", "255"), ("true", "null"), ("false", "255"), ("false", "null")]
    for r in rows:
        sets = {("scc2", "from_logits"): r["mean over valid pixels.from_logits"] == "true",
                ("scc2", "ignore_class"): None if r["scc2.ignore_class"] == "null" else 255}
        if sets[("scc2", "ignore_class")] is None:
            with pytest.raises(Exception):  # 255 is a label out of range without ignore_class
                single({}, sets)
            assert "255" in r["error"]
        else:
            assert float(r["mean_loss"]) == single({}, sets)["mean_loss"]
    assert out.splitlines()[0].split() == ["mean", "over", "valid", "pixels.from_logits", "scc2.ignore_class",
                                           "loss_map", "mean_loss"]
    code, out, _ = main(capsys, "run", SEG, "--workers", "1", "--sweep", "scc2.from_logits=true,false", "--json")
    doc = json.loads(out)
    assert [r["settings"] for r in doc["results"]] == [{"scc2.from_logits": True}, {"scc2.from_logits": False}]
    assert doc["results"][1]["outputs"]["mean_loss"]["value"] == pytest.approx(
        single({}, {("scc2", "from_logits"): False})["mean_loss"])


def test_a_sweep_over_shards_merges_each_setting(shards, tmp_path):
    folder, _, whole = shards
    res = run_over(SEG, str(folder / "*.npz"), workers=1, sweep={"scc2.from_logits": [True, False]},
                   output=tmp_path / "t.npz")
    assert [r.settings for r in res.rows] == [{"scc2.from_logits": True}, {"scc2.from_logits": False}]
    for row in res.rows:
        expected = single(whole, {("scc2", "from_logits"): row.settings["scc2.from_logits"]})["mean_loss"]
        assert row.outputs["mean_loss"] == pytest.approx(expected, rel=1e-12) and row.shards == 5
    with np.load(tmp_path / "t.npz") as z:
        assert float(z["s1/mean_loss"]) == pytest.approx(res.rows[1].outputs["mean_loss"], rel=1e-15)
        assert sum(k.startswith("s0/loss_map/") for k in z.files) == 5
    with pytest.raises(ValueError, match="2 settings"):
        res.merged


def test_sweep_values_with_commas_inside_brackets_are_one_value(tmp_path):
    g = Graph("thr")
    n = g.add_node("haibal.metrics.Precision", "prec")
    g.connect(g.add_input("y_true", default=np.array([1.0, 0.0, 1.0, 1.0])), "value", n, "y_true")
    g.connect(g.add_input("y_pred", default=np.array([0.9, 0.6, 0.4, 0.2])), "value", n, "y_pred")
    g.connect(n, "result", g.add_output("p"), "value")
    res = run_over(g, None, workers=1, sweep=["prec.thresholds=[0.3, 0.5],0.1"])
    assert [len(np.atleast_1d(r.outputs["p"])) for r in res.rows] == [2, 1]
    np.testing.assert_allclose(res.rows[0].outputs["p"], [2 / 3, 1 / 2])


# ---------------------------------------------------------------------------- one-array shards
def test_npy_and_csv_shards_feed_the_input_named_by_over_input(tmp_path, capsys):
    g = Graph("mean")
    n = g.add_node("haibal.metrics.Mean", instance="array")
    g.connect(g.add_input("values", type="float[1+]"), "value", n, "values")
    g.connect(n, "result", g.add_output("mean"), "value")
    g.save(tmp_path / "mean.json")
    rng = np.random.default_rng(5)
    parts = [rng.standard_normal(k) for k in (3, 7, 2)]
    np.save(tmp_path / "a.npy", parts[0])
    np.save(tmp_path / "b.npy", parts[1])
    np.savetxt(tmp_path / "c.csv", parts[2], delimiter=",")
    code, out, err = main(capsys, "run", tmp_path / "mean.json", "--over", tmp_path / "*.npy", tmp_path / "c.csv",
                          "--over-input", "values", "--workers", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["outputs"]["mean"]["value"] == pytest.approx(np.concatenate(parts).mean(), rel=1e-12)
    code, _, err = main(capsys, "run", tmp_path / "mean.json", "--over", tmp_path / "*.npy", "--workers", "1")
    assert code == 2 and "--over-input NAME" in err


# ---------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args, message", [
    (["--over", "nowhere/*.npz"], "no file matches"),
    (["--over", "missing.npz"], "no such file"),
    (["--sweep", "scc2.from_logits"], "must look like NODE.PARAM=VALUE1,VALUE2"),
    (["--sweep", "nonode.axis=1"], "no node with id or name 'nonode'"),
    (["--sweep", "scc2.nope=1"], "has no parameter 'nope'"),
    (["--sweep", "scc2.from_logits=true,maybe"], "parameter 'from_logits' must be a bool"),
    (["--sweep", "scc2.axis=-1,,1"], "an empty value"),
    (["--sweep", "scc2.axis=1", "--sweep", "scc2.axis=2"], "swept twice"),
    (["--sweep", "rs1.type=int[3],float[2]"], "is not valid"),
    (["--workers", "0", "--sweep", "scc2.axis=-1"], "--workers must be at least 1"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1", "--sweep", "scc2.axis=-1"], "exclude each other"),
    (["--sweep", "scc2.axis=-1", "--output", "table.txt"], ".csv, .json or .npz"),
    (["--over-input", "labels"], "--over-input is for runs over shards or sweeps"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler is for runs over shards or sweeps"),
])
def test_unusable_arguments_exit_2_with_one_line(capsys, args, message):
    scaled = ("--over" in args or "--sweep" in args) and "--workers" not in args and "--scheduler" not in args
    code, out, err = main(capsys, "run", SEG, *(["--workers", "1"] if scaled else []), *args)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err


# ---------------------------------------------------------------------------- without Dask
def test_without_dask_one_worker_runs_here_and_more_say_what_to_install(shards, capsys, monkeypatch):
    folder, _, whole = shards
    for name in ("distributed", "dask"):
        monkeypatch.setitem(sys.modules, name, None)  # import distributed -> ImportError
    code, out, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1")
    assert code == 0 and "merged over 5 of 5 shards" in out
    code, out, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "2")
    assert code == 2 and out == ""
    assert "--workers 2 runs on a local Dask cluster" not in err  # the message names the option and the fix:
    assert "--workers 2 runs on a Dask cluster, and dask.distributed is not installed" in err
    assert "pip install 'haibal-py[distributed]'" in err and "--workers 1" in err
    code, out, err = main(capsys, "run", SEG, "--over", folder / "*.npz")  # the default: this process, a note
    assert code == 0 and "haibal: note: running in this process" in err
    code, _, err = main(capsys, "run", SEG, "--sweep", "scc2.axis=-1", "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2 and "pip install 'haibal-py[distributed]'" in err


# ---------------------------------------------------------------------------- progress and Ctrl+C
def test_the_progress_bar_counts_shards_with_rate_and_eta(shards, capsys):
    folder, _, _ = shards
    code, _, err = main(capsys, "run", SEG, "--over", folder / "*.npz", "--workers", "1", "--progress")
    assert code == 0
    assert "5/5 shards" in err and "/s" in err and ("ETA" in err or " in 0:" in err)


def many_shards(tmp_path, count: int) -> Path:
    """``count`` shards: hard links to one shard of 8 maps of 64x64x21 (a run of a few ms each)."""
    folder = tmp_path / "many"
    first = make_shards_module.make_shards(folder, 1, 8, 64, 21)[0]
    for i in range(1, count):
        os.link(first, folder / f"link_{i:04d}.npz")
    return folder


def interrupt_after_progress(args, tmp_path) -> subprocess.CompletedProcess:
    """Start ``haibal run ARGS --progress``, wait for its progress bar, press Ctrl+C (SIGINT to
    its process group, as a terminal does); the finished process."""
    proc = subprocess.Popen([sys.executable, "-m", "haibal_py", "run", *map(str, args), "--progress"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    seen, deadline = "", time.monotonic() + 60
    while "shards" not in seen and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            seen += os.read(fd, 65536).decode(errors="replace")
        except BlockingIOError:
            pass
    assert "shards" in seen, seen
    os.killpg(proc.pid, signal.SIGINT)
    os.set_blocking(fd, True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, seen + (err or ""))
    done.pgid = proc.pid  # its process group: every process it started
    return done


def test_ctrl_c_stops_the_run_with_exit_130_and_no_half_written_output(tmp_path):
    folder = many_shards(tmp_path, 600)
    out = tmp_path / "table.csv"
    done = interrupt_after_progress([SEG, "--over", folder / "*.npz", "--workers", "1", "--output", out], tmp_path)
    assert done.returncode == 130, done.stderr[-2000:]
    assert "haibal: interrupted" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".table.csv.*"))


# ---------------------------------------------------------------------------- the trust boundary
def test_shards_are_read_within_the_limits_and_each_run_within_the_file_policy(shards, tmp_path, capsys):
    from haibal_py.files.policy import FilePolicy
    from haibal_py.graph.parts import GraphValidationError

    folder, _, _ = shards
    g = Graph.load(SEG)
    for node in ("rs1", "rs2"):  # inputs without defaults: the shards' arrays are the only big values
        g.set_param(node, "default", None)
    g.save(tmp_path / "seg.json")
    code, out, err = main(capsys, "run", tmp_path / "seg.json", "--over", folder / "*.npz", "--workers", "1",
                          "--limit", "max_value_bytes=1KiB")  # a shard's logits: 2.5 KiB
    assert code == 1 and "haibal: 5 of 5 runs failed:" in err
    assert err.count("more than the limit max_value_bytes") == 5 and "shard_000.npz, array 'logits'" in err
    # a graph whose Read File names a file outside its folder: refused before anything runs,
    # run everywhere with the folder allowed (the policy travels to every worker)
    g = Graph.load(ROOT / "examples" / "from_files.json")
    g.set_param("rf1", "path", str(ROOT / "examples" / "data" / "labels.csv"))
    g.set_param("rf2", "path", str(ROOT / "examples" / "data" / "predictions.npy"))
    g.save(tmp_path / "outside.json")
    with pytest.raises(GraphValidationError, match="outside"):
        run_over(tmp_path / "outside.json", None, workers=1, sweep={"scc1.from_logits": [False]})
    allowed = FilePolicy(allow_read=(str(ROOT / "examples" / "data"),))
    res = run_over(tmp_path / "outside.json", None, workers=1, sweep={"scc1.from_logits": [False, True]},
                   policy=allowed)
    assert res.ok and len(res.rows) == 2
    code, _, err = main(capsys, "run", tmp_path / "outside.json", "--workers", "1", "--sweep",
                        "scc1.from_logits=false", "--allow-read", ROOT / "examples" / "data")
    assert code == 0, err
