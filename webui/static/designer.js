// The process designer: the bpmn-js modeler on the diagrams of one file set (the designer's draft, or the newest
// deployment), one at a time; the set's other diagrams are a switch away, and a new diagram (a new process) can be
// added to it. "Validate" and "Deploy" post the whole set (the diagram on screen as edited, the others as last left,
// forms edited beside the diagram included) to the engine; each problem it finds is marked on its element with the
// message beside it, and listed below the diagram with file and line. "Save draft" keeps the set on the server
// without validating it. The properties panel (designer_panel.js) and the form editor (designer_forms.js) work on
// the same state through window.jingzhiDesigner.
(function () {
  var box = document.getElementById("modeler");
  if (!box || !window.BpmnJS) return;
  var files = JSON.parse(document.getElementById("file-set").textContent);
  var context = JSON.parse(document.getElementById("editor-context").textContent);
  var processId = box.dataset.process;
  var list = document.getElementById("problems");
  var modeler = new window.BpmnJS({container: box, moddleExtensions: {spiffworkflow: context.moddle},
                                   additionalModules: window.jingzhiTranslate ? [window.jingzhiTranslate] : []});
  var marked = [];
  var designer = window.jingzhiDesigner = {
    modeler: modeler, files: files, diagram: box.dataset.file, context: context, problems: [], dirty: false,
    changed: function () { designer.dirty = true; },
    emit: function (name) { document.dispatchEvent(new CustomEvent("jingzhi:" + name)); },
    // The ids of one kind of element (a regular expression's group 1) in the set's files of one suffix, sorted.
    idsIn: function (suffix, pattern) {
      var found = [];
      Object.keys(files).forEach(function (name) {
        if (name.slice(-suffix.length) !== suffix) return;
        var match, re = new RegExp(pattern, "g");
        while ((match = re.exec(files[name]))) found.push(match[1]);
      });
      return found.filter(function (id, i) { return found.indexOf(id) === i; }).sort();
    },
    processIds: function () { return designer.idsIn(".bpmn", "<(?:\\w+:)?process\\b[^>]*\\bid=\"([^\"]+)\""); }
  };
  window.jingzhiModeler = modeler;  // for tests and the browser console

  function clear() {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, "problem"); });
    marked = [];
    modeler.get("overlays").remove({type: "problem"});
    list.textContent = "";
    designer.problems = [];
  }

  function show(problems) {
    designer.problems = problems || [];
    designer.problems.forEach(function (p) {
      var item = document.createElement("li");
      item.dataset.element = p.element_id || "";
      item.textContent = fileSet.describe(p);
      list.appendChild(item);
      if (!p.element_id || !/\.bpmn$/.test(p.file) || files[p.file] === undefined) return;
      item.classList.add("link");
      item.addEventListener("click", function () {
        (p.file === designer.diagram ? Promise.resolve() : switchTo(p.file)).then(function () {
          var element = modeler.get("elementRegistry").get(p.element_id);
          if (element) modeler.get("selection").select(element);
        });
      });
    });
    mark();
    designer.emit("problems");
  }

  // The problems of the diagram on screen, marked on their elements with the message beside them.
  function mark() {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry"),
        overlays = modeler.get("overlays");
    designer.problems.forEach(function (p) {
      if (p.file !== designer.diagram || !p.element_id || !registry.get(p.element_id)) return;
      canvas.addMarker(p.element_id, "problem");
      marked.push(p.element_id);
      var note = document.createElement("div");
      note.className = "problem-note";
      note.textContent = p.message;
      overlays.add(p.element_id, "problem", {position: {bottom: -6, left: 0}, html: note});
    });
  }

  var fileSet = window.JingzhiFileSet({files: files, file: function () { return designer.diagram; },
                                       clear: clear, show: show,
                                       saveXML: function () { return modeler.saveXML({format: true}); }});
  var say = fileSet.say;

  function saved() { designer.dirty = false; }

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
  modeler.on("commandStack.changed", function (event) {
    if (event.trigger !== "clear") designer.changed();  // an import clears the stack: that is no edit
  });

  // Show another diagram of the set: the one on screen is kept in the set as it stands, with its own undo history
  // given up (bpmn-js keeps one per import).
  function switchTo(name) {
    return modeler.saveXML({format: true}).then(function (current) {
      files[designer.diagram] = current.xml;
      return showDiagram(name);
    });
  }

  function showDiagram(name) {
    designer.diagram = name;
    box.dataset.file = name;
    box.dataset.rendered = "no";
    switcher.value = name;
    return modeler.importXML(files[name]).then(function (result) {
      modeler.get("canvas").zoom("fit-viewport");
      marked = [];
      mark();
      // Content bpmn-js cannot read would be lost on save: say so instead of dropping it silently.
      if (result.warnings && result.warnings.length) {
        say(result.warnings.map(function (w) { return w.message.split("\n")[0]; }).join("; "), "warning");
      }
      box.dataset.rendered = "yes";
      designer.emit("imported");
    }).catch(function (err) { say(name + ": " + err, "error"); box.dataset.rendered = "error"; });
  }

  var switcher = document.getElementById("diagram-file");
  function listDiagrams() {
    switcher.textContent = "";
    Object.keys(files).filter(function (n) { return /\.bpmn$/.test(n); }).sort().forEach(function (n) {
      var option = document.createElement("option");
      option.value = option.textContent = n;
      switcher.appendChild(option);
    });
    switcher.value = designer.diagram;
  }
  switcher.addEventListener("change", function () { switchTo(switcher.value); });

  // A new process: an executable diagram with a start event, added to the set as <id>.bpmn.
  var newId = document.getElementById("new-process-id");
  document.getElementById("new-diagram").addEventListener("click", function () {
    var id = newId.value.trim();
    if (!/^[A-Za-z_][\w-]*$/.test(id)) return say(newId.dataset.invalid, "error");
    if (files[id + ".bpmn"] !== undefined || designer.processIds().indexOf(id) >= 0) {
      return say(newId.dataset.exists, "error");
    }
    files[id + ".bpmn"] = blank(id);
    designer.changed();
    listDiagrams();
    newId.value = "";
    switchTo(id + ".bpmn");
  });

  function blank(id) {
    return '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
      'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" ' +
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="' + id + '_definitions" ' +
      'targetNamespace="http://jingzhi.example/bpmn">\n' +
      '  <bpmn:process id="' + id + '" name="' + id + '" isExecutable="true">\n' +
      '    <bpmn:startEvent id="' + id + '_start"/>\n  </bpmn:process>\n' +
      '  <bpmndi:BPMNDiagram id="' + id + '_diagram"><bpmndi:BPMNPlane id="' + id + '_plane" bpmnElement="' + id +
      '">\n    <bpmndi:BPMNShape id="' + id + '_start_di" bpmnElement="' + id + '_start">' +
      '<dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>\n' +
      '  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
  }

  listDiagrams();
  showDiagram(designer.diagram);
})();
