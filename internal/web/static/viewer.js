// Page images: tap one to see it enlarged over the whole screen, sharp (the
// largest rendering), then pinch or double-tap to zoom and drag to pan;
// the close button or Escape returns. No inline script (CSP).
(function () {
  "use strict";
  var label = document.documentElement.lang === "vi" ? "Đóng" : "Close";

  function open(src, alt) {
    var dlg = document.createElement("dialog");
    dlg.className = "viewer";
    dlg.setAttribute("aria-label", alt);
    var img = document.createElement("img");
    img.alt = alt;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "viewer-close";
    close.textContent = "×";
    close.setAttribute("aria-label", label);
    dlg.appendChild(close);
    dlg.appendChild(img);
    document.body.appendChild(dlg);

    var scale = 1, min = 1, x = 0, y = 0;
    var pointers = {}, last = null, pinch = null, lastTap = 0;
    function apply() {
      var vw = dlg.clientWidth, vh = dlg.clientHeight;
      var w = img.naturalWidth * scale, h = img.naturalHeight * scale;
      // Keep the page on screen: centred when smaller, edges clamped.
      x = w <= vw ? (vw - w) / 2 : Math.min(0, Math.max(vw - w, x));
      y = h <= vh ? (vh - h) / 2 : Math.min(0, Math.max(vh - h, y));
      img.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
    }
    function zoomAt(cx, cy, s) {
      s = Math.max(min, Math.min(min * 6, s));
      x = cx - (cx - x) * s / scale;
      y = cy - (cy - y) * s / scale;
      scale = s;
      apply();
    }
    img.addEventListener("load", function () {
      min = scale = Math.min(dlg.clientWidth / img.naturalWidth, dlg.clientHeight / img.naturalHeight);
      // Start at the page's width, the natural reading size on a phone.
      zoomAt(0, 0, dlg.clientWidth / img.naturalWidth);
      x = 0; y = 0; apply();
    });
    img.src = src;

    dlg.addEventListener("pointerdown", function (ev) {
      if (ev.target === close) { return; }
      pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      dlg.setPointerCapture(ev.pointerId);
      var ids = Object.keys(pointers);
      if (ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        pinch = { d: Math.hypot(a.x - b.x, a.y - b.y), s: scale };
      } else {
        last = { x: ev.clientX, y: ev.clientY };
        var now = Date.now();
        if (now - lastTap < 300) { zoomAt(ev.clientX, ev.clientY, scale > min * 1.5 ? min : scale * 2.5); }
        lastTap = now;
      }
    });
    dlg.addEventListener("pointermove", function (ev) {
      if (!pointers[ev.pointerId]) { return; }
      pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
      var ids = Object.keys(pointers);
      if (ids.length === 2 && pinch) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        zoomAt((a.x + b.x) / 2, (a.y + b.y) / 2, pinch.s * Math.hypot(a.x - b.x, a.y - b.y) / pinch.d);
      } else if (last) {
        x += ev.clientX - last.x;
        y += ev.clientY - last.y;
        last = { x: ev.clientX, y: ev.clientY };
        apply();
      }
    });
    function up(ev) {
      delete pointers[ev.pointerId];
      if (Object.keys(pointers).length < 2) { pinch = null; }
      if (Object.keys(pointers).length === 0) { last = null; }
    }
    dlg.addEventListener("pointerup", up);
    dlg.addEventListener("pointercancel", up);
    dlg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      zoomAt(ev.clientX, ev.clientY, scale * (ev.deltaY < 0 ? 1.2 : 1 / 1.2));
    }, { passive: false });
    function done() { dlg.close(); dlg.remove(); }
    close.addEventListener("click", done);
    dlg.addEventListener("cancel", function (ev) { ev.preventDefault(); done(); });
    dlg.showModal();
    close.focus();
  }

  document.querySelectorAll(".pages .page img[data-zoom]").forEach(function (img) {
    img.tabIndex = 0;
    img.setAttribute("role", "button");
    function go() { open(img.getAttribute("data-zoom"), img.alt); }
    img.addEventListener("click", go);
    img.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); go(); }
    });
  });
})();
