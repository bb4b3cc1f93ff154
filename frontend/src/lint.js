// bpmnlint in the browser, for the process designer's modeler page: the common modelling mistakes, found while the
// designer draws, before the server round trip (the server's validation stays the judge of what deploys).
// Built by `make assets` with esbuild into webui/static/vendor/jingzhi-lint.js as window.JingzhiLint.
//
// The rules are bpmnlint's recommended ones that hold for SpiffWorkflow and the district's diagrams. Left out:
// fake-join (the closed loop merges exclusive paths straight into a task on purpose, and SpiffWorkflow runs such a
// task once per arriving path, so the warning would stand on every opening of it), no-inclusive-gateway and
// no-complex-gateway (a matter for the engine's validation), no-bpmndi (the modeler always has diagram
// interchange), no-overlapping-elements, superfluous-label, superfluous-termination and global (layout and
// taste, not mistakes), ad-hoc-sub-process.
import { Linter } from "bpmnlint";
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";

import conditionalFlows from "bpmnlint/rules/conditional-flows";
import endEventRequired from "bpmnlint/rules/end-event-required";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import eventSubProcessTypedStartEvent from "bpmnlint/rules/event-sub-process-typed-start-event";
import labelRequired from "bpmnlint/rules/label-required";
import linkEvent from "bpmnlint/rules/link-event";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noGatewayJoinFork from "bpmnlint/rules/no-gateway-join-fork";
import noImplicitEnd from "bpmnlint/rules/no-implicit-end";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import noImplicitStart from "bpmnlint/rules/no-implicit-start";
import singleBlankStartEvent from "bpmnlint/rules/single-blank-start-event";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import startEventRequired from "bpmnlint/rules/start-event-required";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";

const FACTORIES = {
  "conditional-flows": [conditionalFlows, "error"],
  "end-event-required": [endEventRequired, "error"],
  "event-based-gateway": [eventBasedGateway, "error"],
  "event-sub-process-typed-start-event": [eventSubProcessTypedStartEvent, "error"],
  "link-event": [linkEvent, "error"],
  "no-disconnected": [noDisconnected, "error"],
  "no-duplicate-sequence-flows": [noDuplicateSequenceFlows, "error"],
  "single-blank-start-event": [singleBlankStartEvent, "error"],
  "single-event-definition": [singleEventDefinition, "error"],
  "start-event-required": [startEventRequired, "error"],
  "sub-process-blank-start-event": [subProcessBlankStartEvent, "error"],
  // the inbox shows a task's label to officers: an unnamed element is a mistake, but not one that stops a run
  "label-required": [labelRequired, "warn"],
  "no-gateway-join-fork": [noGatewayJoinFork, "warn"],
  "no-implicit-end": [noImplicitEnd, "warn"],
  "no-implicit-split": [noImplicitSplit, "warn"],
  "no-implicit-start": [noImplicitStart, "warn"],
  "superfluous-gateway": [superfluousGateway, "warn"],
};

const cache = {}, rules = {};
Object.keys(FACTORIES).forEach(function (name) {
  cache["rule:bpmnlint/" + name] = FACTORIES[name][0];
  rules[name] = FACTORIES[name][1];
});

// A new Linter for every run: bpmnlint caches each rule's instance, and some rules keep state between checks
// (no-duplicate-sequence-flows remembers every flow it saw, so a second run on a cached instance would call every
// flow a duplicate).
function lint(definitions) {
  const linter = new Linter({ config: { rules: rules }, resolver: new StaticResolver(cache) });
  return linter.lint(definitions).then(function (results) {
    const found = [];
    Object.keys(results).sort().forEach(function (rule) {
      results[rule].forEach(function (report) {
        found.push({ id: report.id, message: report.message, category: report.category, rule: rule });
      });
    });
    return found;
  });
}

window.JingzhiLint = { lint: lint, rules: Object.assign({}, rules) };
