// bpmn-js and dmn-js say everything through diagram-js's "translate" service. This module replaces it: it looks the
// English text up in the page's catalogue (the <script id="editor-strings"> JSON: webui/vocabulary.py EDITOR, put
// in the page's language by gettext) and fills in {placeholders} as diagram-js's own does. Text the catalogue
// lacks stays as bpmn-js / dmn-js wrote it. Passed as an additional module to the modeler, the viewer and dmn-js.
(function () {
  var node = document.getElementById("editor-strings");
  var context = node ? JSON.parse(node.textContent) : {};
  var strings = context.strings || {}, teams = context.teams || {};
  function translate(template, replacements) {
    replacements = replacements || {};
    return (strings[template] || template).replace(/{([^}]+)}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : "{" + key + "}";
    });
  }
  window.jingzhiTranslate = {translate: ["value", translate]};

  // Diagrams are labelled in Chinese, each element carrying its English name as the spiffworkflow property
  // name_en (docs/i18n.md): on an English page the names are swapped before the XML is shown. A lane is named
  // after its team's code; a viewer shows the team's name instead, in either language.
  window.jingzhiLocalizeDiagram = function (xml) {
    var english = (document.documentElement.lang || "").slice(0, 2) === "en";
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    if (doc.getElementsByTagName("parsererror").length) return xml;
    var all = doc.getElementsByTagName("*");
    for (var i = 0; i < all.length; i++) {
      var element = all[i];
      if (!element.hasAttribute("name") || element.namespaceURI !== "http://www.omg.org/spec/BPMN/20100524/MODEL") continue;
      var name = element.getAttribute("name");
      if (element.localName === "lane" && teams[name]) element.setAttribute("name", teams[name]);
      else if (english && englishName(element)) element.setAttribute("name", englishName(element));
    }
    return new XMLSerializer().serializeToString(doc);
  };

  function englishName(element) {
    for (var c = element.firstElementChild; c; c = c.nextElementSibling) {
      if (c.localName !== "extensionElements") continue;
      var props = c.getElementsByTagNameNS("http://spiffworkflow.org/bpmn/schema/1.0/core", "property");
      for (var p = 0; p < props.length; p++) {
        if (props[p].getAttribute("name") === "name_en" && props[p].parentNode.parentNode === c) {
          return props[p].getAttribute("value");
        }
      }
    }
    return null;
  }
})();
