/* Copy buttons (templates/tokens/token_issued.html): a button with data-copy="ID" copies the
   text of the element with that id. A file, not an inline script: the Content-Security-Policy
   allows scripts from our own origin only. The buttons stay hidden where the browser cannot
   copy; the text can always be selected and copied by hand. */
(function () {
  if (!navigator.clipboard || !window.isSecureContext) return;
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in source ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(function () {
        button.textContent = "Copied";
        if (status) status.textContent = label.replace(/^Copy /, "Copied ") + ".";
        setTimeout(function () { button.textContent = label; }, 3000);
      }, function () {
        if (source.select) source.select();
        if (status) status.textContent = "Could not copy: the text is selected, copy it yourself.";
      });
    });
  });
})();
