// The console's fleet map (central/templates/_fleet_macros.html). The server
// draws a static SVG map that needs no script; this file draws an interactive
// map over it with Leaflet (static/leaflet.js, BSD-2-Clause) and
// Leaflet.markercluster (static/leaflet.markercluster.js, MIT), both vendored:
// no CDN, no internet. The outline is static/map-region.json; a tile server is
// used only when central_map_tile_url is set. On a gate's page with the
// position form, a click or tap on the map fills in the latitude and longitude.
"use strict";

(function () {
  // Worst first: a group of markers takes the colour and glyph of its worst gate.
  const ORDER = ["blanked", "offline", "warning", "online"];

  function fmt(text, params) {
    return text.replace(/%\((\w+)\)s/g, (m, k) => (k in params ? String(params[k]) : m));
  }

  function node(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Degrees as the viewer reads them (a decimal comma in Vietnamese).
  function degrees(value) {
    const lang = document.documentElement.lang || "vi";
    return value.toLocaleString(lang, { minimumFractionDigits: 5, maximumFractionDigits: 5 });
  }

  function gateMarker(g, current, words) {
    const pin = node("span", "pin marker-" + g.state + (current ? " current" : ""), g.glyph);
    const marker = L.marker([g.lat, g.lon], {
      icon: L.divIcon({ className: "pin-icon", html: pin, iconSize: [30, 30], iconAnchor: [15, 15],
        popupAnchor: [0, -15] }),
      title: g.name + ": " + g.word, alt: g.name + ": " + g.word, riseOnHover: true,
    });
    marker.options.gate = g;
    const popup = node("div", "map-popup");
    popup.appendChild(node("strong", "", g.name));
    popup.appendChild(node("span", "popup-state", g.glyph + " " + g.word));
    const link = node("a", "", words.open);
    link.href = g.url;
    popup.appendChild(link);
    marker.bindPopup(popup);
    return marker;
  }

  function groupIcon(cluster, words) {
    const gates = cluster.getAllChildMarkers().map((m) => m.options.gate);
    const worst = ORDER.find((s) => gates.some((g) => g.state === s)) || "online";
    const el = node("span", "cluster marker-" + worst);
    el.appendChild(node("span", "cluster-count", String(gates.length)));
    el.appendChild(node("span", "cluster-glyph", gates.find((g) => g.state === worst).glyph));
    const label = fmt(words.group, { count: gates.length }) + " — " +
      gates.map((g) => g.name + ": " + g.word).join("; ");
    el.title = label;
    el.setAttribute("aria-label", label);
    return L.divIcon({ className: "cluster-icon", html: el, iconSize: [40, 40] });
  }

  function drawOutline(map, data) {
    fetch(data.outline, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((outline) => {
        Object.keys(outline.countries).forEach((code) => {
          const rings = outline.countries[code].map((ring) => ring.map(([lon, lat]) => [lat, lon]));
          const vn = code === "VN";
          L.polygon(rings, {
            interactive: false, className: "land land-" + code.toLowerCase(),
            color: vn ? "#7a6a3a" : "#9a917a", weight: vn ? 1.6 : 1,
            fillColor: vn ? "#fff8d8" : "#f3efe4", fillOpacity: data.tiles ? 0 : 1,
          }).addTo(map);
        });
      })
      .catch(() => { /* the markers still show; the static map is one click away without script */ });
  }

  function enablePicking(map, region, data, form) {
    const lat = form.elements.latitude;
    const lon = form.elements.longitude;
    const message = document.getElementById("pick-message");
    let picked = null;
    function place(latlng) {
      if (!picked) {
        picked = L.marker(latlng, { interactive: false, keyboard: false,
          icon: L.divIcon({ className: "pin-icon", html: node("span", "pin picked", "+"),
            iconSize: [30, 30], iconAnchor: [15, 15] }) }).addTo(map);
      } else {
        picked.setLatLng(latlng);
      }
    }
    function say(text, bad) {
      if (!message) return;
      message.textContent = text;
      message.classList.toggle("bad", Boolean(bad));
    }
    map.getContainer().classList.add("picking");
    say(data.words.pick_hint, false);
    function pick(latlng) {
      if (!region.contains(latlng)) {
        say(data.words.outside, true);
        return;
      }
      lat.value = latlng.lat.toFixed(5);
      lon.value = latlng.lng.toFixed(5);
      place(latlng);
      say(fmt(data.words.picked, { lat: degrees(latlng.lat), lon: degrees(latlng.lng) }), false);
    }
    map.on("click", (ev) => pick(ev.latlng));
    // From the keyboard: move the map with the arrows, Enter picks its centre (the cross).
    map.getContainer().addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && ev.target === map.getContainer()) {
        ev.preventDefault();
        pick(map.getCenter());
      }
    });
    // Typed numbers move the mark too (a decimal comma is accepted, as on the server).
    function typed() {
      const a = parseFloat(lat.value.replace(",", "."));
      const o = parseFloat(lon.value.replace(",", "."));
      if (isFinite(a) && isFinite(o) && region.contains([a, o])) place([a, o]);
    }
    lat.addEventListener("input", typed);
    lon.addEventListener("input", typed);
  }

  function setup(fig) {
    if (!window.L || !L.markerClusterGroup) return; // the static map stays
    const data = JSON.parse(fig.querySelector("script.map-data").textContent);
    const box = node("div", "map-box");
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", data.words.map);
    fig.insertBefore(box, fig.querySelector("figcaption"));
    fig.classList.add("js-map");

    const [west, south, east, north] = data.bbox;
    const region = L.latLngBounds([south, west], [north, east]);
    const map = L.map(box, {
      zoomControl: false, attributionControl: false, maxBounds: region.pad(0.05), maxBoundsViscosity: 0.8,
      maxZoom: data.tiles ? 18 : 14, zoomSnap: 0.25, zoomDelta: 1, wheelPxPerZoomLevel: 90,
    });
    L.control.zoom({ zoomInTitle: data.words.zoom_in, zoomOutTitle: data.words.zoom_out }).addTo(map);
    // The sources are credited in the figure's caption, under the map.
    if (data.tiles) L.tileLayer(data.tiles, { maxZoom: 18 }).addTo(map);
    // The view is set before any marker is added: the group draws its markers for it.
    const current = data.gates.find((g) => g.id === data.current);
    // A whole number: the marker groups count their levels in whole zooms.
    map.setMinZoom(Math.max(1, Math.floor(map.getBoundsZoom(region)) - 1));
    if (current) map.setView([current.lat, current.lon], 9);
    else map.fitBounds(region);
    drawOutline(map, data);

    data.archipelagos.forEach((a) => {
      const label = node("span", "archipelago");
      label.appendChild(node("span", "archipelago-dot"));
      label.appendChild(node("span", "archipelago-name", a.name));
      L.marker([a.lat, a.lon], { interactive: false, keyboard: false,
        icon: L.divIcon({ className: "archipelago-label", html: label, iconSize: [0, 0] }) }).addTo(map);
    });

    const group = L.markerClusterGroup({
      maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      zoomToBoundsOnClick: true, iconCreateFunction: (c) => groupIcon(c, data.words),
    });
    data.gates.forEach((g) => group.addLayer(gateMarker(g, g === current, data.words)));
    map.addLayer(group);

    // What the view is, for people reading the page's state (and the browser tests).
    function record() {
      const c = map.getCenter();
      box.dataset.zoom = String(map.getZoom());
      box.dataset.center = c.lat.toFixed(4) + "," + c.lng.toFixed(4);
    }
    map.on("moveend zoomend", record);
    record();

    const form = document.getElementById("position-form");
    if (form && fig.closest(".gate-map")) enablePicking(map, region, data, form);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("figure.fleet-map[data-map]").forEach(setup);
  });
}());
