// Upload progress for the roster form; without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("roster-form");
  if (!form || !window.XMLHttpRequest) return;
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.round((e.loaded / e.total) * 100);
        bar.value = pct;
        bar.textContent = pct + " %";
        text.textContent = pct + " %";
      }
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      bar.value = 100;
      if (xhr.status === 202) {
        text.textContent = body.message;  // in the page's language, from the server
        window.setTimeout(function () { window.location.reload(); }, 600);
      } else {
        text.textContent = body.error || form.getAttribute("data-refused");
        if (body.problems) text.textContent += " " + body.problems.join("; ");
      }
    };
    xhr.send(new FormData(form));
  });
})();
