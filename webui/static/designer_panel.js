// The properties panel: what the engine reads of the selected element (docs/diagram-conventions.md), edited through
// bpmn-js's modeling commands so that every change can be undone and is saved with the diagram. Fields commit on
// "change" (leaving the field or pressing Enter). Labels come from the page (webui/i18n.py PANEL).
(function () {
  var designer = window.jingzhiDesigner, body = document.getElementById("panel-body");
  if (!designer || !body) return;
  var modeler = designer.modeler, ctx = designer.context, L = ctx.labels;
  var modeling = modeler.get("modeling"), moddle = modeler.get("moddle"),
      registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
  var SPIFF = "spiffworkflow:", current = null;
  var TIMER_KINDS = ["timeDuration", "timeDate", "timeCycle"];

  function is(bo, type) { return !!(bo && bo.$instanceOf && bo.$instanceOf(type)); }

  // Several modeling commands as one step of the undo history: commands run from a handler's preExecute are
  // nested in it, and undone and redone with it (as bpmn-js-properties-panel's multi-command executor does).
  var commandStack = modeler.get("commandStack");
  commandStack.registerHandler("jingzhi.together", function () {
    this.preExecute = function (context) { context.run(); };
    this.execute = function () { return []; };
    this.revert = function () { return []; };
  });
  function together(run) { commandStack.execute("jingzhi.together", {run: run}); }

  // -- reading and writing extension elements -------------------------------------------------------------------
  function extensionsOf(owner) { return (owner.extensionElements && owner.extensionElements.values) || []; }
  function extension(owner, type) {
    return extensionsOf(owner).filter(function (v) { return v.$type === SPIFF + type; })[0];
  }
  function ensureExtensions(element, owner) {
    if (!owner.extensionElements) {
      var ext = moddle.create("bpmn:ExtensionElements", {values: []});
      ext.$parent = owner;
      modeling.updateModdleProperties(element, owner, {extensionElements: ext});
    }
    return owner.extensionElements;
  }
  function addExtension(element, owner, created) {
    var ext = ensureExtensions(element, owner);
    created.$parent = ext;
    modeling.updateModdleProperties(element, ext, {values: (ext.values || []).concat([created])});
  }
  function removeExtension(element, owner, found) {
    var ext = owner.extensionElements;
    modeling.updateModdleProperties(element, ext, {values: ext.values.filter(function (v) { return v !== found; })});
  }

  // spiffworkflow:properties / spiffworkflow:property name= value=
  function property(bo, name) {
    var props = extension(bo, "Properties");
    var found = props && (props.properties || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }
  function setProperty(element, name, value) {
    var bo = element.businessObject, props = extension(bo, "Properties");
    if (!props) {
      if (!value) return;
      props = moddle.create(SPIFF + "Properties", {properties: []});
      addExtension(element, bo, props);
    }
    var list = props.properties || [], found = list.filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (found) modeling.updateModdleProperties(element, props,
                                                 {properties: list.filter(function (p) { return p !== found; })});
    } else if (found) {
      modeling.updateModdleProperties(element, found, {value: value});
    } else {
      var created = moddle.create(SPIFF + "Property", {name: name, value: value});
      created.$parent = props;
      modeling.updateModdleProperties(element, props, {properties: list.concat([created])});
    }
  }

  // Extensions holding one text: calledDecisionId, instructionsForEndUser, preScript, postScript, messageVariable.
  function text(owner, type) { var found = extension(owner, type); return found ? found.value || "" : ""; }
  function setText(element, owner, type, value) {
    var found = extension(owner, type);
    if (!value) { if (found) removeExtension(element, owner, found); return; }
    if (found) modeling.updateModdleProperties(element, found, {value: value});
    else addExtension(element, owner, moddle.create(SPIFF + type, {value: value}));
  }

  function expression(value) { return value ? moddle.create("bpmn:FormalExpression", {body: value}) : undefined; }

  // -- what the file set holds: processes to call, decisions, forms, messages ---------------------------------
  function decisionIds() { return designer.idsIn(".dmn", "<(?:\\w+:)?decision\\b[^>]*\\bid=\"([^\"]+)\""); }
  function formFiles() { return Object.keys(designer.files).filter(function (n) { return /\.json$/.test(n); }).sort(); }
  function definitions() { return modeler.getDefinitions(); }
  function rootsOf(type) { return (definitions().rootElements || []).filter(function (r) { return is(r, type); }); }
  function lanes() {
    return registry.filter(function (e) {
      return e.type === "bpmn:Lane" && !(e.businessObject.childLaneSet && e.businessObject.childLaneSet.lanes.length);
    });
  }
  function laneOf(bo) {
    return lanes().filter(function (lane) { return (lane.businessObject.flowNodeRef || []).indexOf(bo) >= 0; })[0];
  }

  // -- building the form ----------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else if (attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function field(key, label, input, hint) {
    input.id = "prop-" + key;
    input.name = key;
    return el("div", {"class": "field", "data-field": key},
              [el("label", {"for": input.id, text: label}), input, hint ? el("div", {"class": "hint", text: hint}) : null]);
  }
  function textInput(value, onChange, list) {
    var input = el("input", {type: "text", value: value || "", list: list});
    input.addEventListener("change", function () { onChange(input.value.trim()); });
    return input;
  }
  function textArea(value, onChange, rows) {
    var input = el("textarea", {rows: rows || 3, spellcheck: "false"});
    input.value = value || "";
    input.addEventListener("change", function () { onChange(input.value.replace(/\s+$/, "")); });
    return input;
  }
  function select(value, options, onChange, blank) {
    var input = el("select");
    if (blank !== false) input.appendChild(el("option", {value: "", text: L.none}));
    options.forEach(function (o) {
      var option = el("option", {value: o.value, text: o.label || o.value});
      if (o.value === value) option.selected = true;
      input.appendChild(option);
    });
    if (value && !options.some(function (o) { return o.value === value; })) {
      input.appendChild(el("option", {value: value, text: value, selected: "selected"}));
    }
    input.addEventListener("change", function () { onChange(input.value); });
    return input;
  }
  function checkbox(checked, onChange) {
    var input = el("input", {type: "checkbox"});
    input.checked = !!checked;
    input.addEventListener("change", function () { onChange(input.checked); });
    return input;
  }
  function datalist(id, values) {
    return el("datalist", {id: id}, values.map(function (v) { return el("option", {value: v.value, label: v.label}); }));
  }

  // -- sections by element type ---------------------------------------------------------------------------------
  function generalFields(element) {
    var bo = element.businessObject;
    var fields = [field("id", L.id, el("input", {type: "text", value: bo.id, readonly: "readonly"})),
                  field("name", L.name, textInput(bo.name, function (v) { modeling.updateLabel(element, v); }))];
    // The English name (docs/i18n.md): an extension property; a lane's name is a team code and has none.
    if (!is(bo, "bpmn:Lane")) fields.push(propertyText(element, "name_en"));
    return fields;
  }

  function processFields(element) {
    var bo = element.businessObject, process = is(bo, "bpmn:Participant") ? bo.processRef : bo;
    if (!process || !is(process, "bpmn:Process")) return [];
    return [el("h3", {text: L.process}),
            field("process-id", L.id, el("input", {type: "text", value: process.id, readonly: "readonly"})),
            field("process-name", L.name, textInput(process.name, function (v) {
              modeling.updateModdleProperties(element, process, {name: v || undefined});
            })),
            field("isExecutable", L.executable, checkbox(process.isExecutable, function (v) {
              modeling.updateModdleProperties(element, process, {isExecutable: v});
            }))];
  }

  function laneFields(element) {
    var teams = ctx.teams.map(function (t) { return {value: t.code, label: t.name}; });
    var withLeads = teams.concat(ctx.teams.map(function (t) { return {value: t.code + ".lead", label: t.name + " · lead"}; }));
    return [datalist("team-codes", withLeads),
            field("lane-team", L.lane_team, textInput(element.businessObject.name, function (v) {
              modeling.updateLabel(element, v);
            }, "team-codes"))];
  }

  function moveToLaneField(element) {
    // Only the lanes drawn on the element's own plane (a sub-process drilled into has none of the pool's).
    var all = lanes().filter(function (lane) { return canvas.findRoot(lane) === canvas.findRoot(element); });
    if (!all.length) return null;
    var here = laneOf(element.businessObject);
    return field("lane", L.lane, select(here ? here.id : "", all.map(function (lane) {
      return {value: lane.id, label: lane.businessObject.name || lane.id};
    }), function (laneId) {
      var lane = registry.get(laneId);
      if (!lane) return;
      // Moving the shape into the lane's band is what makes bpmn-js update the lane's flowNodeRef.
      var dy = Math.round(lane.y + lane.height / 2 - (element.y + element.height / 2));
      modeling.moveElements([element], {x: 0, y: dy});
    }, false));
  }

  function stageField(element) {
    var stages = Object.keys(ctx.stages).filter(function (s) { return s !== "cancelled"; })
      .map(function (s) { return {value: s, label: ctx.stages[s] + " (" + s + ")"}; });
    return field("stage", L.stage, select(property(element.businessObject, "stage"), stages, function (v) {
      setProperty(element, "stage", v);
    }));
  }

  function propertyField(element, name, input) { return field(name, L[name], input); }
  function propertyText(element, name) {
    return propertyField(element, name, textInput(property(element.businessObject, name), function (v) {
      setProperty(element, name, v);
    }));
  }

  function userTaskFields(element) {
    var bo = element.businessObject, forms = formFiles().map(function (n) { return {value: n}; });
    var schema = property(bo, "formJsonSchemaFilename"), ui = property(bo, "formUiSchemaFilename");
    function fileSelect(name) {
      return propertyField(element, name, select(property(bo, name), forms, function (v) {
        setProperty(element, name, v);
        render();
      }));
    }
    function button(id, label, onClick) {
      var node = el("button", {type: "button", "class": "secondary", id: id, text: label});
      node.addEventListener("click", onClick);
      return node;
    }
    // A new file is added to the set, named on the task, and opened in the form editor.
    function create(name, layout) {
      name = name.replace(/[\/\\]/g, "");
      if (!/\.json$/.test(name)) name += ".json";
      designer.createForm(name, layout);
      setProperty(element, layout ? "formUiSchemaFilename" : "formJsonSchemaFilename", name);
      render();
      designer.openForm(name, layout ? schema : name, layout ? name : ui);
    }
    var formActions = el("div", {"class": "actions"}), layoutActions = el("div", {"class": "actions"});
    if (schema && designer.files[schema] !== undefined) {
      formActions.appendChild(button("edit-form", L.edit_form, function () { designer.openForm(schema, schema, ui); }));
    }
    var fresh = el("input", {type: "text", id: "new-form-name", placeholder: bo.id + ".schema.json"});
    formActions.appendChild(fresh);
    formActions.appendChild(button("new-form", L.new_form, function () {
      create(fresh.value.trim() || bo.id + ".schema.json", false);
    }));
    if (schema && ui && designer.files[ui] !== undefined) {
      layoutActions.appendChild(button("edit-layout", L.edit_layout, function () { designer.openForm(ui, schema, ui); }));
    } else if (schema && !ui) {
      layoutActions.appendChild(button("new-layout", L.new_layout, function () { create(bo.id + ".ui.json", true); }));
    }
    return [propertyText(element, "team")].concat(deadlineFields(element), [
            fileSelect("formJsonSchemaFilename"), formActions, fileSelect("formUiSchemaFilename"), layoutActions,
            propertyText(element, "separateFrom"),
            field("instructions", L.instructions, textArea(text(bo, "InstructionsForEndUser"), function (v) {
              setText(element, bo, "InstructionsForEndUser", v);
            }, 4))]);
  }

  // -- a task's deadline and its escalation timer, edited as one ---------------------------------------------------
  // The deadline (dueIn) is what the inbox shows; the escalation is a timer boundary event on the task firing at
  // the same duration (bpmn/closed_loop.bpmn: register_overdue, verify_overdue). A timer whose duration equals the
  // deadline is taken as its escalation and changes with it, from either side; a reminder (another duration) stays.
  function same(a, b) { return (a || "").replace(/\s+/g, "") === (b || "").replace(/\s+/g, ""); }
  function timerValue(boundary) {
    var timer = eventDefinition(boundary.businessObject, "bpmn:TimerEventDefinition");
    return timer && timer.timeDuration ? timer.timeDuration.body || "" : null;
  }
  function attachedTimers(task) {
    return (task.attachers || []).filter(function (b) { return timerValue(b) !== null; });
  }
  function setTimerValue(boundary, value) {
    var timer = eventDefinition(boundary.businessObject, "bpmn:TimerEventDefinition");
    modeling.updateModdleProperties(boundary, timer, {timeDuration: expression(value)});
  }
  function deadlineFields(element) {
    var due = property(element.businessObject, "dueIn"), timers = attachedTimers(element);
    var linked = timers.filter(function (b) { return due && same(timerValue(b), due); });
    var input = textInput(due, function (v) {
      var old = property(element.businessObject, "dueIn");
      together(function () {
        setProperty(element, "dueIn", v);
        attachedTimers(element).forEach(function (b) {
          if (v && old && same(timerValue(b), old)) setTimerValue(b, v);
        });
      });
      render();
    });
    var notes = el("ul", {"class": "deadline-timers", id: "deadline-timers"}, timers.map(function (b) {
      var isLinked = linked.indexOf(b) >= 0;
      return el("li", {"data-timer": b.id, "data-linked": isLinked ? "yes" : "no"}, [
        el("span", {text: (b.businessObject.name || b.id) + ": "}), el("code", {text: timerValue(b)}),
        el("span", {"class": "hint", text: " · " + (isLinked ? L.escalation_linked : L.timer_other)})]);
    }));
    var nodes = [field("dueIn", L.dueIn, input, timers.length ? L.deadline_hint : null)];
    if (timers.length) nodes.push(notes);
    if (due && timers.length && !linked.length) {
      nodes.push(el("div", {"class": "flash error", id: "deadline-mismatch", text: L.deadline_mismatch}));
    }
    return nodes;
  }

  function scriptFields(element) {
    var bo = element.businessObject, fields = [];
    if (is(bo, "bpmn:ScriptTask")) {
      var script = textArea(bo.script, function (v) { modeling.updateProperties(element, {script: v}); }, 8);
      script.classList.add("code");
      fields.push(field("script", L.script, script));
    }
    if (is(bo, "bpmn:Activity")) {
      ["PreScript", "PostScript"].forEach(function (type) {
        var key = type.charAt(0).toLowerCase() + type.slice(1), area = textArea(text(bo, type), function (v) {
          setText(element, bo, type, v);
        }, 2);
        area.classList.add("code");
        fields.push(field(key, L[key], area));
      });
    }
    return fields;
  }

  function conditionFields(element) {
    var bo = element.businessObject, source = bo.sourceRef;
    if (!source || !(is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway") ||
                     is(source, "bpmn:Activity"))) return [];
    var isDefault = source.default === bo;
    var condition = textArea(bo.conditionExpression && bo.conditionExpression.body, function (v) {
      modeling.updateProperties(element, {conditionExpression: expression(v)});
    }, 2);
    condition.classList.add("code");
    if (isDefault) condition.disabled = true;
    return [field("condition", L.condition, condition),
            field("default", L.default_flow, checkbox(isDefault, function (v) {
              var sourceShape = registry.get(source.id);
              if (v) modeling.updateProperties(element, {conditionExpression: undefined});
              modeling.updateProperties(sourceShape, {"default": v ? bo : undefined});
              render();
            }))];
  }

  function eventDefinition(bo, type) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, type); })[0];
  }

  function timerFields(element) {
    var bo = element.businessObject, timer = eventDefinition(bo, "bpmn:TimerEventDefinition");
    if (!timer) return [];
    var kind = TIMER_KINDS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
    function write(newKind, value) {
      var props = {};
      TIMER_KINDS.forEach(function (k) { props[k] = undefined; });
      props[newKind] = expression(value);
      modeling.updateModdleProperties(element, timer, props);
    }
    var host = element.host, hostDue = host && is(host.businessObject, "bpmn:Activity") ? property(host.businessObject, "dueIn") : "";
    var escalation = kind === "timeDuration" && hostDue && same(timer[kind] && timer[kind].body, hostDue);
    var valueInput = textInput(timer[kind] && timer[kind].body, function (v) {
      together(function () {
        write(kind, v);
        if (escalation && v) setProperty(host, "dueIn", v);   // the escalation of a deadline moves the deadline
      });
      render();
    });
    var fields = [el("h3", {text: L.timer}),
                  field("timer-kind", L.timer, select(kind, TIMER_KINDS.map(function (k) {
                    return {value: k, label: L[k]};
                  }), function (v) { kind = v; write(v, valueInput.value.trim()); }, false)),
                  field("timer", L.timer_expression, valueInput, escalation ? L.escalation_of_deadline : null)];
    if (is(bo, "bpmn:BoundaryEvent")) fields.push(interruptingField(element));
    return fields;
  }

  function interruptingField(element) {
    return field("interrupting", L.interrupting, checkbox(element.businessObject.cancelActivity !== false,
                                                          function (v) { modeling.updateProperties(element, {cancelActivity: v}); }));
  }

  function messageFields(element) {
    var bo = element.businessObject, owner = is(bo, "bpmn:ReceiveTask") || is(bo, "bpmn:SendTask") ? bo :
      eventDefinition(bo, "bpmn:MessageEventDefinition");
    if (!owner) return [];
    var messages = rootsOf("bpmn:Message"), message = owner.messageRef;
    var choices = messages.map(function (m) { return {value: m.id, label: m.name || m.id}; });
    var fields = [el("h3", {text: L.message}),
                  field("message", L.message, select(message && message.id, choices, function (id) {
                    var picked = messages.filter(function (m) { return m.id === id; })[0];
                    modeling.updateModdleProperties(element, owner, {messageRef: picked});
                    render();
                  }))];
    var fresh = textInput("", function (name) {
      if (!name) return;
      var id = name.replace(/[^\w.-]/g, "_");
      var created = moddle.create("bpmn:Message", {id: id, name: name});
      created.$parent = definitions();
      modeling.updateModdleProperties(element, definitions(), {rootElements: definitions().rootElements.concat([created])});
      modeling.updateModdleProperties(element, owner, {messageRef: created});
      render();
    });
    fields.push(field("new-message", L.new_message, fresh));
    if (is(bo, "bpmn:ThrowEvent") || is(bo, "bpmn:SendTask")) {
      var payload = textArea(text(owner, "MessagePayload"), function (v) { setText(element, owner, "MessagePayload", v); }, 2);
      payload.classList.add("code");
      fields.push(field("messagePayload", L.messagePayload, payload));
    } else {
      fields.push(field("messageVariable", L.messageVariable, textInput(text(owner, "MessageVariable"), function (v) {
        setText(element, owner, "MessageVariable", v);
      })));
    }
    if (message) fields = fields.concat(correlationFields(element, message));
    return fields;
  }

  function correlationFields(element, message) {
    var properties = rootsOf("bpmn:CorrelationProperty");
    if (!properties.length) return [];
    var fields = [el("h4", {text: L.correlation})];
    properties.forEach(function (prop) {
      var expressions = prop.correlationPropertyRetrievalExpression || [];
      var mine = expressions.filter(function (r) { return r.messageRef === message; })[0];
      fields.push(field("correlation-" + prop.id, prop.name || prop.id, textInput(
        mine && mine.messagePath && mine.messagePath.body, function (v) {
          if (mine && v) {
            modeling.updateModdleProperties(element, mine, {messagePath: expression(v)});
          } else if (mine) {
            modeling.updateModdleProperties(element, prop, {
              correlationPropertyRetrievalExpression: expressions.filter(function (r) { return r !== mine; })});
          } else if (v) {
            var created = moddle.create("bpmn:CorrelationPropertyRetrievalExpression",
                                        {messageRef: message, messagePath: expression(v)});
            created.$parent = prop;
            modeling.updateModdleProperties(element, prop,
                                            {correlationPropertyRetrievalExpression: expressions.concat([created])});
          }
        })));
    });
    return fields;
  }

  function callFields(element) {
    var bo = element.businessObject;
    return [datalist("process-ids", designer.processIds().map(function (id) { return {value: id}; })),
            field("calledElement", L.calledElement, textInput(bo.calledElement, function (v) {
              modeling.updateProperties(element, {calledElement: v || undefined});
            }, "process-ids"))];
  }

  function decisionFields(element) {
    var bo = element.businessObject;
    return [field("calledDecisionId", L.calledDecisionId, select(text(bo, "CalledDecisionId"),
      decisionIds().map(function (id) { return {value: id}; }), function (v) {
        setText(element, bo, "CalledDecisionId", v);
      }))];
  }

  function problemsOf(element) {
    var mine = designer.problems.filter(function (p) {
      return p.element_id === element.id && p.file === designer.diagram;
    });
    if (!mine.length) return null;
    return el("div", {"class": "flash error", id: "panel-problems"}, [el("strong", {text: L.problems_here})].concat(
      mine.map(function (p) { return el("div", {text: (p.line ? p.line + ": " : "") + p.message}); })));
  }

  function sections(element) {
    var bo = element.businessObject, fields = [];
    if (element === canvas.getRootElement() || is(bo, "bpmn:Participant")) {
      return (is(bo, "bpmn:Participant") ? generalFields(element) : []).concat(processFields(element));
    }
    fields = generalFields(element);
    if (is(bo, "bpmn:Lane")) return fields.concat(laneFields(element));
    if (is(bo, "bpmn:SequenceFlow")) return fields.concat(conditionFields(element));
    if (!is(bo, "bpmn:FlowNode")) return fields;
    if (!element.host) fields.push(moveToLaneField(element));
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) fields = fields.concat(userTaskFields(element));
    if (is(bo, "bpmn:CallActivity")) fields = fields.concat(callFields(element));
    if (is(bo, "bpmn:BusinessRuleTask")) fields = fields.concat(decisionFields(element));
    fields = fields.concat(scriptFields(element), timerFields(element), messageFields(element));
    if (is(bo, "bpmn:BoundaryEvent") && !eventDefinition(bo, "bpmn:TimerEventDefinition")) {
      fields.push(interruptingField(element));
    }
    fields.push(stageField(element));
    return fields;
  }

  function render() {
    var element = current || canvas.getRootElement();
    body.textContent = "";
    body.dataset.element = element.id || "";
    if (!element.businessObject) return;
    if (!current) body.appendChild(el("p", {"class": "hint", text: L.select}));
    var problems = current && problemsOf(current);
    if (problems) body.appendChild(problems);
    sections(element).forEach(function (node) { if (node) body.appendChild(node); });
  }

  modeler.on("selection.changed", function (event) {
    current = event.newSelection.length === 1 ? event.newSelection[0] : null;
    render();
  });
  // Undo, redo and edits on the canvas (a label typed in place) show in the panel; a field being typed in keeps
  // its text because "change" fires only when the field is left.
  modeler.on("elements.changed", function (event) {
    if (!current) return;
    if (event.elements.some(function (e) { return e === current || e.id === current.id; })) {
      if (!registry.get(current.id)) current = null;
      var focused = document.activeElement;
      if (!(focused && body.contains(focused) && focused.tagName !== "BUTTON")) render();
    }
  });
  document.addEventListener("jingzhi:problems", render);
  document.addEventListener("jingzhi:imported", render);
})();
