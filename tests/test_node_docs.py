"""The committed node reference (docs/nodes/) matches the catalog it is generated from."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_node_docs.py"
FIX = "run python scripts/gen_node_docs.py to regenerate docs/nodes/"


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_node_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_docs_are_up_to_date(tmp_path):
    # a fresh process: node classes other tests may register at run time are not in the reference
    out = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    fresh = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md")}
    committed_dir = ROOT / "docs" / "nodes"
    committed = {p.name: p.read_text(encoding="utf-8") for p in committed_dir.glob("*.md")}
    assert sorted(committed) == sorted(fresh), f"docs/nodes has pages {sorted(committed)}, the catalog " \
                                               f"gives {sorted(fresh)}: {FIX}"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"docs/nodes pages out of date with the catalog: {stale}: {FIX}"


def test_one_page_per_category_with_every_node(gen, tmp_path):
    from haibal_py import CATALOG
    gen.write(tmp_path)
    for category in CATALOG.categories():
        text = (tmp_path / f"{gen.slug(category)}.md").read_text(encoding="utf-8")
        assert text.count("\n## ") == len(CATALOG.in_category(category))
        for cls in CATALOG.in_category(category):
            assert f"`{cls.type_id}`" in text
            for p in cls.params:
                assert f"`{p.name}`" in text
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert all(f"({gen.slug(c)}.md)" in index for c in CATALOG.categories())


def test_generation_is_deterministic_and_removes_stale_pages(gen, tmp_path):
    (tmp_path / "gone-category.md").write_text("old\n")
    gen.write(tmp_path)
    first = {p.name: p.read_text() for p in tmp_path.glob("*.md")}
    assert "gone-category.md" not in first
    gen.write(tmp_path)
    assert first == {p.name: p.read_text() for p in tmp_path.glob("*.md")}
    assert gen.stale_pages(tmp_path) == []


def test_check_mode_of_the_script(tmp_path):
    out_dir = tmp_path / "nodes"
    run = [sys.executable, str(SCRIPT), "--out", str(out_dir)]
    stale = subprocess.run(run + ["--check"], capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and "run python scripts/gen_node_docs.py" in stale.stderr
    wrote = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert wrote.returncode == 0, wrote.stderr
    ok = subprocess.run(run + ["--check"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    page = next(p for p in out_dir.glob("*.md") if p.name != "README.md")
    page.write_text(page.read_text() + "edited\n")
    again = subprocess.run(run + ["--check"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and page.name in again.stderr


def test_slug_names_pages_by_category(gen):
    assert gen.slug("I/O") == "io" and gen.slug("Losses") == "losses" and gen.slug("Some Thing") == "some-thing"


def test_the_readme_catalog_table_is_counted_from_the_registry(gen):
    from haibal_py import CATALOG
    # a fresh process: node classes other tests register at run time are not in the README
    check = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    table = gen.render_readme_table()
    assert f"| **all** | **{len(CATALOG)}** |" in table
    assert f"| Losses | {len(CATALOG.in_category('Losses'))} |" in table
    assert f"({gen.keras_loss_classes()} `Loss` classes" in table and gen.keras_loss_classes() == 22
