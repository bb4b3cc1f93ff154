// Form schemas beside the diagram: a user task's JSON schema, or its layout hints (the UI schema), edited as text,
// with a live preview rendered by the server exactly as the officer's task page renders it
// (webui/templates/_form_fields.html). Edits go into the file set the designer validates, saves as a draft and
// deploys; a file that is not valid JSON, or a schema that is not a valid JSON Schema, shows where it breaks instead
// of a preview.
(function () {
  var designer = window.jingzhiDesigner, section = document.getElementById("form-editor");
  if (!designer || !section) return;
  var area = document.getElementById("form-text"), title = document.getElementById("form-name"),
      preview = document.getElementById("form-preview"), problem = document.getElementById("form-error");
  var url = document.getElementById("modeler").dataset.preview;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var open = null, schemaName = null, uiName = null, timer = null, asked = 0;
  var SKELETON = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                  "properties": {"note": {"type": "string", "title": "说明 Note", "maxLength": 2000}},
                  "required": []};
  var LAYOUT = {"ui:order": ["*"], "note": {"ui:widget": "textarea", "ui:help": ""}};

  function refresh() {
    var mine = ++asked;  // only the answer to the newest edit is shown
    fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify({
                  name: schemaName, schema: designer.files[schemaName] || "",
                  ui_name: uiName, ui: uiName ? designer.files[uiName] || null : null}),
                headers: {"Content-Type": "application/json", "Accept": "application/json",
                         "X-CSRF-Token": csrf}})
      .then(function (response) {
        return response.json().then(function (result) { return {ok: response.ok, result: result}; });
      })
      .then(function (answer) {
        if (mine !== asked) return;
        problem.hidden = answer.ok;
        if (answer.ok) {
          preview.innerHTML = answer.result.html;  // the task page's own template, escaped by the server
          section.dataset.preview = "ok";
        } else {
          var error = answer.result.error || {};
          problem.textContent = (error.details || []).map(function (p) {
            return (p.line ? p.file + ":" + p.line + " " : "") + p.message;
          }).join("\n") || error.message || "?";
          section.dataset.preview = "error";
        }
      });
  }

  // Edit file ``name`` (the schema itself or its layout), previewing ``schema`` laid out by ``ui`` (may be empty).
  designer.openForm = function (name, schema, ui) {
    open = name;
    schemaName = schema || name;
    uiName = ui || null;
    title.textContent = name;
    area.value = designer.files[name] || "";
    section.hidden = false;
    section.scrollIntoView({block: "nearest"});
    refresh();
  };

  designer.createForm = function (name, layout) {
    if (designer.files[name] === undefined) {
      designer.files[name] = JSON.stringify(layout ? LAYOUT : SKELETON, null, 2) + "\n";
      designer.changed();
    }
  };

  area.addEventListener("input", function () {
    if (open === null) return;
    designer.files[open] = area.value;
    designer.changed();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
