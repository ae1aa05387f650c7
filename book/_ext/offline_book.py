"""The book's Sphinx extension: every asset served from the build, nothing from the network.

sphinxcontrib-mermaid turns each ```{mermaid} block into ``<pre class="mermaid">`` and, by default,
imports mermaid.js as an ES module from a CDN. Offline that leaves the diagram's source on the
page, and an ES module import is refused on ``file://`` pages (the way a reader opens
``_build/html/index.html``). So its script is replaced here by the classic ``mermaid.min.js`` of
the pinned ``mermaid`` npm package (package.json), copied into ``_static/``, and a small script that
draws every diagram at its own size: wide ones keep legible text and scroll sideways rather than
shrink into a fixed 500 px box.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MERMAID = Path("node_modules") / "mermaid" / "dist" / "mermaid.min.js"
STATIC = Path(__file__).resolve().parent / "static"


def _drop_cdn_loader(app: Sphinx) -> None:
    """Disconnect sphinxcontrib-mermaid's ``html-page-context`` handler (the CDN module import)."""
    from sphinxcontrib import mermaid

    listeners = app.events.listeners.get("html-page-context", [])
    for listener in list(listeners):
        if listener.handler is mermaid.install_js:
            app.disconnect(listener.id)


def mermaid_js(start: Path | None = None) -> Path:
    """The checkout's mermaid.min.js: above the book's sources (or a staged copy of them under
    _build/), else above the folder the build runs in (a copy staged elsewhere)."""
    start = start or Path(__file__).resolve().parent
    for folder in [start, *start.parents, Path.cwd(), *Path.cwd().parents]:
        if (folder / MERMAID).is_file():
            return folder / MERMAID
    # Fail the build rather than publish pages whose diagrams are raw text.
    raise ExtensionError(f"{MERMAID} is missing: run `npm ci` (the mermaid package of package.json)")


def _copy_mermaid(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mermaid"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mermaid_js(), target / "mermaid.min.js")


def _is_thebe(script: object) -> bool:
    """sphinx-thebe's script file, or its inline settings (``const THEBE_JS_URL = ...``)."""
    filename = getattr(script, "filename", None) or ""
    body = getattr(script, "attributes", {}).get("body", "")
    return "thebe" in str(filename) or "THEBE" in str(body)


def _page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Each page's scripts: mermaid where it has a diagram, better search snippets, no thebe.

    sphinx-thebe (which Jupyter Book always adds) would fetch thebe from a CDN on a click; the book
    has no launch buttons, so its script is dropped from every page.
    """
    from sphinxcontrib.mermaid import mermaid

    scripts = context.get("script_files", [])
    # In place: it is the builder's own list, which add_js_file below appends to.
    scripts[:] = [script for script in scripts if not _is_thebe(script)]
    app.add_js_file("book-search.js", priority=900)
    if doctree is None or doctree.next_node(mermaid) is None:
        return
    app.add_js_file("mermaid/mermaid.min.js", priority=500)
    app.add_js_file("book-mermaid.js", priority=501)


def _theme_defaults(app: Sphinx, config: Any) -> None:
    # pydata-sphinx-theme logs a console error ("Got invalid theme mode") on a first visit when no
    # default mode is set, as on a reader's fresh browser: "auto" follows the reader's system.
    config.html_context.setdefault("default_mode", "auto")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinxcontrib.mermaid")
    _drop_cdn_loader(app)
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("book.css")
    app.connect("config-inited", _theme_defaults)
    app.connect("html-page-context", _page_assets)
    app.connect("build-finished", _copy_mermaid)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
