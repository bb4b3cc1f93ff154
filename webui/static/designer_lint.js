// bpmnlint on the modeler page: the common modelling mistakes (a disconnected task, a gateway without conditions,
// no end event, ...) found in the browser while the designer draws, before any round trip to the server. The
// rules are chosen in frontend/src/lint.js (bundled as vendor/jingzhi-lint.js). Findings are marked dashed amber with
// a short note above the element, apart from the server's red "problem" marks, and listed in #lint; the server's
// validation still decides what may deploy.
(function () {
  var modeler = window.jingzhiModeler, list = document.getElementById("lint");
  if (!modeler || !list || !window.JingzhiLint) return;
  var QUIET_MS = 300;  // lint once the designer pauses, not on every step of a drag
  var marked = [], timer = null, runs = 0;

  function clear() {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    marked.forEach(function (m) { if (registry.get(m[0])) canvas.removeMarker(m[0], m[1]); });  // not if deleted
    marked = [];
    modeler.get("overlays").remove({type: "lint"});
    list.textContent = "";
  }

  function show(found) {
    var registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas"),
        overlays = modeler.get("overlays"), root = canvas.getRootElement(), noted = {};
    clear();
    found.forEach(function (f) {
      var category = f.category === "warn" || f.category === "info" ? f.category : "error";
      var element = registry.get(f.id);
      var item = document.createElement("li");
      item.dataset.element = f.id || "";
      item.dataset.rule = f.rule;
      item.dataset.category = category;
      item.textContent = (f.id ? "[" + f.id + "] " : "") + f.message + " (" + f.rule + ")";
      list.appendChild(item);
      if (!element || element === root) return;  // process-wide findings are listed only
      item.classList.add("link");
      item.addEventListener("click", function () { modeler.get("selection").select(element); });
      canvas.addMarker(f.id, "lint-" + category);
      marked.push([f.id, "lint-" + category]);
      if (noted[f.id]) return;  // one note an element: the list has them all
      noted[f.id] = true;
      var note = document.createElement("div");
      note.className = "lint-note";
      note.textContent = f.message;
      overlays.add(f.id, "lint", {position: {top: -22, left: 0}, html: note});
    });
  }

  function lint() {
    var run = ++runs, definitions = modeler.getDefinitions();
    if (!definitions) return;
    list.dataset.state = "linting";
    window.JingzhiLint.lint(definitions).then(function (found) {
      if (run !== runs) return;  // a newer change is being linted already
      show(found);
      list.dataset.count = String(found.length);
      list.dataset.runs = String(run);
      list.dataset.state = "done";
    }).catch(function (err) {
      list.textContent = "bpmnlint: " + err;
      list.dataset.state = "error";
    });
  }

  modeler.on("import.done", lint);
  modeler.on("commandStack.changed", function () {
    clearTimeout(timer);
    timer = setTimeout(lint, QUIET_MS);
  });
  if (modeler.getDefinitions()) lint();  // the diagram was imported before this script ran
})();
