// The patrol report page: the phone's location (navigator.geolocation) or a place tapped on the map fills the
// hidden lat/lon fields (WGS-84); the photo chosen from the camera is previewed. The server checks everything again.
(function () {
  "use strict";
  var form = document.getElementById("patrol-form");
  if (!form) return;
  var el = document.getElementById("patrol-map"), status = document.getElementById("location-status");
  var lat = document.getElementById("lat"), lon = document.getElementById("lon");
  var accuracy = document.getElementById("accuracy"), source = document.getElementById("location_source");
  var config = JSON.parse(el.dataset.config), b = config.bounds, map = null, marker = null;

  if (window.L) {
    map = L.map(el, {minZoom: 12, maxZoom: 19});
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
    if (config.tile_url) {
      L.tileLayer(config.tile_url, {maxZoom: 19, attribution: config.tile_attribution || ""}).addTo(map);
    }
    // offline: the district's outline, so a tap has something to land on
    L.rectangle([[b[0], b[1]], [b[2], b[3]]], {color: "#12324f", weight: 2, fillColor: "#f4f1ea", fillOpacity: 0.6,
                                               interactive: false}).addTo(map);
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, "map", null); });
  }

  function place(la, lo, how, metres) {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    source.value = how;
    accuracy.value = metres == null ? "" : Math.round(metres);
    status.textContent = how === "gps" ? status.dataset.gps.replace("{m}", Math.round(metres || 0))
                                       : status.dataset.map;
    status.className = "hint located";
    if (map) {
      if (marker) marker.setLatLng([la, lo]); else marker = L.marker([la, lo]).addTo(map);
      map.setView([la, lo], Math.max(map.getZoom(), 16));
    }
  }

  function locate() {
    if (!navigator.geolocation) { status.textContent = status.dataset.denied; return; }
    status.textContent = status.dataset.waiting;
    navigator.geolocation.getCurrentPosition(function (p) {
      place(p.coords.latitude, p.coords.longitude, "gps", p.coords.accuracy);
    }, function () { status.textContent = status.dataset.denied; }, {enableHighAccuracy: true, timeout: 15000});
  }
  document.getElementById("use-gps").addEventListener("click", locate);
  if (lat.value && lon.value) place(parseFloat(lat.value), parseFloat(lon.value), source.value || "map",
                                    accuracy.value ? parseFloat(accuracy.value) : null);
  else locate();

  var photo = document.getElementById("photo"), preview = document.getElementById("photo-preview");
  photo.addEventListener("change", function () {
    if (!photo.files.length) { preview.hidden = true; return; }
    preview.src = URL.createObjectURL(photo.files[0]);
    preview.hidden = false;
  });
})();
