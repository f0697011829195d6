// The onboarding page: opens 360Dialog's popup from the click itself (so blockers allow it),
// notices a blocked or closed popup, listens for the return page's message (exact origin
// only), and polls the status JSON so the page follows along even without the popup's help.
(function () {
  "use strict";
  var root = document.querySelector("[data-onboarding]");
  if (!root) return;
  var origin = root.getAttribute("data-origin");
  var statusUrl = root.getAttribute("data-status-url");
  var launch = root.querySelector("[data-launch]");
  var launchForm = root.querySelector("[data-launch-form]");
  var popup = null;
  var watcher = null;
  var returned = false;

  function show(state) {
    root.querySelectorAll("[data-when]").forEach(function (element) {
      element.hidden = element.getAttribute("data-when") !== state;
    });
  }

  // Opens the named popup synchronously in the click handler (popup blockers allow that),
  // then posts the launch form into it: launching is a POST, with the form's CSRF token.
  function open(event) {
    if (event) event.preventDefault();
    popup = window.open("", "dialog360", "popup=yes,width=600,height=900");
    if (!popup || popup.closed) {
      show("blocked");
      return;
    }
    launchForm.submit();
    show("waiting");
    clearInterval(watcher);
    watcher = setInterval(function () {
      if (popup.closed) {
        clearInterval(watcher);
        refresh().then(function () {
          if (!returned) show("closed");
        });
      }
    }, 500);
  }

  var last = "";
  var poller = null;

  function render(data) {
    returned = returned || data.returned;
    var snapshot = JSON.stringify(data);
    if (snapshot === last) return data; // unchanged: keep the live region quiet
    last = snapshot;
    if (data.done) clearInterval(poller);
    root.querySelector("[data-headline]").textContent = data.headline;
    var list = root.querySelector("[data-channels]");
    if (data.channels.length) {
      list.replaceChildren.apply(
        list,
        data.channels.map(function (channel) {
          var item = document.createElement("li");
          item.className = "channel" + (channel.failed ? " channel--failed" : "");
          item.setAttribute("data-step", channel.step);
          var number = document.createElement("strong");
          number.className = "channel__number";
          number.textContent = channel.number;
          var label = document.createElement("span");
          label.className = "channel__label";
          label.textContent = channel.label;
          var explanation = document.createElement("p");
          explanation.className = "channel__explanation";
          explanation.textContent = channel.explanation;
          var steps = document.createElement("ol");
          steps.className = "steps";
          channel.steps.forEach(function (step) {
            var entry = document.createElement("li");
            entry.className = "step" + (step.done ? " step--done" : "");
            entry.textContent = step.label;
            if (step.done) {
              var mark = document.createElement("span");
              mark.className = "visually-hidden";
              mark.textContent = " ✓";
              entry.append(mark);
            }
            steps.append(entry);
          });
          item.append(number, label, explanation, steps);
          return item;
        })
      );
    }
    if (data.done) {
      var connect = root.querySelector(".connect");
      if (connect) connect.hidden = true;
    } else if (returned) {
      show("");
    }
    return data;
  }

  function refresh() {
    return fetch(statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { return data ? render(data) : null; })
      .catch(function () { return null; });
  }

  if (launch) launch.addEventListener("click", open);
  root.querySelectorAll("[data-retry]").forEach(function (button) {
    button.addEventListener("click", open);
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || (popup && event.source !== popup)) return;
    if (!event.data || event.data.type !== "onboarding-returned") return;
    returned = true;
    clearInterval(watcher);
    show("");
    refresh();
  });
  poller = setInterval(refresh, 3000);
  root.setAttribute("data-ready", "");
})();
