// Live notices: while a page is open, what awaits the person arrives over
// server-sent events and shows at the top of the page, linked to the
// document. Without script nothing is lost: the notices are also in the
// inbox and the notices list.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-notify-stream]");
    if (!box || !window.EventSource) { return; }
    var es = new EventSource(box.getAttribute("data-notify-stream"), { withCredentials: true });
    es.addEventListener("notice", function (ev) {
      var n;
      try { n = JSON.parse(ev.data); } catch (e) { return; }
      var a = document.createElement("a");
      a.className = "notice";
      a.href = n.link || "/";
      var t = document.createElement("strong");
      t.textContent = n.title || "";
      a.appendChild(t);
      if (n.text) {
        var s = document.createElement("span");
        s.textContent = " " + n.text;
        a.appendChild(s);
      }
      box.insertBefore(a, box.firstChild);
      while (box.children.length > 5) { box.removeChild(box.lastChild); }
      box.hidden = false;
    });
  });
})();
