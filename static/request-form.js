/* The access-request form (templates/access/request_form.html). A file, not an inline script:
   the Content-Security-Policy allows scripts from our own origin only. */
/* After a refused save, take keyboard and screen-reader users to the list of problems. */
(function () { var summary = document.getElementById("error-summary"); if (summary) summary.focus(); })();
/* Search-as-you-type for diseases. Optional: without it the "Find diseases" button does the same. */
(function () {
  var input = document.getElementById("id_disease_q");
  var box = document.getElementById("disease-results");
  var live = document.getElementById("disease-live");
  if (!input || !box || !window.fetch) return;
  var chosen = document.getElementById("chosen-diseases");
  var timer = null, last = "";
  function keepTicked() {
    box.querySelectorAll("input[type=checkbox]:checked").forEach(function (cb) {
      chosen.appendChild(cb.closest("li"));
      var none = document.getElementById("no-diseases");
      if (none) none.remove();
    });
  }
  function show(data, q) {
    keepTicked();
    var have = {};
    chosen.querySelectorAll("input[name=diseases]").forEach(function (cb) { have[cb.value] = true; });
    box.textContent = "";
    var h = document.createElement("h4");
    h.id = "disease-results-heading";
    h.textContent = "Diseases matching “" + q + "”";
    box.appendChild(h);
    var list = document.createElement("ul");
    list.className = "choices";
    list.setAttribute("aria-labelledby", h.id);
    var shown = 0;
    data.results.forEach(function (t) {
      if (have[t.curie]) return;
      var li = document.createElement("li"), cb = document.createElement("input"), label = document.createElement("label");
      var id = "disease-" + t.curie.toLowerCase().replace(/[^a-z0-9]+/g, "");
      li.className = "checkbox";
      cb.type = "checkbox"; cb.name = "diseases"; cb.value = t.curie; cb.id = id;
      label.htmlFor = id;
      label.textContent = t.label + " ";
      var curie = document.createElement("span");
      curie.className = "curie"; curie.textContent = t.curie;
      label.appendChild(curie);
      li.appendChild(cb); li.appendChild(label); list.appendChild(li);
      shown++;
    });
    if (shown) { box.appendChild(list); } else {
      var p = document.createElement("p");
      p.textContent = "No other disease matches “" + q + "”.";
      box.appendChild(p);
    }
    box.hidden = false;
    live.textContent = shown + " disease" + (shown === 1 ? "" : "s") + " found; tick the ones to add.";
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2 || q === last) return;
    timer = setTimeout(function () {
      last = q;
      fetch(input.dataset.searchUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && input.value.trim() === q) show(data, q); })
        .catch(function () { /* the button still works */ });
    }, 250);
  });
  input.addEventListener("keydown", function (e) {
    // Enter in the search box searches here instead of saving or searching datasets.
    if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); last = ""; input.dispatchEvent(new Event("input")); }
  });
})();
/* Enter in a box saves the draft (the form's first, hidden button is "save"); in the dataset
   search box it searches instead, as the disease box does. Without JavaScript it saves there
   too, and the "Find datasets" button searches. */
(function () {
  var input = document.getElementById("id_dataset_q");
  var button = input && input.form.querySelector("button[name=action][value=find-datasets]");
  if (!button) return;
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); button.click(); }
  });
})();
