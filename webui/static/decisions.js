// The decision table editor: the dmn-js modeler on one DMN file of a deployment's file set, opened on one decision.
// "Validate" and "Deploy" post the whole set (this DMN file as edited, the other files as deployed) to the
// designer's endpoints; each problem is listed with its decision and rule, and its cell, rule or column is marked
// in the table (a problem of another decision of the file opens that decision when its line is clicked).
(function () {
  var box = document.getElementById("dmn-editor");
  if (!box || !window.DmnJS) return;
  var files = JSON.parse(document.getElementById("file-set").textContent);
  var file = box.dataset.file, decisionId = box.dataset.decision;
  var list = document.getElementById("problems");
  var translation = window.jingzhiTranslate ? [window.jingzhiTranslate] : [];
  var modeler = new window.DmnJS({container: box,
                                 common: {additionalModules: translation}, drd: {additionalModules: translation},
                                 decisionTable: {additionalModules: translation},
                                 literalExpression: {additionalModules: translation}});
  var shown = [], marked = [];
  window.jingzhiDmn = modeler;  // for tests and the browser console

  // Where an element id the engine names sits: its decision, and its rule's number when it is a rule or a cell.
  function locate(elementId) {
    var found = null;
    (modeler.getDefinitions().drgElement || []).forEach(function (decision) {
      var table = decision.decisionLogic;
      if (found || !table) return;
      if (decision.id === elementId || table.id === elementId) found = {decision: decision.id};
      (table.input || []).concat(table.output || []).forEach(function (column) {
        if (column.id === elementId || (column.inputExpression || {}).id === elementId) {
          found = {decision: decision.id, column: column.id};
        }
      });
      (table.rule || []).forEach(function (rule, n) {
        var cells = (rule.inputEntry || []).concat(rule.outputEntry || []);
        if (rule.id === elementId || cells.some(function (cell) { return cell.id === elementId; })) {
          found = {decision: decision.id, rule: n + 1, ruleId: rule.id, cell: rule.id === elementId ? null : elementId};
        }
      });
    });
    return found;
  }

  function openDecision(id) {
    var view = modeler.getViews().filter(function (v) { return v.element.id === id; })[0];
    var active = modeler.getActiveView();
    if (!view || (active && active.element.id === id)) return Promise.resolve();
    return modeler.open(view);
  }

  function unmark() {
    marked.forEach(function (node) { node.classList.remove("problem"); node.removeAttribute("title"); });
    marked = [];
  }

  // Cells, rule rows and column heads are marked in the open table only: dmn-js renders one decision at a time.
  function mark() {
    unmark();
    var active = modeler.getActiveView();
    shown.forEach(function (item) {
      var at = item.at;
      if (!at || !active || active.element.id !== at.decision) return;
      var selector = at.cell ? '[data-element-id="' + CSS.escape(at.cell) + '"]'
        : at.ruleId ? '[data-row-id="' + CSS.escape(at.ruleId) + '"]'
        : at.column ? 'th[data-col-id="' + CSS.escape(at.column) + '"]' : null;
      if (!selector) return;
      box.querySelectorAll(selector).forEach(function (node) {
        node.classList.add("problem");
        node.title = item.problem.message;
        marked.push(node);
      });
    });
  }

  function clear() { unmark(); shown = []; list.textContent = ""; }

  function show(problems) {
    (problems || []).forEach(function (p) {
      var at = p.file === file && p.element_id ? locate(p.element_id) : null;
      var item = document.createElement("li");
      item.dataset.element = p.element_id || "";
      if (at) {
        item.dataset.decision = at.decision;
        if (at.rule) item.dataset.rule = at.rule;
        item.classList.add("link");
        item.addEventListener("click", function () { openDecision(at.decision).then(mark); });
      }
      item.textContent = fileSet.describe(p, at ? " " + at.decision +
                                             (at.rule ? " · " + box.dataset.ruleLabel + " " + at.rule : "") : "");
      list.appendChild(item);
      shown.push({problem: p, at: at});
    });
    mark();
  }

  var fileSet = window.JingzhiFileSet({files: files, file: file, clear: clear, show: show,
                                       saveXML: function () { return modeler.saveXML({format: true}); }});
  document.getElementById("validate").addEventListener("click", function () { fileSet.validate(box.dataset.validate); });
  document.getElementById("deploy").addEventListener("click", function () { fileSet.deploy(box.dataset.deploy); });

  // a view switch or an edit re-renders the table: put the marks back on the new cells
  modeler.on("views.changed", function () { setTimeout(mark, 0); });

  modeler.importXML(files[file]).then(function () {
    return openDecision(decisionId);
  }).then(function () {
    box.dataset.rendered = "yes";
  }).catch(function (err) { box.textContent = "decision: " + err; box.dataset.rendered = "error"; });
})();
