"""The book builds with Sphinx warnings as errors and shows the notebooks' committed outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_book_builds_without_warnings(tmp_path):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    for page in [
        "book/intro",
        "book/stage1-foundation",
        "book/stage2-design",
        "book/stage3-deploy",
        "notebooks/04_security_access_cost",
        "notebooks/06_connect_and_validate",
    ]:
        assert (html / f"{page}.html").is_file(), page
    validate = (html / "notebooks" / "06_connect_and_validate.html").read_text()
    assert "All 18 checks passed in 3 workspaces." in validate  # executed outputs, not bare code
    kickoff = (html / "notebooks" / "01_kickoff_and_roles.html").read_text()
    assert "Operating model: centralised" in kickoff
    assert 'href="02_maturity_and_delivery.html"' in kickoff  # checklist links resolve to pages
    landing = (html / "notebooks" / "07_land_and_version_data.html").read_text()
    assert "<img" in landing  # the chart


def test_the_book_builds_from_a_staged_copy_and_leaves_the_checkout_as_it_was(tmp_path):
    """`make book` executes into a copy of the sources (tools/notebooks.py --stage) and builds that."""
    from tools.notebooks import stage

    before = _status()
    notebooks = stage(tmp_path / "source")
    assert sorted(p.name for p in (tmp_path / "source").iterdir()) == [
        "_config.yml",
        "_toc.yml",
        "book",
        "notebooks",
    ]
    assert (notebooks / "00_start_here.ipynb").read_bytes() == (
        ROOT / "notebooks" / "00_start_here.ipynb"
    ).read_bytes()
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(tmp_path / "source"), "--path-output", str(tmp_path), "-W", "-n"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "_build" / "html" / "_static" / "mermaid" / "mermaid.min.js").is_file()
    assert _status() == before


def _status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
