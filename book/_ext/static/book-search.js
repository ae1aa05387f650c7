// Search result snippets from the page's own text (loaded after Sphinx's searchtools.js).
// Sphinx 7 takes a snippet from the whole [role=main] block, whose text starts with the page
// header's buttons (".ipynb", ".pdf"), and looks for the *stemmed* query words in it ("registri"
// for "registry"): when no stem is found the snippet is the header, "....ipynb". Here the snippet
// comes from the article alone and is centred on the first word of the query as typed, its stem,
// or a word starting with either.
// searchtools.js comes after this script in the theme's page, so the override waits for the DOM
// (before Search.init, which searchtools.js registers later for the same event).
const bookSearchOverride = () => {
  "use strict";
  if (typeof Search === "undefined") return;
  const typed = () =>
    (new URLSearchParams(window.location.search).get("q") || "")
      .toLowerCase()
      .split(/\s+/)
      .filter((word) => word.length > 0);

  Search.htmlToText = (htmlString, anchor) => {
    const html = new DOMParser().parseFromString(htmlString, "text/html");
    for (const query of [".headerlink", "script", "style", ".header-article", ".prev-next-area"]) {
      html.querySelectorAll(query).forEach((element) => element.remove());
    }
    const article = html.querySelector('[role="main"] article') || html.querySelector('[role="main"]');
    if (!article) return "";
    if (anchor) {
      const anchored = article.querySelector(anchor);
      if (anchored) return anchored.textContent.replace(/\s+/g, " ");
    }
    return article.textContent.replace(/\s+/g, " ");
  };

  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const text = Search.htmlToText(htmlText, anchor).trim();
    if (text === "") return null;
    const lower = text.toLowerCase();
    const words = [...typed(), ...keywords].map((word) => word.toLowerCase());
    const found = words.map((word) => lower.indexOf(word)).filter((index) => index > -1);
    const position = found.length ? Math.min(...found) : 0;
    const start = Math.max(position - 120, 0);
    const summary = document.createElement("p");
    summary.classList.add("context");
    summary.textContent =
      (start > 0 ? "..." : "") + text.substr(start, 240).trim() + (start + 240 < text.length ? "..." : "");
    return summary;
  };
};
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bookSearchOverride);
else bookSearchOverride();
