"""Open the built book in a real browser (Debian's chromium, headless) and check what a reader sees.

    python tools/book_browser.py [_build/html]     # every page; screenshots of failing pages

For every page: it loads with no console error and no request leaving 127.0.0.1 (each one is
refused, then reported), every mermaid diagram is drawn as an SVG (not an error diagram), every
image loads, no table cell ends in "..." (pandas' truncation) and no output line is cut at the
page's edge. Search finds a word of a notebook's text and shows a snippet around it. A failing
page is saved as a screenshot under ``_build/browser/`` (or ``--screenshots``) for the CI log.

The browser is driven by Playwright with the system chromium (``executable_path``): no browser is
downloaded. The pages are served by a static server bound to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# The flags the machine notes give for a headless chromium without a display, a sandbox or a network.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: CI's two cores may be busy; a page that loads at all loads well within it.
TIMEOUT_MS = 60_000

# Drawn or failed, each diagram ends with an <svg> or mermaid's error diagram; an untouched
# <pre class="mermaid"> (no script, a CDN that never answered) keeps its source text.
# Without mermaid's script (missing, empty, blocked) nothing will draw them: settled at once, and
# reported undrawn, rather than waited for until the timeout.
_DIAGRAMS_SETTLED = """() => typeof window.mermaid === 'undefined'
    || [...document.querySelectorAll('pre.mermaid')]
        .every(pre => pre.querySelector('svg') !== null || pre.dataset.processed === 'true')"""

_PAGE_PROBLEMS = r"""() => {
  const problems = [];
  document.querySelectorAll('pre.mermaid').forEach((pre, index) => {
    const svg = pre.querySelector('svg');
    if (svg === null) problems.push(`diagram ${index + 1} not drawn (shows its source)`);
    else if (svg.getAttribute('aria-roledescription') === 'error' || /Syntax error/.test(svg.textContent))
      problems.push(`diagram ${index + 1} is mermaid's error diagram`);
  });
  [...document.images].forEach((img) => {
    if (!img.complete || img.naturalWidth === 0)
      problems.push(`image not loaded: ${img.getAttribute('src').slice(0, 80)}`);
  });
  document.querySelectorAll('article td, article th').forEach((cell) => {
    const text = cell.textContent.trim();
    if (/(\.\.\.|\u2026)$/.test(text)) problems.push(`table cell cut: ${JSON.stringify(text.slice(-60))}`);
  });
  document.querySelectorAll('article .cell_output pre, article .cell_output table').forEach((block) => {
    if (block.scrollWidth > block.clientWidth + 1)
      problems.push(`output wider than the page: ${JSON.stringify(block.textContent.trim().slice(0, 60))}`);
    for (const line of block.textContent.split('\n')) {
      const end = line.trim();
      if (/\u2026$/.test(end)) problems.push(`output line cut: ${JSON.stringify(end.slice(-60))}`);
    }
  });
  return problems;
}"""


@dataclass(frozen=True)
class Problem:
    page: str
    what: str

    def __str__(self) -> str:
        return f"{self.page}: {self.what}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) while the block runs; yield its base URL."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def pages_of(html: Path) -> list[str]:
    """Every page of the built book, relative to ``html``, in a stable order."""
    skip = {"_static", "_sources", "_images"}
    found = (path.relative_to(html) for path in html.rglob("*.html"))
    return sorted(str(path) for path in found if not skip & set(path.parts))


@contextmanager
def browser(profile: Path) -> Iterator[object]:
    """A fresh headless chromium (a new profile folder each time); yields a Playwright context."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium (make test installs it)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()


def check_pages(
    html: Path,
    pages: list[str] | None = None,
    screenshots: Path | None = None,
    search_word: str | None = "registry",
) -> list[Problem]:
    """Open each page of the book built in ``html``; return every problem a reader would meet."""
    pages = pages if pages is not None else pages_of(html)
    screenshots = screenshots or ROOT / "_build" / "browser"
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory() as profile, serve(html) as base, browser(Path(profile)) as context:
        local = urlsplit(base).netloc
        outside: list[str] = []

        def route(route: object) -> None:
            url = route.request.url
            if urlsplit(url).scheme in {"http", "https", "ws", "wss"} and urlsplit(url).netloc != local:
                outside.append(url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", route)
        for name in pages:
            problems += _check_page(context, base, name, outside, screenshots)
        if search_word:
            problems += _check_search(context, base, search_word, screenshots)
    return problems


def _check_page(
    context: object, base: str, name: str, outside: list[str], screenshots: Path
) -> list[Problem]:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    outside.clear()
    found: list[str] = []
    try:
        page.goto(base + quote(name), wait_until="load", timeout=TIMEOUT_MS)
        # "load" has waited for the page's images and scripts; the diagrams are drawn after it.
        with suppress(Exception):  # a diagram never drawn is reported below
            page.wait_for_function(_DIAGRAMS_SETTLED, timeout=TIMEOUT_MS)
        found += page.evaluate(_PAGE_PROBLEMS)
    except Exception as error:  # a page that does not load is one problem, not the end of the run
        found.append(f"did not load: {error}")
    found += [f"console error: {text[:200]}" for text in errors]
    found += [f"request left 127.0.0.1: {url}" for url in outside]
    if found:
        _screenshot(page, name, screenshots)
    page.close()
    return [Problem(name, what) for what in found]


def _check_search(context: object, base: str, word: str, screenshots: Path) -> list[Problem]:
    """Search for ``word``: a notebook among the results, and its snippet shows the word in context."""
    page = context.new_page()
    name = f"search.html?q={word}"
    found: list[str] = []
    try:
        page.goto(base + name, wait_until="load", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => /Search finished/.test(document.querySelector('#search-results')?.textContent || '')",
            timeout=TIMEOUT_MS,
        )
        # Each result's snippet comes from fetching its page: wait until every result has one.
        with suppress(Exception):
            page.wait_for_function(
                "() => [...document.querySelectorAll('#search-results li')]"
                ".every(li => li.querySelector('p.context'))",
                timeout=TIMEOUT_MS,
            )
        results = page.evaluate(
            """() => [...document.querySelectorAll('#search-results li')].map(li => ({
                href: li.querySelector('a').getAttribute('href'),
                snippet: li.querySelector('p.context')?.textContent || ''}))"""
        )
        notebooks = [r for r in results if r["href"].startswith("notebooks/")]
        if not notebooks:
            found.append(f"no notebook found for {word!r}")
        pattern = re.compile(word[:5], re.IGNORECASE)  # the word or a form of it ("registries")
        for result in notebooks:
            if not pattern.search(result["snippet"]):
                found.append(f"snippet without {word!r} for {result['href']}: {result['snippet'][:80]!r}")
    except Exception as error:
        found.append(f"search did not finish: {error}")
    if found:
        _screenshot(page, "search", screenshots)
    page.close()
    return [Problem(name, what) for what in found]


def _screenshot(page: object, name: str, screenshots: Path) -> None:
    screenshots.mkdir(parents=True, exist_ok=True)
    target = screenshots / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name.removesuffix(".html")) + ".png")
    with suppress(Exception):  # a screenshot helps the reader of the log; it is never the failure
        page.screenshot(path=str(target), full_page=True, timeout=TIMEOUT_MS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("html", nargs="?", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "browser")
    args = parser.parse_args(argv)
    shutil.rmtree(args.screenshots, ignore_errors=True)
    problems = check_pages(args.html, screenshots=args.screenshots)
    for problem in problems:
        print(problem)
    print(f"{len(pages_of(args.html))} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
