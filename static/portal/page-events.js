// Tells the portal what happened on this page (the signup page viewed, the popup blocked or
// closed before the return) with one small same-origin POST carrying the page's signed token.
// No cookie, no personal data. Other scripts report with
// document.dispatchEvent(new CustomEvent("portal:page-event", { detail: "popup_blocked" })).
(function () {
  "use strict";
  var holder = document.querySelector("[data-page-events-token]");
  if (!holder) return;
  var url = holder.getAttribute("data-page-events");
  var token = holder.getAttribute("data-page-events-token");

  function report(kind) {
    var body = new URLSearchParams({ token: token, kind: kind });
    if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit" }).catch(
      function () {}
    );
  }

  document.addEventListener("portal:page-event", function (event) {
    report(event.detail);
  });
  var onLoad = holder.getAttribute("data-page-events-on-load");
  if (onLoad) report(onLoad);
})();
