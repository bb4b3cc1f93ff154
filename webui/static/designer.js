// The process designer: the bpmn-js modeler on one diagram of a file set (the designer's draft, or the newest
// deployment). "Validate" and "Deploy" post the whole set (this diagram as edited, the other files as held here,
// forms edited beside the diagram included) to the engine; each problem it finds is marked on its element with the
// message beside it, and listed below the diagram with file and line. "Save draft" keeps the set on the server
// without validating it. The properties panel (designer_panel.js) and the form editor (designer_forms.js) work on
// the same state through window.jingzhiDesigner.
(function () {
  var box = document.getElementById("modeler");
  if (!box || !window.BpmnJS) return;
  var files = JSON.parse(document.getElementById("file-set").textContent);
  var context = JSON.parse(document.getElementById("editor-context").textContent);
  var diagram = box.dataset.file, processId = box.dataset.process;
  var list = document.getElementById("problems");
  var modeler = new window.BpmnJS({container: box, moddleExtensions: {spiffworkflow: context.moddle}});
  var marked = [];
  var designer = window.jingzhiDesigner = {
    modeler: modeler, files: files, diagram: diagram, context: context, problems: [], dirty: false,
    changed: function () { designer.dirty = true; document.body.dataset.dirty = "yes"; },
    emit: function (name) { document.dispatchEvent(new CustomEvent("jingzhi:" + name)); }
  };
  window.jingzhiModeler = modeler;  // for tests and the browser console

  function clear() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "problem"); });
    marked = [];
    modeler.get("overlays").remove({type: "problem"});
    list.textContent = "";
    designer.problems = [];
  }

  function show(problems) {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry"),
        overlays = modeler.get("overlays");
    designer.problems = problems || [];
    designer.problems.forEach(function (p) {
      var item = document.createElement("li");
      item.dataset.element = p.element_id || "";
      item.textContent = p.file + (p.line ? ":" + p.line : "") + (p.element_id ? " [" + p.element_id + "]" : "") +
        " " + p.message;
      list.appendChild(item);
      if (p.file === diagram && p.element_id && registry.get(p.element_id)) {
        item.classList.add("link");
        item.addEventListener("click", function () {
          modeler.get("selection").select(registry.get(p.element_id));
        });
        canvas.addMarker(p.element_id, "problem");
        marked.push(p.element_id);
        var note = document.createElement("div");
        note.className = "problem-note";
        note.textContent = p.message;
        overlays.add(p.element_id, "problem", {position: {bottom: -6, left: 0}, html: note});
      }
    });
    designer.emit("problems");
  }

  var fileSet = window.JingzhiFileSet({files: files, file: diagram, clear: clear, show: show,
                                       saveXML: function () { return modeler.saveXML({format: true}); }});
  var say = fileSet.say;

  function saved() { designer.dirty = false; document.body.dataset.dirty = ""; }

  function base() {
    var id = parseInt(box.dataset.baseDeployment, 10);
    return isNaN(id) ? null : id;
  }

  document.getElementById("validate").addEventListener("click", function () { fileSet.validate(box.dataset.validate); });

  document.getElementById("save-draft").addEventListener("click", function () {
    fileSet.send(box.dataset.draft, "PUT", {base_deployment_id: base()}).then(function (result) {
      if (result.status !== 200) return fileSet.failed(result);
      saved();
      say(result.body.message, "draft");
    });
  });

  function deploy(force) {
    fileSet.deploy(box.dataset.deploy, {draft: processId, base_deployment_id: base(), force: force})
      .then(function (result) {
        if (!result) return;
        // Someone deployed a newer version since this one was opened: deploying would undo their change.
        if (result.status === 409) {
          say(result.body.error.message, "overtaken");
          if (window.confirm(result.body.error.message)) deploy(true);
          return;
        }
        saved();
        box.dataset.baseDeployment = result.body.deployment_id;
        var notice = document.getElementById("draft-notice");
        if (notice) notice.remove();
      });
  }
  document.getElementById("deploy").addEventListener("click", function () { deploy(false); });

  var discard = document.getElementById("discard-draft");
  if (discard) discard.addEventListener("click", function () {
    fetch(box.dataset.draft, {method: "DELETE", credentials: "same-origin",
                              headers: {"Accept": "application/json", "X-CSRF-Token": fileSet.csrf}})
      .then(function (response) {
        if (!response.ok) return say("HTTP " + response.status, "error");
        saved();
        window.location.reload();
      });
  });

  window.addEventListener("beforeunload", function (event) {
    if (designer.dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  modeler.on("commandStack.changed", designer.changed);

  modeler.importXML(files[diagram]).then(function (result) {
    modeler.get("canvas").zoom("fit-viewport");
    // Content bpmn-js cannot read would be lost on save: say so instead of dropping it silently.
    if (result.warnings && result.warnings.length) {
      say(result.warnings.map(function (w) { return w.message.split("\n")[0]; }).join("; "), "warning");
    }
    box.dataset.rendered = "yes";
    designer.emit("imported");
  }).catch(function (err) { box.textContent = "diagram: " + err; box.dataset.rendered = "error"; });
})();
