/* Lotse: the language picker's filter (api/ui/templates/pickers.html). The list works without
   it; this only hides the languages that do not match what is typed, says how many do, and
   keeps the "Gewählt" line current. Matching ignores case and accents („turk“ finds Türkisch)
   and also compares the code („prs“ finds Dari). */
(function () {
  "use strict";
  function folded(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }
  function setUp(picker) {
    var field = picker.querySelector("[data-picker-filter-field]");
    var filter = picker.querySelector("[data-picker-filter]");
    var count = picker.querySelector("[data-picker-count]");
    var chosen = picker.querySelector("[data-picker-chosen] span");
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-picker-option]"));
    var rules = picker.querySelectorAll(".picker-rule");
    if (!field || !filter) { return; }
    field.hidden = false;
    function apply() {
      var query = folded(filter.value);
      var shown = 0;
      options.forEach(function (option) {
        var label = option.querySelector("label");
        var hit = !query || folded(label.textContent).indexOf(query) !== -1 ||
          option.getAttribute("data-code") === query;
        option.hidden = !hit;
        if (hit) { shown += 1; }
      });
      rules.forEach(function (rule) { rule.hidden = Boolean(query); });
      count.textContent = query ? (shown === 1 ? "1 Sprache gefunden" : shown + " Sprachen gefunden") : "";
    }
    function update() {
      var names = options.filter(function (option) {
        return option.querySelector("input").checked;
      }).map(function (option) { return option.querySelector("label").textContent; });
      chosen.textContent = names.length ? names.join(", ") : "keine";
    }
    filter.addEventListener("input", apply);
    // Enter in the filter must not send the whole form; it ticks the only match instead.
    filter.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var visible = options.filter(function (option) { return !option.hidden; });
      if (visible.length === 1) {
        var box = visible[0].querySelector("input");
        box.checked = !box.checked;
        update();
        box.focus();
      }
    });
    picker.addEventListener("change", update);
  }
  function ready() {
    document.querySelectorAll("[data-picker]").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
