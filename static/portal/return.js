// The page 360Dialog redirects the popup to: tell the page that opened it (exact origin only)
// and close; opened without a popup (same tab, no opener), go on to the status page.
(function () {
  "use strict";
  var root = document.querySelector("[data-return]");
  if (!root) return;
  var origin = root.getAttribute("data-origin");
  var statusPage = root.getAttribute("data-status-page");
  var opener = null;
  try {
    // Only our own page: reading its origin throws for any other.
    if (window.opener && !window.opener.closed && window.opener.location.origin === origin) {
      opener = window.opener;
    }
  } catch (error) {
    opener = null;
  }
  if (opener) {
    opener.postMessage(
      { type: "onboarding-returned", onboarding: root.getAttribute("data-onboarding-id") },
      origin
    );
    window.close();
  } else {
    window.location.replace(statusPage);
  }
})();
