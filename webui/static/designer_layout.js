// The designer's layout: the canvas takes the page's width; the palette (bpmn-js's tools) and the properties panel
// fold away with a button each, and are folded on a narrow screen until asked for. "Whole process" fits the diagram
// into the part of the canvas the palette leaves free, so the palette never covers it; +/- zoom around the centre.
(function () {
  var designer = window.jingzhiDesigner, box = document.getElementById("modeler");
  var grid = document.querySelector(".designer-grid");
  if (!designer || !box || !grid) return;
  var canvas = designer.modeler.get("canvas"), NARROW = 900, MARGIN = 16;
  var paletteButton = document.getElementById("toggle-palette"), panelButton = document.getElementById("toggle-panel");

  function paletteWidth() {
    var palette = box.querySelector(".djs-palette");
    if (!palette || box.classList.contains("palette-closed")) return 0;
    return palette.getBoundingClientRect().right - box.getBoundingClientRect().left;
  }

  function fit() {
    canvas.resized();
    var outer = canvas.viewbox().outer, inner = canvas.viewbox().inner, left = paletteWidth() + MARGIN;
    var width = outer.width - left - MARGIN, height = outer.height - 2 * MARGIN;
    if (!inner.width || !inner.height || width <= 0 || height <= 0) return;
    var scale = Math.min(width / inner.width, height / inner.height, 1);
    canvas.viewbox({x: inner.x - (left + (width - inner.width * scale) / 2) / scale,
                    y: inner.y - (outer.height - inner.height * scale) / 2 / scale,
                    width: outer.width / scale, height: outer.height / scale});
    box.dataset.zoom = canvas.zoom().toFixed(3);
  }

  function zoomBy(factor) {
    var vb = canvas.viewbox();
    canvas.zoom(Math.min(4, Math.max(0.1, canvas.zoom() * factor)), {x: vb.x + vb.width / 2, y: vb.y + vb.height / 2});
    box.dataset.zoom = canvas.zoom().toFixed(3);
  }

  function show(button, open) {
    button.setAttribute("aria-pressed", open ? "true" : "false");
  }
  function setPalette(open) {
    box.classList.toggle("palette-closed", !open);
    show(paletteButton, open);
  }
  function setPanel(open) {
    grid.classList.toggle("panel-closed", !open);
    show(panelButton, open);
    canvas.resized();
  }

  paletteButton.addEventListener("click", function () {
    setPalette(box.classList.contains("palette-closed"));
    fit();
  });
  panelButton.addEventListener("click", function () {
    var open = grid.classList.contains("panel-closed");
    setPanel(open);
    if (open && window.innerWidth <= NARROW) document.getElementById("panel").scrollIntoView({block: "start"});
    else fit();
  });
  document.getElementById("fit-diagram").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", function () { zoomBy(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomBy(0.8); });

  var narrow = window.innerWidth <= NARROW;
  setPalette(!narrow);
  setPanel(!narrow);
  document.addEventListener("jingzhi:imported", fit);
  if (box.dataset.rendered === "yes") fit();
})();
