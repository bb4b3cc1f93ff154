// The process designer: the bpmn-js modeler on one diagram of a deployment's file set. "Validate" and "Deploy"
// post the whole set (this diagram as edited, the other files as deployed) to the engine; each problem it finds
// is marked on its element with the message beside it, and listed below the diagram with file and line.
(function () {
  var box = document.getElementById("modeler");
  if (!box || !window.BpmnJS) return;
  var files = JSON.parse(document.getElementById("file-set").textContent);
  var diagram = box.dataset.file;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var list = document.getElementById("problems"), status = document.getElementById("designer-status");
  var modeler = new window.BpmnJS({container: box});
  var marked = [];
  window.jingzhiModeler = modeler;  // for tests and the browser console

  function clear() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "problem"); });
    marked = [];
    modeler.get("overlays").remove({type: "problem"});
    list.textContent = "";
  }

  function show(problems) {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry"),
        overlays = modeler.get("overlays");
    (problems || []).forEach(function (p) {
      var item = document.createElement("li");
      item.dataset.element = p.element_id || "";
      item.textContent = p.file + (p.line ? ":" + p.line : "") + (p.element_id ? " [" + p.element_id + "]" : "") +
        " " + p.message;
      list.appendChild(item);
      if (p.file === diagram && p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, "problem");
        marked.push(p.element_id);
        var note = document.createElement("div");
        note.className = "problem-note";
        note.textContent = p.message;
        overlays.add(p.element_id, "problem", {position: {bottom: -6, left: 0}, html: note});
      }
    });
  }

  function say(text, state) { status.textContent = text; status.dataset.state = state; }

  function post(url) {
    return modeler.saveXML({format: true}).then(function (saved) {
      var set = Object.assign({}, files);
      set[diagram] = saved.xml;
      return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify({files: set}),
                         headers: {"Content-Type": "application/json", "Accept": "application/json",
                                   "X-CSRF-Token": csrf}});
    }).then(function (response) {
      return response.json().then(function (body) { return {status: response.status, body: body}; });
    });
  }

  function failed(result) { say((result.body.error || {}).message || ("HTTP " + result.status), "error"); }

  document.getElementById("validate").addEventListener("click", function () {
    post(box.dataset.validate).then(function (result) {
      clear();
      if (result.status !== 200) return failed(result);
      show(result.body.problems);
      say(result.body.valid ? status.dataset.valid : status.dataset.invalid + ": " + result.body.problems.length,
          result.body.valid ? "valid" : "invalid");
    });
  });

  document.getElementById("deploy").addEventListener("click", function () {
    post(box.dataset.deploy).then(function (result) {
      clear();
      if (result.status === 422 && result.body.error.code === "deployment_rejected") {
        show(result.body.error.details);
        return say(status.dataset.invalid + ": " + result.body.error.details.length, "refused");
      }
      if (result.status !== 200 && result.status !== 201) return failed(result);
      say(result.body.message, result.body.created ? "deployed" : "unchanged");
    });
  });

  modeler.importXML(files[diagram]).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    box.dataset.rendered = "yes";
  }).catch(function (err) { box.textContent = "diagram: " + err; box.dataset.rendered = "error"; });
})();
