// vanban pages: a little progressive enhancement, no inline script (the
// Content-Security-Policy forbids it). Everything works without it except
// the live status, which a reload also shows.
(function () {
  "use strict";

  // Live status of a signing session, updating the badge and message in
  // place until the session ends. The signing page listens to the
  // session's event stream (the server pushes each change); a list item,
  // or a browser without EventSource, asks the small JSON answer instead.
  function followSession(el) {
    var badge = el.querySelector("#session-status, [data-field=status]");
    var msg = el.querySelector("#session-message");
    var cancel = el.querySelector("#cancel-form");
    // show applies one status and reports whether the session ended.
    function show(s) {
      if (badge) {
        badge.textContent = s.label;
        badge.className = "badge sess-" + s.state;
        badge.setAttribute("data-state", s.state);
      }
      if (msg) { msg.textContent = s.message || ""; }
      if (s.done) {
        if (cancel) { cancel.hidden = true; }
        el.setAttribute("data-done", s.state);
      }
      return s.done;
    }
    var events = el.getAttribute("data-session-events");
    if (events && window.EventSource) {
      var es = new EventSource(events, { withCredentials: true });
      el.setAttribute("data-live", "events");
      es.addEventListener("status", function (e) {
        var s = null;
        try { s = JSON.parse(e.data); } catch (err) { return; }
        if (show(s)) { es.close(); }
      });
      // The browser reconnects by itself after a network error; a
      // refused stream (logged out, no longer allowed) ends it for good.
      es.onerror = function () {
        if (es.readyState === EventSource.CLOSED) { el.setAttribute("data-live", "closed"); }
      };
      return;
    }
    var url = el.getAttribute("data-poll-session");
    var delay = 1000;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { setTimeout(tick, delay * 3); return; }
          if (!show(s)) { setTimeout(tick, delay); }
        })
        .catch(function () { setTimeout(tick, delay * 3); });
    }
    setTimeout(tick, delay);
  }

  // While a signature or the seal is being applied, the document page
  // reloads itself once the state changes.
  function pollState(el) {
    var url = el.getAttribute("data-poll-state");
    var initial = null;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && initial === null) { initial = s.state; }
          if (s && s.state !== initial) { window.location.reload(); return; }
          setTimeout(tick, 1500);
        })
        .catch(function () { setTimeout(tick, 4000); });
    }
    tick();
  }

  function selectAll(box) {
    var name = box.getAttribute("data-select-all");
    box.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox][name=" + name + "]").forEach(function (c) { c.checked = box.checked; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll-session]").forEach(followSession);
    document.querySelectorAll("[data-poll-state]").forEach(pollState);
    document.querySelectorAll("[data-select-all]").forEach(selectAll);
  });
})();
