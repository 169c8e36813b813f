/* web/map.js — the operator console's map, on Leaflet (Debian's
 * libjs-leaflet, embedded by iocd at /vendor/leaflet.js).
 *
 * Owns: the Leaflet map of the #map panel and its layers: the tiles (when
 * [http] map_tiles is set; otherwise a plain background), a scale, the
 * areas' outlines (GET /api/v1/map/areas when [http] map_areas is set), one
 * circle marker per device with a position (coloured by its state and
 * turned red while an alert of it is active) and the latest events with a
 * position. It holds no data of its own: app.js calls the methods below
 * with what it already has. Exposed as window.IocdMap; plain ES2020. */
'use strict';

window.IocdMap = (() => {
  const EVENTS_MAX = 200;

  // opts: {element, tiles, attribution, onDevice(source, device), popup(source, device) -> Node}
  function create(opts) {
    const L = window.L;
    const map = L.map(opts.element, { zoomControl: true, attributionControl: true,
      worldCopyJump: false, preferCanvas: false });
    map.attributionControl.setPrefix(false);
    if (opts.tiles)
      L.tileLayer(opts.tiles, { attribution: opts.attribution || '', maxZoom: 19 }).addTo(map);
    else
      opts.element.classList.add('no-tiles');
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([0, 0], 2);

    const devices = new Map();   // "source/device" -> {marker, state, alerts}
    const events = [];           // [marker], oldest first
    let fitted = false;
    let areasLayer = null;

    function cls(d) {
      return 'dev-marker st-' + d.state + (d.alerts > 0 ? ' alerting' : '');
    }
    function style(d) {
      const el = d.marker.getElement();
      if (!el) return;
      el.setAttribute('class', cls(d) + ' leaflet-interactive');
    }

    // A device row of /api/v1/devices or a live `status` item; one with no
    // lat/lon has no marker.
    function setDevice(row) {
      const key = row.source + '/' + row.device;
      let d = devices.get(key);
      const hasPos = typeof row.lat === 'number' && typeof row.lon === 'number';
      if (!d) {
        if (!hasPos) return;
        d = { state: row.state || 'online', alerts: 0, source: row.source, device: row.device };
        d.marker = L.circleMarker([row.lat, row.lon], { radius: 7, weight: 2,
          className: cls(d) });
        d.marker.bindPopup(() => opts.popup(d.source, d.device));
        d.marker.on('click', () => opts.onDevice(d.source, d.device));
        d.marker.addTo(map);
        const el = d.marker.getElement();
        if (el) {
          el.setAttribute('data-device', key);
          el.setAttribute('data-testid', 'map-device');
        }
        devices.set(key, d);
      } else if (hasPos) {
        d.marker.setLatLng([row.lat, row.lon]);
      }
      if (row.state) d.state = row.state;
      style(d);
    }

    // An alert of SOURCE/DEVICE raised (+1) or cleared (-1).
    function alertDelta(source, device, delta) {
      const d = devices.get(source + '/' + device);
      if (!d) return;
      d.alerts = Math.max(0, d.alerts + delta);
      style(d);
    }
    function setAlertCount(source, device, n) {
      const d = devices.get(source + '/' + device);
      if (!d || d.alerts === n) return;
      d.alerts = n;
      style(d);
    }

    // An event with a position (live: lat/lon; REST: location {lat, lon}).
    function addEvent(e, sevClass, text) {
      const lat = typeof e.lat === 'number' ? e.lat : e.location && e.location.lat;
      const lon = typeof e.lon === 'number' ? e.lon : e.location && e.location.lon;
      if (typeof lat !== 'number' || typeof lon !== 'number') return;
      const m = L.circleMarker([lat, lon], { radius: 5, weight: 1,
        className: 'ev-marker ' + sevClass });
      m.bindTooltip(text);
      m.addTo(map);
      const el = m.getElement();
      if (el) el.setAttribute('data-testid', 'map-event');
      events.push(m);
      while (events.length > EVENTS_MAX) events.shift().remove();
    }

    function setAreas(geojson) {
      if (areasLayer) areasLayer.remove();
      areasLayer = L.geoJSON(geojson, {
        className: 'area-outline',
        onEachFeature: (f, layer) => {
          const name = f.properties && (f.properties.name || f.properties.area);
          if (name) layer.bindTooltip(String(name), { sticky: true });
        },
      }).addTo(map);
      if (!fitted) fit();
    }

    // Frame every device (and the areas) once they are known.
    function fit() {
      const pts = [...devices.values()].map((d) => d.marker.getLatLng());
      let b = pts.length ? L.latLngBounds(pts) : null;
      if (areasLayer) {
        const ab = areasLayer.getBounds();
        if (ab.isValid()) b = b ? b.extend(ab) : ab;
      }
      if (b && b.isValid()) {
        map.fitBounds(b.pad(0.1), { maxZoom: 16 });
        fitted = true;
      }
    }

    function invalidate() { map.invalidateSize(); }
    function marker(source, device) {
      const d = devices.get(source + '/' + device);
      return d ? d.marker : null;
    }

    window.__iocdMap = map; // for tests and debugging
    return { setDevice, alertDelta, setAlertCount, addEvent, setAreas, fit, invalidate, marker,
      map };
  }

  return { create };
})();
