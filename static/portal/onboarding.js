// The onboarding page: opens 360Dialog's popup from the click itself (so blockers allow it),
// notices a blocked or closed popup, listens for the return page's message (exact origin
// only), and polls the status JSON so the page follows along even without the popup's help.
(function () {
  "use strict";
  var root = document.querySelector("[data-onboarding]");
  if (!root) return;
  var origin = root.getAttribute("data-origin");
  var statusUrl = root.getAttribute("data-status-url");
  var launchForm = root.querySelector("[data-launch-form]");
  var popup = null;
  var watcher = null;
  var returned = false;

  // For the account managers' funnel (page-events.js sends it).
  function report(kind) {
    document.dispatchEvent(new CustomEvent("portal:page-event", { detail: kind }));
  }

  function show(state) {
    root.querySelectorAll("[data-when]").forEach(function (element) {
      element.hidden = element.getAttribute("data-when") !== state;
    });
  }

  // Opens the named popup synchronously in the click handler (popup blockers allow that),
  // then posts the launch form into it: launching is a POST, with the form's CSRF token.
  function open(event) {
    var form = (event && event.currentTarget.form) || launchForm;
    if (event) event.preventDefault();
    popup = window.open("", "dialog360", "popup=yes,width=600,height=900");
    if (!popup || popup.closed) {
      report("popup_blocked");
      // Say so beside the button that was pressed, with the same step in this tab.
      show(form.closest("[data-manage]") ? "blocked-manage" : "blocked");
      return;
    }
    launchForm = form;
    form.submit();
    // Follow along again, also after "Add or remove a number" on a finished page (then until
    // the polling bound: the new visit's numbers arrive after the page already said done).
    relaunched = finished;
    finished = false;
    pollDelay = pollFirst;
    pollStarted = Date.now();
    schedule();
    show("waiting");
    clearInterval(watcher);
    watcher = setInterval(function () {
      if (popup.closed) {
        clearInterval(watcher);
        refresh().then(function () {
          if (!returned) {
            report("popup_closed_early");
            show("closed");
          }
        });
      }
    }, 500);
  }

  var last = "";
  // Polls often at first, then slower, and stops after a bound with a "Check again" button.
  var pollFirst = Number(root.getAttribute("data-poll-first") || 3) * 1000;
  var pollLongest = Number(root.getAttribute("data-poll-longest") || 60) * 1000;
  var pollStop = Number(root.getAttribute("data-poll-stop") || 1800) * 1000;
  var poller = null;
  var pollDelay = pollFirst;
  var pollStarted = Date.now();
  var finished = false;
  var relaunched = false;

  function schedule() {
    clearTimeout(poller);
    if (finished) return;
    if (Date.now() - pollStarted >= pollStop) {
      root.querySelector("[data-paused]").hidden = false;
      return;
    }
    poller = setTimeout(function () {
      refresh().then(schedule);
    }, pollDelay);
    pollDelay = Math.min(pollLongest, Math.round(pollDelay * 1.5));
  }

  function pollAgain() {
    root.querySelector("[data-paused]").hidden = true;
    pollDelay = pollFirst;
    pollStarted = Date.now();
    refresh().then(schedule);
  }

  function render(data) {
    returned = returned || data.returned;
    var snapshot = JSON.stringify(data);
    if (snapshot === last) return data; // unchanged: keep the live region quiet
    last = snapshot;
    if ((data.done && !relaunched) || data.dead_end) {
      finished = true;
      clearTimeout(poller);
    }
    root.querySelector("[data-manage]").hidden = !data.done;
    var deadEnd = root.querySelector("[data-dead-end]");
    deadEnd.querySelector("[data-dead-end-text]").textContent = data.dead_end;
    deadEnd.hidden = !data.dead_end;
    root.querySelector("[data-numbers]").hidden = Boolean(data.dead_end) && !data.channels.length;
    root.querySelector("[data-headline]").textContent = data.headline;
    var wait = root.querySelector("[data-wait]");
    wait.textContent = data.wait;
    wait.hidden = !data.wait;
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
          item.append(number, label, explanation);
          if (channel.wait) {
            var wait = document.createElement("p");
            wait.className = "channel__wait" + (channel.late ? " channel__wait--late" : "");
            wait.textContent = channel.wait;
            item.append(wait);
          }
          var steps = document.createElement("ol");
          steps.className = "steps";
          channel.steps.forEach(function (step) {
            var entry = document.createElement("li");
            entry.className = "step step--" + step.state;
            entry.textContent = step.label;
            var mark = document.createElement("span");
            mark.className = "visually-hidden";
            mark.textContent = stateWords[step.state] || "";
            entry.append(mark);
            steps.append(entry);
          });
          item.append(steps);
          return item;
        })
      );
    }
    if (returned) {
      // Back from 360Dialog: "Connect WhatsApp" and its explanation are no longer the next step.
      var connect = root.querySelector("[data-connect]");
      if (connect) connect.hidden = true;
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

  // What the page itself says (in its language) about each step, for screen readers.
  var stateWords = {};
  root.querySelectorAll("[data-state-word]").forEach(function (element) {
    stateWords[element.getAttribute("data-state-word")] = element.textContent;
  });

  root.querySelectorAll("[data-launch]").forEach(function (button) {
    button.addEventListener("click", open);
  });
  root.querySelector("[data-check-again]").addEventListener("click", pollAgain);
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
  schedule();
  root.setAttribute("data-ready", "");
})();
