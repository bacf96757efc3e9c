/* Lotse: the little the pages do with script; every page works without it.
   No inline script anywhere (Content-Security-Policy: script-src 'self'). */
(function () {
  "use strict";
  function ready() {
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
