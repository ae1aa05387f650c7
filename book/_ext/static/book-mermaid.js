// Draw the page's mermaid diagrams with the mermaid.js served from this build (no CDN).
// A classic script, not an ES module: module imports are refused on file:// pages.
// useMaxWidth false: each diagram keeps its natural size (its text legible), and book.css lets
// a diagram wider than the page scroll sideways instead of shrinking.
(function () {
  "use strict";
  function draw() {
    var dark = document.documentElement.dataset.theme === "dark";
    window.mermaid.initialize({
      startOnLoad: false,
      theme: dark ? "dark" : "default",
      securityLevel: "strict",
      flowchart: { useMaxWidth: false },
      sequence: { useMaxWidth: false },
      er: { useMaxWidth: false },
      gantt: { useMaxWidth: false },
      class: { useMaxWidth: false },
      state: { useMaxWidth: false },
      journey: { useMaxWidth: false },
      pie: { useMaxWidth: false },
    });
    window.mermaid.run({ querySelector: "pre.mermaid" }).catch(function (error) {
      console.error("mermaid: " + error);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
