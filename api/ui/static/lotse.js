/* Lotse: the little the pages do with script; every page works without it.
   No inline script anywhere (Content-Security-Policy: script-src 'self'). */
(function () {
  "use strict";
  // A table wider than its column scrolls sideways inside its wrapper: the wrapper then takes
  // the keyboard focus (arrow keys scroll it) and is a region named by the table's caption or
  // the section's heading, so a keyboard user reaches the hidden columns (WCAG 2.1.1). Only
  // while it scrolls: a table that fits gets no extra tab stop.
  function scrollers() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var caption = wrap.querySelector("caption");
        var section = wrap.closest("section");
        var heading = section && section.querySelector("h2, h3");
        var name = (caption || heading || {}).textContent;
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", ((name || "Tabelle").trim()) + " (seitlich scrollbar)");
      } else if (!scrolls && wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }
  function ready() {
    scrollers();
    window.addEventListener("resize", scrollers);
    // After a refused form: move the keyboard focus to the list of errors.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
