// The case's process in the bpmn-js NavigatedViewer: completed elements green, active ones amber. Zoom with the
// buttons, the mouse wheel or two fingers; pan by dragging (a finger too). A narrow screen opens on the current
// step at a readable scale instead of the whole process shrunk to the width of a phone.
(function () {
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) return;
  var viewer = new window.BpmnJS({container: box, additionalModules: window.jingzhiTranslate ? [window.jingzhiTranslate] : []});
  var READABLE = 0.9, STEP = 1.25, MIN = 0.1, MAX = 4;

  function ids(list) { return (list || "").split(",").filter(Boolean); }

  function zoomBy(canvas, factor) {
    var scale = Math.min(MAX, Math.max(MIN, canvas.zoom() * factor));
    var vb = canvas.viewbox();
    canvas.zoom(scale, {x: vb.x + vb.width / 2, y: vb.y + vb.height / 2});
    box.dataset.zoom = canvas.zoom().toFixed(3);
  }

  function focus(canvas, registry, active) {
    var root = canvas.getRootElement();   // a step inside a collapsed sub-process is drawn on its own plane
    var shapes = active.map(function (id) { return registry.get(id); }).filter(function (s) {
      return s && s.width && canvas.findRoot(s) === root;
    });
    // The steps waited on, not the timers and events waiting beside them (a boundary timer is "active" too).
    var steps = shapes.filter(function (s) { return /Task$|CallActivity/.test(s.type); });
    shapes = (steps.length ? steps : shapes).slice(0, 1);
    if (!shapes.length) { fit(canvas); return; }
    var x1 = Math.min.apply(null, shapes.map(function (s) { return s.x; }));
    var y1 = Math.min.apply(null, shapes.map(function (s) { return s.y; }));
    var x2 = Math.max.apply(null, shapes.map(function (s) { return s.x + s.width; }));
    var y2 = Math.max.apply(null, shapes.map(function (s) { return s.y + s.height; }));
    var outer = canvas.viewbox().outer, width = outer.width / READABLE, height = outer.height / READABLE;
    canvas.viewbox({x: (x1 + x2) / 2 - width / 2, y: (y1 + y2) / 2 - height / 2, width: width, height: height});
    box.dataset.zoom = canvas.zoom().toFixed(3);
  }

  function fit(canvas) {
    canvas.zoom("fit-viewport", "auto");
    box.dataset.zoom = canvas.zoom().toFixed(3);
  }

  function touch(canvas) {   // diagram-js pans and zooms with a mouse only
    var last = null;
    function state(event) {
      var t = event.touches, a = t[0], b = t[1] || t[0];
      return {x: (a.clientX + b.clientX) / 2, y: (a.clientY + b.clientY) / 2,
              d: Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY), n: t.length};
    }
    box.addEventListener("touchstart", function (event) { last = state(event); }, {passive: true});
    box.addEventListener("touchmove", function (event) {
      if (!last) return;
      var now = state(event);
      event.preventDefault();
      if (now.n === last.n) {
        canvas.scroll({dx: now.x - last.x, dy: now.y - last.y});
        if (now.n > 1 && last.d > 0) {
          var rect = box.getBoundingClientRect(), vb = canvas.viewbox(), scale = canvas.zoom();
          var centre = {x: vb.x + (now.x - rect.left) / scale, y: vb.y + (now.y - rect.top) / scale};
          canvas.zoom(Math.min(MAX, Math.max(MIN, scale * now.d / last.d)), centre);
        }
      }
      last = now;
    }, {passive: false});
    box.addEventListener("touchend", function (event) { last = event.touches.length ? state(event) : null; });
  }

  fetch(box.dataset.src, {credentials: "same-origin"})
    .then(function (r) { return r.text(); })
    .then(function (xml) { return viewer.importXML(window.jingzhiLocalizeDiagram ? window.jingzhiLocalizeDiagram(xml) : xml); })
    .then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      function mark(list, marker) {
        ids(list).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, marker); });
      }
      mark(box.dataset.done, "done");
      mark(box.dataset.active, "active");
      var active = ids(box.dataset.active);
      if (box.clientWidth < 700 && active.length) focus(canvas, registry, active);
      else fit(canvas);
      var actions = {"in": function () { zoomBy(canvas, STEP); }, "out": function () { zoomBy(canvas, 1 / STEP); },
                     "fit": function () { fit(canvas); }, "current": function () { focus(canvas, registry, active); }};
      document.querySelectorAll("[data-diagram-zoom]").forEach(function (button) {
        button.addEventListener("click", actions[button.dataset.diagramZoom]);
        if (button.dataset.diagramZoom === "current" && !active.length) button.hidden = true;
      });
      touch(canvas);
      box.dataset.rendered = "yes";
    })
    .catch(function (err) { box.textContent = "diagram: " + err; box.dataset.rendered = "error"; });
})();
