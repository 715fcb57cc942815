// The layout page: drag a box over the page image, or pick a box and tap
// the page to centre it there. The boxes live in an SVG whose units are PDF
// points from the top left; the form holds PDF coordinates (from the
// bottom left) and is what gets saved, so the page works without script.
(function () {
  "use strict";
  var form = document.getElementById("layout-form");
  if (!form || form.querySelector("fieldset[disabled]")) { return; }

  function field(name, part) { return document.getElementById(name + "_" + part); }
  function picked() {
    var r = form.querySelector("input[name=pick]:checked");
    return r ? r.value : "";
  }
  function select(name) {
    document.querySelectorAll(".layout-box").forEach(function (g) {
      g.classList.toggle("selected", g.getAttribute("data-box") === name);
    });
    var r = form.querySelector("input[name=pick][value=" + name + "]");
    if (r) { r.checked = true; }
  }

  // svgPoint converts a pointer event to the SVG's units.
  function svgPoint(svg, ev) {
    var box = svg.getBoundingClientRect();
    var vb = svg.viewBox.baseVal;
    return {
      x: (ev.clientX - box.left) * vb.width / box.width,
      y: (ev.clientY - box.top) * vb.height / box.height
    };
  }

  // place moves box name to (x, y) (top left, SVG units) on page fig.
  function place(fig, name, x, y) {
    var svg = fig.querySelector("svg");
    var vb = svg.viewBox.baseVal;
    var g = document.querySelector(".layout-box[data-box=" + name + "]");
    if (!g) { return; }
    if (g.ownerSVGElement !== svg) { svg.appendChild(g); } // moved to another page
    var rect = g.querySelector("rect"), text = g.querySelector("text");
    var w = rect.width.baseVal.value, h = rect.height.baseVal.value;
    x = Math.max(0, Math.min(vb.width - w, x));
    y = Math.max(0, Math.min(vb.height - h, y));
    rect.setAttribute("x", x.toFixed(1));
    rect.setAttribute("y", y.toFixed(1));
    text.setAttribute("x", x.toFixed(1));
    text.setAttribute("y", y.toFixed(1));
    var height = vb.height;
    field(name, "page").value = fig.getAttribute("data-page");
    field(name, "llx").value = x.toFixed(1);
    field(name, "urx").value = (x + w).toFixed(1);
    field(name, "ury").value = (height - y).toFixed(1);
    field(name, "lly").value = (height - y - h).toFixed(1);
  }

  document.querySelectorAll(".layout-page").forEach(function (fig) {
    var svg = fig.querySelector("svg");
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) {
      var g = ev.target.closest ? ev.target.closest(".layout-box") : null;
      var p = svgPoint(svg, ev);
      if (g) {
        var rect = g.querySelector("rect");
        drag = { name: g.getAttribute("data-box"), dx: p.x - rect.x.baseVal.value, dy: p.y - rect.y.baseVal.value, moved: false };
        select(drag.name);
        svg.setPointerCapture(ev.pointerId);
        ev.preventDefault();
      }
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      var p = svgPoint(svg, ev);
      drag.moved = true;
      place(fig, drag.name, p.x - drag.dx, p.y - drag.dy);
    });
    svg.addEventListener("pointerup", function (ev) {
      var wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) { return; }
      if (ev.target.closest && ev.target.closest(".layout-box")) { return; }
      // Tap to place: centre the chosen box on the tapped point.
      var name = picked();
      var g = document.querySelector(".layout-box[data-box=" + name + "]");
      if (!g) { return; }
      var rect = g.querySelector("rect");
      var p = svgPoint(svg, ev);
      place(fig, name, p.x - rect.width.baseVal.value / 2, p.y - rect.height.baseVal.value / 2);
    });
  });

  form.querySelectorAll("input[name=pick]").forEach(function (r) {
    r.addEventListener("change", function () { select(r.value); });
  });
  // Typed coordinates move the box too.
  form.querySelectorAll(".layout-coords tr[data-box]").forEach(function (tr) {
    var name = tr.getAttribute("data-box");
    tr.querySelectorAll("input").forEach(function (inp) {
      inp.addEventListener("change", function () {
        var fig = document.querySelector(".layout-page[data-page='" + field(name, "page").value + "']");
        var g = document.querySelector(".layout-box[data-box=" + name + "]");
        if (!fig || !g) { return; }
        var h = parseFloat(fig.getAttribute("data-height"));
        var llx = parseFloat(field(name, "llx").value), lly = parseFloat(field(name, "lly").value);
        var urx = parseFloat(field(name, "urx").value), ury = parseFloat(field(name, "ury").value);
        if ([llx, lly, urx, ury].some(isNaN) || urx <= llx || ury <= lly) { return; }
        var rect = g.querySelector("rect");
        rect.setAttribute("width", (urx - llx).toFixed(1));
        rect.setAttribute("height", (ury - lly).toFixed(1));
        place(fig, name, llx, h - ury);
      });
    });
  });
  select(picked());
})();
