/* Names for four controls of Django's stock admin widgets that have none (axe-core's label,
   select-name and aria-prohibited-attr rules); loaded on every admin page
   (templates/admin/base_site.html).
   - A date-and-time field's two boxes (a person's "Last login"): "Last login, date" and
     "Last login, time"; their <label> points at neither.
   - A tabular inline's cells (a committee's memberships): each field is named by its column
     heading and its row ("Role, row 2").
   - The filter boxes' help icons of a two-list chooser (SelectFilter2): a <span> with an
     aria-label and no role; given role="img".
   - The search box of an autocomplete with several values (select2), re-created as values are
     chosen: named after its field's label. */
(function () {
  "use strict";

  function nameTabularCells(root) {
    root.querySelectorAll(".tabular table").forEach(function (table) {
      var headings = table.tHead ? table.tHead.rows[0].cells : [];
      table.querySelectorAll("tbody tr.form-row").forEach(function (row, index) {
        Array.prototype.forEach.call(row.cells, function (cell) {
          var heading = headings[cell.cellIndex];
          var text = heading ? heading.textContent.trim() : "";
          if (!text) return;
          cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (field) {
            if (field.labels && field.labels.length) return;
            if (field.hasAttribute("aria-label") || field.hasAttribute("aria-labelledby")) return;
            field.setAttribute("aria-label", text.replace(/\?$/, "") + ", row " + (index + 1));
          });
        });
      });
    });
  }

  function nameSplitDateTimes(root) {
    root.querySelectorAll("p.datetime").forEach(function (box) {
      var row = box.closest(".form-row, .fieldBox");
      var label = row && row.querySelector("label");
      var name = label ? label.textContent.trim().replace(/:$/, "") : "";
      box.querySelectorAll("input:not([type=hidden])").forEach(function (field, index) {
        if ((field.labels && field.labels.length) || field.hasAttribute("aria-label")) return;
        var part = index === 0 ? "date" : "time";
        field.setAttribute("aria-label", name ? name + ", " + part : part);
      });
    });
  }

  function nameHelpIcons(root) {
    root.querySelectorAll(".search-label-icon[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  function nameAutocompleteSearch(root) {
    root.querySelectorAll(".select2-search__field:not([aria-label])").forEach(function (search) {
      var container = search.closest(".select2-container");
      var select = container && container.previousElementSibling;
      var label = select && select.id && document.querySelector('label[for="' + select.id + '"]');
      search.setAttribute("aria-label", label ? label.textContent.trim().replace(/:$/, "") : "Search");
    });
  }

  function nameAll() {
    nameTabularCells(document);
    nameSplitDateTimes(document);
    nameHelpIcons(document);
    nameAutocompleteSearch(document);
  }

  // The widgets are built on "load" (SelectFilter2) and as values change (select2, inline rows).
  window.addEventListener("load", function () {
    nameAll();
    var pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        nameAll();
      });
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
