"""The built book opened in a real browser (Debian's chromium, headless), as a reader meets it.

Every page loads offline with no console error and no request leaving 127.0.0.1, diagrams are drawn
as SVG, images load, no table cell or output line is cut, and search shows real snippets. The same
checker must fail on a copy of the book broken on purpose, or a green run would prove nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.book_browser import check_pages, pages_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"


def test_no_page_links_a_script_or_style_from_the_network(html: Path) -> None:
    remote = re.compile(r'<(?:script|link|img)[^>]*(?:src|href)="(?:https?:)?//', re.IGNORECASE)
    offenders = [name for name in pages_of(html) if remote.search((html / name).read_text())]
    assert offenders == []
    assert (html / "_static" / "mermaid" / "mermaid.min.js").stat().st_size > 1_000_000


def test_every_page_reads_well_in_a_browser(html: Path) -> None:
    screenshots = ROOT / "_build" / "browser"
    shutil.rmtree(screenshots, ignore_errors=True)
    problems = check_pages(html, screenshots=screenshots)
    assert [str(p) for p in problems] == [], f"screenshots of the failing pages: {screenshots}"


def test_the_checker_fails_on_a_book_broken_on_purpose(html: Path, tmp_path: Path) -> None:
    broken = tmp_path / "html"
    shutil.copytree(html, broken)
    # An image that is gone.
    landing = (broken / "notebooks" / "07_land_and_version_data.html").read_text()
    image = re.search(r'<img[^>]*src="\.\./(_images/[^"]+)"', landing)
    assert image is not None
    (broken / image.group(1)).unlink()
    # A diagram with no script to draw it, a cut table cell and a request to the network.
    intro = broken / "book" / "intro.html"
    intro.write_text(
        intro.read_text().replace(
            "</article>",
            '<pre class="mermaid">flowchart LR\n A --> B</pre>'
            "<table><tr><td>AzureML Data Scientist, Storage Blob Data Cont...</td></tr></table>"
            '<img src="https://example.invalid/logo.png"></article>',
            1,
        )
    )
    (broken / "_static" / "mermaid" / "mermaid.min.js").write_text("")  # every diagram undrawn
    screenshots = tmp_path / "screenshots"
    problems = check_pages(
        broken,
        pages=["book/intro.html", "book/stage1-foundation.html", "notebooks/07_land_and_version_data.html"],
        screenshots=screenshots,
        search_word=None,
    )
    found = {(p.page, p.what.split(":")[0].split(" (")[0]) for p in problems}
    assert ("book/stage1-foundation.html", "diagram 1 not drawn") in found
    assert any(
        page == "notebooks/07_land_and_version_data.html" and "image not loaded" in what
        for page, what in found
    )
    assert ("book/intro.html", "table cell cut") in found
    assert ("book/intro.html", "request left 127.0.0.1") in found
    assert sorted(p.name for p in screenshots.iterdir()) == [
        "book_intro.png",
        "book_stage1-foundation.png",
        "notebooks_07_land_and_version_data.png",
    ]


def test_a_diagram_mermaid_cannot_parse_is_reported(html: Path, tmp_path: Path) -> None:
    broken = tmp_path / "html"
    shutil.copytree(html, broken)
    stage1 = broken / "book" / "stage1-foundation.html"
    page = stage1.read_text()
    start = page.index('<pre  class="mermaid">')
    end = page.index("</pre>", start)
    stage1.write_text(page[:start] + '<pre  class="mermaid">\nflowchart LR\n  A[[[ --> ' + page[end:])
    problems = check_pages(
        broken, pages=["book/stage1-foundation.html"], screenshots=tmp_path, search_word=None
    )
    whats = [p.what for p in problems]
    assert any("error diagram" in what or "not drawn" in what or "console error" in what for what in whats), (
        whats
    )
