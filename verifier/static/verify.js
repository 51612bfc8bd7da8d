// Progressive enhancement only: the form works without JavaScript.
// A seal's QR may be a link to this page with the seal in the fragment (#SC1:…), which a phone
// camera opens: the fragment never reaches a server, so the page posts it to be verified.
(function () {
  "use strict";
  var hash = window.location.hash;
  var sealField = document.getElementById("seal");
  if (sealField && hash.indexOf("#SC1:") === 0) {
    sealField.value = decodeURIComponent(hash.slice(1));
    history.replaceState(null, "", window.location.pathname + window.location.search);
    sealField.form.submit();
  }
})();
// Where the browser offers a camera and the BarcodeDetector API, scan a seal's QR code live.
(function () {
  "use strict";
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var box = document.querySelector(".camera");
  var button = document.getElementById("scan");
  var video = document.getElementById("camera");
  var field = document.getElementById("seal");
  if (!box || !button || !video || !field) return;
  box.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.hidden = false;
      video.srcObject = stream;
      video.play();
      var tick = function () {
        detector.detect(video).then(function (codes) {
          var seal = codes.map(function (c) { return c.rawValue; }).filter(function (v) { return v.indexOf("SC1:") === 0 || v.indexOf("#SC1:") > 0; })[0];
          if (seal) {
            stream.getTracks().forEach(function (t) { t.stop(); });
            field.value = seal;
            field.form.submit();
          } else {
            requestAnimationFrame(tick);
          }
        }).catch(function () { requestAnimationFrame(tick); });
      };
      tick();
    }).catch(function () { box.hidden = true; });
  });
})();
