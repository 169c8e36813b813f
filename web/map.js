/* web/map.js — the operator console's map, on Leaflet (Debian's
 * libjs-leaflet, embedded by iocd at /vendor/leaflet.js).
 *
 * Owns: the Leaflet map of the #map panel and its layers: the tiles (when
 * [http] map_tiles is set; otherwise a plain background), a scale, the
 * areas' outlines (GET /api/v1/map/areas when [http] map_areas is set) with
 * each area's value ([http] map_area_value: a label, and PM2.5 filled by its
 * VN_AQI band), one
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
    const areas = new Map();     // properties.name -> {layers: [polygon layer], label}

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
          if (!name) return;
          layer.bindTooltip(String(name), { sticky: true });
          const a = areas.get(String(name)) || { layers: [], label: null };
          a.layers.push(layer);
          areas.set(String(name), a);
        },
      }).addTo(map);
      if (!fitted) fit();
    }
    function areaNames() { return [...areas.keys()]; }

    // PM2.5 (µg/m³) to its VN_AQI band 1..6, by the 24-hour table's
    // breakpoints (daemon/aggregate/vn_aqi.c: 25, 50, 80, 150, 250).
    const PM25_EDGES = [25, 50, 80, 150, 250];
    const BAND_COLOURS = ['#00e400', '#ffff00', '#ff7e00', '#ff0000', '#8f3f97', '#7e0023'];
    function pm25Band(v) {
      let b = 0;
      while (b < PM25_EDGES.length && v > PM25_EDGES[b]) b++;
      return b + 1;
    }
    // Area `name`'s value: a label at the middle of its outline, carrying
    // the number exactly as the API gave it; PM2.5 also fills the outline
    // with its band's colour. value null: no value (the label says so).
    function setAreaValue(name, value, series, isPm25) {
      const a = areas.get(name);
      if (!a) return;
      const text = typeof value === 'number' ? String(value) : '–';
      const band = typeof value === 'number' && isPm25 ? pm25Band(value) : 0;
      if (!a.label) {
        let b = null;
        for (const l of a.layers) b = b ? b.extend(l.getBounds()) : L.latLngBounds(l.getBounds().getSouthWest(), l.getBounds().getNorthEast());
        a.label = L.marker(b.getCenter(), { interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'area-value-icon', html: '', iconSize: null }) }).addTo(map);
      }
      const el = a.label.getElement();
      if (el) {
        el.textContent = '';
        const span = document.createElement('span');
        span.className = 'area-value' + (band ? ' band-' + band : '');
        span.setAttribute('data-testid', 'map-area-value');
        span.setAttribute('data-area', name);
        span.setAttribute('data-series', series);
        span.setAttribute('data-value', text);
        span.title = name + ' · ' + series;
        span.textContent = text;
        el.appendChild(span);
      }
      for (const l of a.layers) {
        const p = l.getElement && l.getElement();
        if (!p) continue;
        p.style.fill = band ? BAND_COLOURS[band - 1] : '';
        p.style.fillOpacity = band ? '0.35' : '';
        p.setAttribute('data-band', String(band));
      }
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
    return { setDevice, alertDelta, setAlertCount, addEvent, setAreas, areaNames, setAreaValue,
      fit, invalidate, marker, map };
  }

  return { create };
})();
