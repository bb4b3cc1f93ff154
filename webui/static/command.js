// The command centre's map: the district's own GeoJSON as the offline basemap (tiles under it when configured),
// devices clustered and coloured by state, open cases coloured by stage (overdue ringed in red), a heat map of cases
// over a period, filters by scenario and channel, and a live feed polled from the server. Coordinates arrive in
// WGS-84; when the tiles are GCJ-02 (AMap and most Chinese providers) every point is shifted with gcoord.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var config = JSON.parse(el.dataset.config), labels = JSON.parse(el.dataset.labels);
  var wall = el.dataset.wall === "1";
  var STATE = {online: "#2e7d32", offline: "#78909c", alarming: "#c62828", unknown: "#bdbdbd"};
  var STAGE = {discover: "#6a1b9a", register: "#0b5cad", dispatch: "#00838f", handle: "#b26a00", verify: "#ad1457"};
  document.querySelectorAll(".legend-dot[data-stage]").forEach(function (dot) {
    dot.style.background = STAGE[dot.dataset.stage] || "#455a64";
  });

  var shifted = config.tile_crs === "gcj02" && window.gcoord;
  function toMap(lat, lon) {        // WGS-84 -> what the tiles draw
    if (!shifted) return [lat, lon];
    var p = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);
    return [p[1], p[0]];
  }
  function toWgs(latlng) {           // the map's lat/lng -> WGS-84
    if (!shifted) return [latlng.lat, latlng.lng];
    var p = gcoord.transform([latlng.lng, latlng.lat], gcoord.GCJ02, gcoord.WGS84);
    return [p[1], p[0]];
  }

  var b = config.bounds;
  var map = L.map(el, {minZoom: 11, maxZoom: 19, zoomControl: !wall, attributionControl: true});
  map.fitBounds([toMap(b[0], b[1]), toMap(b[2], b[3])]);
  if (config.tile_url) {
    L.tileLayer(config.tile_url, {maxZoom: 19, attribution: config.tile_attribution || ""}).addTo(map);
  }
  // the basemap in its own pane under every overlay (tiles are in the tile pane, below it)
  map.createPane("basemap").style.zIndex = 300;
  fetch(el.dataset.district, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then(function (r) { return r.json(); })
    .then(function (geo) {
      L.geoJSON(geo, {
        coordsToLatLng: function (c) { return L.latLng(toMap(c[1], c[0])); },
        style: function (f) {
          var kind = f.properties.kind;
          if (kind === "district") {
            return {color: "#12324f", weight: 2, fill: !config.tile_url, fillColor: "#f4f1ea", fillOpacity: 1,
                    interactive: false};
          }
          if (kind === "street") return {color: "#9e9e9e", weight: 5, opacity: 0.8};
          return {color: "#a1887f", weight: 1, fillColor: "#efe3d3", fillOpacity: 0.8};
        },
        onEachFeature: function (f, layer) { layer.bindTooltip(f.properties.name, {sticky: true}); },
        pane: "basemap"
      }).addTo(map);
    });

  var devices = L.markerClusterGroup({
    chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50,
    iconCreateFunction: function (cluster) {
      // any alarm makes the cluster red; otherwise it takes the colour most of its devices have
      var children = cluster.getAllChildMarkers(), counts = {online: 0, offline: 0, unknown: 0}, worst = null;
      for (var i = 0; i < children.length; i++) {
        var s = children[i].options.state;
        if (s === "alarming") { worst = "alarming"; break; }
        counts[s] = (counts[s] || 0) + 1;
      }
      if (!worst) worst = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a]; })[0];
      var n = cluster.getChildCount(), size = n < 100 ? 30 : n < 1000 ? 38 : 46;
      return L.divIcon({html: "<div class='dev-cluster' style='width:" + size + "px;height:" + size + "px;background:" +
                        STATE[worst] + "'>" + n + "</div>", className: "dev-cluster-icon dev-cluster-" + worst,
                        iconSize: [size, size]});
    }
  });
  // open cases in a pane above the device clusters: they are what a dispatcher clicks first
  map.createPane("cases").style.zIndex = 650;
  var cases = L.layerGroup();
  var heat = L.heatLayer ? L.heatLayer([], {radius: 22, blur: 18, minOpacity: 0.35}) : null;
  var data = {devices: [], cases: []}, registry = null, positions = [];

  function chosen() {
    var channels = [];
    document.querySelectorAll("input.channel:checked").forEach(function (c) { channels.push(c.value); });
    return {scenario: (document.getElementById("scenario") || {}).value || "", channels: channels};
  }
  function checked(id, fallback) {
    var box = document.getElementById(id);
    return box ? box.checked : fallback;
  }
  function caseUrl(id) { return el.dataset["case"].replace(/0$/, id); }
  function deviceUrl(id) { return el.dataset.device.replace(/_$/, encodeURIComponent(id)); }

  function drawDevices() {
    devices.clearLayers();
    var f = chosen(), markers = [];
    var sensors = f.channels.indexOf("sensor") >= 0;
    if (checked("layer-devices", true) && sensors) {
      data.devices.forEach(function (d) {     // [id, lat, lon, state, scenario, type, ...]
        if (f.scenario && d[4] !== f.scenario) return;
        var m = L.marker(toMap(d[1], d[2]), {state: d[3], title: d[0], icon: L.divIcon({
          className: "dev-marker dev-" + d[3], iconSize: [10, 10],
          html: "<div class='dev-dot' style='background:" + STATE[d[3]] + "'></div>"})});
        m.on("click", function () { window.location = deviceUrl(d[0]); });
        markers.push(m);
      });
    }
    devices.addLayers(markers);
    document.getElementById("drawn-devices").textContent = markers.length;
  }
  function drawCases() {
    cases.clearLayers();
    var f = chosen(), n = 0;
    if (checked("layer-cases", true)) {
      data.cases.forEach(function (c) {
        if (f.scenario && c.scenario !== f.scenario) return;
        if (c.channel && f.channels.indexOf(c.channel) < 0) return;
        var m = L.circleMarker(toMap(c.lat, c.lon), {
          pane: "cases", radius: c.urgent ? 10 : 8, fillColor: STAGE[c.stage] || "#455a64", fillOpacity: 0.9,
          color: c.overdue ? "#c62828" : "#ffffff", weight: c.overdue ? 4 : 2,
          className: "case-marker case-" + c.instance_id + (c.overdue ? " case-overdue" : "")});
        m.bindTooltip(escapeHtml("#" + c.instance_id + " " + (labels.scenarios[c.scenario] || c.scenario || "") +
                                 " · " + (labels.stages[c.stage] || c.stage) + (c.overdue ? " · " + labels.overdue : "")));
        m.on("click", function () { window.location = caseUrl(c.instance_id); });
        cases.addLayer(m);
        n++;
      });
    }
    document.getElementById("drawn-cases").textContent = n;
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (ch) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[ch];
    });
  }
  function getJson(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); });
  }
  function loadPositions(version) {
    if (version === registry) return Promise.resolve();
    return getJson(el.dataset.devices).then(function (answer) { positions = answer.rows; registry = answer.version; });
  }
  function loadMap() {
    return getJson(el.dataset.map).then(function (answer) {
      return loadPositions(answer.registry).then(function () {
        var state = {};
        Object.keys(answer.states).forEach(function (s) { answer.states[s].forEach(function (id) { state[id] = s; }); });
        // [id, lat, lon, state, scenario, type]; a device not listed as anything else is online
        data.devices = positions.map(function (p) { return [p[0], p[1], p[2], state[p[0]] || "online", p[3], p[4]]; });
        var cols = answer.case_columns;
        data.cases = answer.cases.map(function (row) {
          var c = {};
          cols.forEach(function (name, i) { c[name] = row[i]; });
          return c;
        });
        drawDevices();
        drawCases();
      });
    }).catch(function (err) { console.error(err); });
  }
  function loadHeat() {
    if (!heat) return;
    if (!checked("layer-heat", wall)) {
      heat.setLatLngs([]);
      document.getElementById("drawn-heat").textContent = 0;
      return;
    }
    var q = new URLSearchParams();
    var from = document.getElementById("heat-from"), to = document.getElementById("heat-to");
    if (from && from.value) q.set("from", from.value);
    if (to && to.value) q.set("to", to.value);
    var s = chosen().scenario;
    if (s) q.set("scenario", s);
    getJson(el.dataset.heat + "?" + q.toString()).then(function (answer) {
      var max = answer.max || 1;
      heat.setOptions({max: max});
      heat.setLatLngs(answer.points.map(function (p) { var ll = toMap(p[0], p[1]); return [ll[0], ll[1], p[2]]; }));
      document.getElementById("drawn-heat").textContent = answer.points.length;
    }).catch(function (err) { console.error(err); });
  }

  devices.addTo(map);
  cases.addTo(map);
  if (heat) heat.addTo(map);
  loadMap();
  loadHeat();
  ["layer-devices", "scenario"].forEach(function (id) {
    var box = document.getElementById(id);
    if (box) box.addEventListener("change", function () { drawDevices(); drawCases(); if (id === "scenario") loadHeat(); });
  });
  var casesBox = document.getElementById("layer-cases");
  if (casesBox) casesBox.addEventListener("change", drawCases);
  document.querySelectorAll("input.channel").forEach(function (c) {
    c.addEventListener("change", function () { drawDevices(); drawCases(); });
  });
  ["layer-heat", "heat-from", "heat-to"].forEach(function (id) {
    var box = document.getElementById(id);
    if (box) box.addEventListener("change", loadHeat);
  });
  // map bounds in WGS-84, for whoever wants to cut a request to what is on screen
  window.jingzhiCommand = {map: map, bbox: function () {
    var bounds = map.getBounds(), sw = toWgs(bounds.getSouthWest()), ne = toWgs(bounds.getNorthEast());
    return [sw[0], sw[1], ne[0], ne[1]].join(",");
  }};

  // the live feed: new alarms, new cases, escalations, newest on top
  var feed = document.getElementById("feed"), cursor = null;
  function feedItem(item) {
    var li = document.createElement("li"), when = new Date(item.at);
    li.className = item.kind;
    // the place and the device are data, not words of the page: marked translate="no" (docs/i18n.md)
    var text = escapeHtml(labels.scenarios[item.scenario] || item.scenario || item.label || "") +
               (item.address ? " · <span translate='no'>" + escapeHtml(item.address) + "</span>" : "") +
               (item.device_id ? " · <span translate='no'>" + escapeHtml(item.device_id) + "</span>" : "");
    var link = item.instance_id ? caseUrl(item.instance_id) : item.device_id ? deviceUrl(item.device_id) : null;
    li.innerHTML = "<b>" + escapeHtml(labels[item.kind] || item.kind) + "</b> <time>" +
                   when.toLocaleTimeString() + "</time><br>" +
                   (link ? "<a href='" + link + "'>" + text + "</a>" : text);
    return li;
  }
  function pollFeed() {
    var url = el.dataset.feed + (cursor ? "?" + new URLSearchParams(cursor).toString() : "");
    getJson(url).then(function (answer) {
      var fresh = answer.items.length > 0;
      answer.items.forEach(function (item) { feed.insertBefore(feedItem(item), feed.firstChild); });
      while (feed.children.length > 60) feed.removeChild(feed.lastChild);
      if (!feed.children.length) feed.innerHTML = "<li class='hint'>" + escapeHtml(labels.nothing) + "</li>";
      else { var hint = feed.querySelector("li.hint"); if (hint) hint.remove(); }
      if (fresh && cursor) loadMap();   // something happened: redraw devices and cases
      cursor = answer.cursor;
    }).catch(function (err) { console.error(err); })
      .then(function () { setTimeout(pollFeed, config.feed_seconds * 1000); });
  }
  pollFeed();
  if (wall) setInterval(function () { loadMap(); loadHeat(); }, config.wall_refresh_seconds * 1000);
})();
