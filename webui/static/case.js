// The case's process in the bpmn-js viewer: completed elements green, active ones amber.
(function () {
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) return;
  var viewer = new window.BpmnJS({container: box, additionalModules: window.jingzhiTranslate ? [window.jingzhiTranslate] : []});
  fetch(box.dataset.src, {credentials: "same-origin"})
    .then(function (r) { return r.text(); })
    .then(function (xml) { return viewer.importXML(window.jingzhiLocalizeDiagram ? window.jingzhiLocalizeDiagram(xml) : xml); })
    .then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      function mark(list, marker) {
        (list || "").split(",").forEach(function (id) {
          if (id && registry.get(id)) canvas.addMarker(id, marker);
        });
      }
      mark(box.dataset.done, "done");
      mark(box.dataset.active, "active");
      box.dataset.rendered = "yes";
    })
    .catch(function (err) { box.textContent = "diagram: " + err; box.dataset.rendered = "error"; });
})();
