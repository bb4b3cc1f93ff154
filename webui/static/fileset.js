// An edited file set sent to the engine, shared by the process designer (designer.js) and the decision table editor
// (decisions.js): the whole deployment's files with the edited one's current XML, posted as JSON with the session's
// CSRF token. "Validate" lists the engine's problems; "Deploy" lists them when the set is refused and says the new
// version when it is stored. The editor supplies how to save its XML and how to clear and show problems.
window.JingzhiFileSet = function (options) {
  // options: files (name -> text), file (the edited one's name, or a function giving it), saveXML () ->
  // Promise<{xml}>, clear (), show (problems)
  var status = document.getElementById("designer-status");
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var self = {
    csrf: csrf,
    say: function (text, state) { status.textContent = text; status.dataset.state = state; },
    // One problem of the engine's as a line of the list: where, then what ("extra" goes between the two). A problem
    // of no one file is on "(deployment)" or "(request)" (codes of the API): named in the page's language.
    describe: function (p, extra) {
      var file = {"(deployment)": status.dataset.deployment, "(request)": status.dataset.request}[p.file] || p.file;
      return file + (p.line ? ":" + p.line : "") + (p.element_id ? " [" + p.element_id + "]" : "") +
        (extra || "") + " " + p.message;
    },
    failed: function (result) { self.say((result.body.error || {}).message || ("HTTP " + result.status), "error"); },
    send: function (url, method, extra) {
      return options.saveXML().then(function (saved) {
        var set = Object.assign({}, options.files);
        set[typeof options.file === "function" ? options.file() : options.file] = saved.xml;
        return fetch(url, {method: method, credentials: "same-origin",
                           body: JSON.stringify(Object.assign({files: set}, extra || {})),
                           headers: {"Content-Type": "application/json", "Accept": "application/json",
                                     "X-CSRF-Token": csrf}});
      }).then(function (response) {
        return response.json().then(function (body) { return {status: response.status, body: body}; });
      });
    },
    validate: function (url) {
      return self.send(url, "POST").then(function (result) {
        options.clear();
        if (result.status !== 200) return self.failed(result);
        options.show(result.body.problems);
        self.say(result.body.valid ? status.dataset.valid : status.dataset.invalid + ": " + result.body.problems.length,
                 result.body.valid ? "valid" : "invalid");
      });
    },
    // Resolves to the answer when the set was stored (or was current already) or refused with 409, else to null.
    deploy: function (url, extra) {
      return self.send(url, "POST", extra).then(function (result) {
        options.clear();
        if (result.status === 422 && result.body.error.code === "deployment_rejected") {
          options.show(result.body.error.details);
          self.say(status.dataset.invalid + ": " + result.body.error.details.length, "refused");
          return null;
        }
        if (result.status === 409) return result;
        if (result.status !== 200 && result.status !== 201) { self.failed(result); return null; }
        self.say(result.body.message, result.body.created ? "deployed" : "unchanged");
        return result;
      });
    }
  };
  return self;
};
