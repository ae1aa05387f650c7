"""The reading path: from week 0 to the closing page through "Next" alone, with no stale page.

- Each notebook's checklist ends with a "Next" whose first link is the next notebook in _toc.yml
  (stage overviews and the infrastructure chapter sit between them; the theme's own "Next" button
  walks through those), and the last notebook's points to the closing page.
- Every stage page links every chapter of its part.
- A "to come" statement ("still to be written", "coming", ...) names the notebook it waits for,
  and is refused once that notebook exists: a page is never left saying a chapter is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLOSING = "book/closing"
# Notebooks other engineers are rewriting (issue 15 asks their "Next" to follow the toc too): strict,
# so the test says when one is fixed and its entry can go.
PENDING_NEXT = {}
TO_COME = re.compile(
    r"\b(to come|coming|still to be written|not (?:yet )?written|yet to be written|will be written)\b",
    re.IGNORECASE,
)
NOTEBOOK_NAME = re.compile(r"\b(\d\d[a-z]?_[a-z0-9_]+)\b")
LINK = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`|\]\(([^)\s]+?)(?:\.ipynb|\.md)?\)")


def toc_pages() -> list[str]:
    """Every page of _toc.yml in reading order, as 'book/intro', 'notebooks/00_start_here', ..."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return pages


def _resolve(link: str, page: str) -> str:
    """A link written in ``page`` as the toc names its target."""
    target = (Path(page).parent / link).as_posix()
    parts: list[str] = []
    for part in target.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def next_link(page: str) -> str | None:
    """The first link of the "Next" item in a notebook's last markdown cell."""
    notebook = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    last = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"][-1]
    found = re.search(r"^- Next\b(.*(?:\n  .*)*)", last, re.MULTILINE)
    if found is None:
        return None
    link = LINK.search(found.group(1))
    return _resolve(link.group(1) or link.group(2), page) if link else None


def expected_next() -> list[tuple[str, str]]:
    notebooks = [page for page in toc_pages() if page.startswith("notebooks/")]
    return list(zip(notebooks, [*notebooks[1:], CLOSING], strict=True))


@pytest.mark.parametrize(
    ("page", "following"),
    [
        pytest.param(page, following, marks=pytest.mark.xfail(reason=PENDING_NEXT[page], strict=True))
        if page in PENDING_NEXT
        else (page, following)
        for page, following in expected_next()
    ],
)
def test_next_is_the_following_chapter(page: str, following: str) -> None:
    assert next_link(page) == following


def test_the_book_ends_on_the_closing_page() -> None:
    pages = toc_pages()
    assert pages[-1] == CLOSING
    assert (ROOT / f"{CLOSING}.md").is_file()
    # The infrastructure chapter assumes week 5: it comes after it.
    assert pages.index("book/infrastructure") > pages.index("notebooks/05_create_workspaces")


def test_every_stage_page_links_every_chapter_of_its_part() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            sections = [section["file"] for section in chapter.get("sections", [])]
            if not sections:
                continue
            text = (ROOT / f"{chapter['file']}.md").read_text()
            linked = {_resolve(a or b, chapter["file"]) for a, b in LINK.findall(text)}
            assert set(sections) - linked == set(), chapter["file"]


def stale_statements(texts: dict[str, str], notebooks: Path) -> list[str]:
    """Each paragraph saying a chapter is to come, unless it names only notebooks not yet written."""
    existing = {path.stem for path in notebooks.glob("*.ipynb")}
    stale = []
    for where, text in texts.items():
        for paragraph in re.split(r"\n\s*\n|\n(?=\s*[-|])", text):
            if not TO_COME.search(paragraph):
                continue
            named = set(NOTEBOOK_NAME.findall(paragraph))
            if not named or named & existing:
                stale.append(f"{where}: {paragraph.strip()[:160]}")
    return stale


def _book_texts() -> dict[str, str]:
    texts = {str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / "book").glob("*.md"))}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":
                texts[f"{path.name} cell {index}"] = cell.source
    return texts


def test_no_page_says_a_written_chapter_is_to_come() -> None:
    assert stale_statements(_book_texts(), ROOT / "notebooks") == []


def test_a_to_come_statement_is_refused_once_its_notebook_exists(tmp_path: Path) -> None:
    page = {"book/stage4-operate.md": "Week 11, `11_promote_to_test_and_prod`, is still to be written."}
    assert stale_statements(page, tmp_path) == []  # not written: the statement is true
    (tmp_path / "11_promote_to_test_and_prod.ipynb").write_text("{}")
    assert stale_statements(page, tmp_path) == [f"book/stage4-operate.md: {page['book/stage4-operate.md']}"]
    vague = {"book/intro.md": "Stage 4 | Coming |"}
    assert stale_statements(vague, tmp_path) == ["book/intro.md: Stage 4 | Coming |"]
