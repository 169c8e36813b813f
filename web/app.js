/* web/app.js — the iocd operator console's behaviour.
 *
 * Owns: the page's state (latest value and last-hour points of each series,
 * alerts, events, devices), loading it from the REST endpoints, keeping it
 * current from the live stream (/api/v1/live, Server-Sent Events),
 * reloading it when the stream says `reset` or was away for long, and
 * drawing it: the live board, the alert list with the operator's actions
 * (acknowledge, resolve, silence), the active silences, the event list
 * (updates of one case shown as one row with its status flow), device
 * status, the map (web/map.js: devices with a position, coloured by state
 * and red while alerting, events with a position, the areas' outlines) and
 * the chart panel. Every UI
 * string comes from DICT. Contract: docs/api.md. Plain ES2020, no build. */
'use strict';

(() => {
  // ---------------------------------------------------------------- strings
  const DICT = {
    vi: {
      title: 'Trung tâm điều hành đô thị',
      board: 'Giá trị trực tiếp', filter: 'Lọc chuỗi số liệu…',
      alerts: 'Cảnh báo', severity: 'Mức', alert: 'Cảnh báo', value: 'Giá trị',
      raised: 'Phát lúc', cleared: 'Hết lúc', no_alerts: 'Không có cảnh báo',
      active: 'đang hoạt động',
      devices: 'Thiết bị', subsystem: 'Phân hệ', st_online: 'Trực tuyến',
      st_stale: 'Chậm', st_offline: 'Mất kết nối', not_online: 'Thiết bị không trực tuyến',
      all_online: 'Mọi thiết bị đều trực tuyến', last_seen: 'lần cuối',
      chart: 'Biểu đồ', search_series: 'Tìm chuỗi số liệu (vd. pm25)…',
      resolution: 'Độ phân giải', range: 'Khoảng', pick_series: 'Chọn một chuỗi số liệu để vẽ',
      no_data: 'Không có dữ liệu trong khoảng này', loading: 'Đang tải…',
      no_match: 'Không tìm thấy',
      st_count: 'Số mẫu', st_mean: 'Trung bình', st_min: 'Nhỏ nhất', st_max: 'Lớn nhất',
      st_windows: 'Số cửa sổ', st_last: 'Giá trị cuối', st_latest_window: 'Cửa sổ mới nhất',
      st_p50: 'P50', st_p95: 'P95', st_stddev: 'Độ lệch chuẩn',
      conn_connecting: 'Đang kết nối…', conn_open: 'Trực tiếp',
      conn_reconnecting: 'Đang kết nối lại…',
      banner_reconnecting: 'Mất kết nối tới máy chủ — đang kết nối lại…',
      error_auth: 'Không có quyền truy cập (token)',
      broker: 'MQTT', version: 'phiên bản', series_n: 'chuỗi',
      src_air: 'Chất lượng không khí', src_traffic: 'Giao thông', src_water: 'Mực nước',
      src_weather: 'Thời tiết', src_rain: 'Lượng mưa', src_violations: 'Vi phạm giao thông',
      src_lighting: 'Chiếu sáng', src_bus: 'Xe buýt', src_fire: 'Báo cháy',
      src_reports: 'Phản ánh của người dân', src_parking: 'Bãi đỗ xe', src_iocd: 'iocd',
      sev_unspecified: 'chưa phân loại', sev_info: 'thông tin', sev_warning: 'cảnh báo',
      sev_minor: 'nhẹ', sev_major: 'nặng', sev_critical: 'nghiêm trọng',
      state_raised: 'đang phát', state_cleared: 'đã hết',
      events: 'Sự kiện', event: 'Sự kiện', area: 'Khu vực', status: 'Trạng thái', time: 'Lúc',
      all_areas: 'Mọi khu vực', all_kinds: 'Mọi loại', no_events: 'Chưa có sự kiện',
      took: 'xử lý trong',
      ack: 'Xác nhận', resolve: 'Kết thúc', acked_by: 'đã xác nhận:', assigned_to: 'giao cho',
      resolved_by: 'kết thúc bởi', ack_note: 'Ghi chú khi xác nhận:',
      resolve_note: 'Ghi chú khi kết thúc:', action_failed: 'Không thực hiện được:',
      map: 'Bản đồ', open_chart: 'Xem biểu đồ',
      silences: 'Tạm tắt thông báo', silence: 'Tạm tắt', lift: 'Bật lại',
      source: 'Nguồn', device: 'Thiết bị', rule: 'Quy tắc', reason: 'Lý do',
      silenced: 'đã tạm tắt thông báo', until: 'đến', by: 'bởi',
      silence_need: 'Cần ít nhất nguồn, thiết bị hoặc quy tắc, và lý do',
      login_title: 'Đăng nhập', login_token: 'Mã truy cập (token)', login_button: 'Đăng nhập',
      login_failed: 'Mã truy cập không đúng', logout: 'Đăng xuất',
      forbidden: 'Tài khoản của bạn chỉ được xem, không được thao tác.',
      role_viewer: 'chỉ xem', role_operator: 'điều hành viên', role_admin: 'quản trị',
    },
    en: {
      title: 'City operations centre',
      board: 'Live values', filter: 'Filter series…',
      alerts: 'Alerts', severity: 'Severity', alert: 'Alert', value: 'Value',
      raised: 'Raised', cleared: 'Cleared', no_alerts: 'No alerts',
      active: 'active',
      devices: 'Devices', subsystem: 'Subsystem', st_online: 'Online',
      st_stale: 'Stale', st_offline: 'Offline', not_online: 'Devices not online',
      all_online: 'Every device is online', last_seen: 'last seen',
      chart: 'Chart', search_series: 'Search series (e.g. pm25)…',
      resolution: 'Resolution', range: 'Range', pick_series: 'Pick a series to chart',
      no_data: 'No data in this range', loading: 'Loading…',
      no_match: 'No match',
      st_count: 'Samples', st_mean: 'Mean', st_min: 'Min', st_max: 'Max',
      st_windows: 'Windows', st_last: 'Last value', st_latest_window: 'Latest window',
      st_p50: 'P50', st_p95: 'P95', st_stddev: 'Std dev',
      conn_connecting: 'Connecting…', conn_open: 'Live',
      conn_reconnecting: 'Reconnecting…',
      banner_reconnecting: 'Lost the connection to the server — reconnecting…',
      error_auth: 'Not authorised (token)',
      broker: 'MQTT', version: 'version', series_n: 'series',
      src_air: 'Air quality', src_traffic: 'Traffic', src_water: 'Water level',
      src_weather: 'Weather', src_rain: 'Rain', src_violations: 'Traffic violations',
      src_lighting: 'Street lighting', src_bus: 'Buses', src_fire: 'Fire alarms',
      src_reports: 'Citizen reports', src_parking: 'Parking', src_iocd: 'iocd',
      sev_unspecified: 'unspecified', sev_info: 'info', sev_warning: 'warning',
      sev_minor: 'minor', sev_major: 'major', sev_critical: 'critical',
      state_raised: 'raised', state_cleared: 'cleared',
      events: 'Events', event: 'Event', area: 'Area', status: 'Status', time: 'Time',
      all_areas: 'All areas', all_kinds: 'All kinds', no_events: 'No events yet',
      took: 'resolved in',
      ack: 'Acknowledge', resolve: 'Resolve', acked_by: 'acknowledged by', assigned_to: 'assigned to',
      resolved_by: 'resolved by', ack_note: 'Note for the acknowledgement:',
      resolve_note: 'Note for the resolution:', action_failed: 'Could not do it:',
      map: 'Map', open_chart: 'Open the chart',
      silences: 'Silences', silence: 'Silence', lift: 'Lift',
      source: 'Source', device: 'Device', rule: 'Rule', reason: 'Reason',
      silenced: 'silenced: not notified', until: 'until', by: 'by',
      silence_need: 'Give a source, device or rule, and a reason',
      login_title: 'Log in', login_token: 'Access token', login_button: 'Log in',
      login_failed: 'Unknown token', logout: 'Log out',
      forbidden: 'Your account may view, not act.',
      role_viewer: 'viewer', role_operator: 'operator', role_admin: 'admin',
    },
  };

  const params = new URLSearchParams(location.search);
  // Who is logged in (GET /api/v1/whoami): {name, role, accounts}. The
  // session is an HttpOnly cookie iocd sets at login; the page never sees
  // a token after the login form, and never puts one in a URL.
  let me = null;
  let lang = params.get('lang') || safeStorageGet('iocd.lang') || 'vi';
  if (!DICT[lang]) lang = 'vi';

  function t(key) {
    const d = DICT[lang];
    return key in d ? d[key] : (key in DICT.en ? DICT.en[key] : key);
  }
  function sourceLabel(src) {
    const k = 'src_' + src;
    return k in DICT[lang] ? DICT[lang][k] : src;
  }
  function safeStorageGet(k) {
    try { return localStorage.getItem(k); } catch (e) { return null; }
  }
  function safeStorageSet(k, v) {
    try { localStorage.setItem(k, v); } catch (e) { /* private mode */ }
  }

  // ---------------------------------------------------------------- helpers
  const $ = (id) => document.getElementById(id);
  const SVGNS = 'http://www.w3.org/2000/svg';
  const HOUR = 3600 * 1000;
  const SPARK_POINTS_MAX = 720;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of kids) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  function fmtNum(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
    const a = Math.abs(v);
    let s;
    if (a !== 0 && (a >= 1e7 || a < 1e-3)) s = v.toExponential(3);
    else if (Number.isInteger(v)) s = String(v);
    else s = String(Number(v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3)));
    return s;
  }
  function locale() { return lang === 'vi' ? 'vi-VN' : 'en-GB'; }
  function fmtTime(ms) {
    if (typeof ms !== 'number') return '';
    const d = new Date(ms);
    const today = new Date();
    const sameDay = d.toDateString() === today.toDateString();
    return sameDay ? d.toLocaleTimeString(locale(), { hour12: false })
      : d.toLocaleString(locale(), { hour12: false });
  }
  function fmtDuration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 120) return s + 's';
    if (s < 7200) return Math.round(s / 60) + 'm';
    if (s < 172800) return Math.round(s / 3600) + 'h';
    return Math.round(s / 86400) + 'd';
  }
  const DUR = { m: 60e3, h: 3600e3, d: 86400e3, s: 1e3 };
  function parseDur(s) {
    const m = /^(\d+)([smhd])$/.exec(s);
    return m ? Number(m[1]) * DUR[m[2]] : HOUR;
  }
  // Severity names come from the daemon's one table (GET /api/v1/meta, in
  // ioc.v1.Severity order), loaded before anything is drawn; a name it does
  // not list is styled and labelled as `unspecified`.
  let SEVERITIES = [];
  function sevName(s) { return SEVERITIES.includes(s) ? s : 'unspecified'; }
  function sevClass(s) { return 'sev-' + sevName(s); }

  // ------------------------------------------------------------------ HTTP
  function apiUrl(path, q) {
    const u = new URL(path, location.origin);
    if (q) for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '')
      u.searchParams.set(k, v);
    return u.pathname + u.search;
  }
  class HttpError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }
  async function apiPost(path, body) {
    const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    const r = await fetch(apiUrl(path), { method: 'POST', headers, body: JSON.stringify(body),
      cache: 'no-store', credentials: 'same-origin' });
    const j = await r.json().catch(() => ({}));
    if (r.status === 401) showLogin();
    if (!r.ok) throw new HttpError(r.status, j.error || ('HTTP ' + r.status));
    return j;
  }
  async function api(path, q) {
    const headers = { Accept: 'application/json' };
    const r = await fetch(apiUrl(path, q), { headers, cache: 'no-store', credentials: 'same-origin' });
    if (r.status === 401) showLogin();
    if (!r.ok) {
      let msg = r.status + ' ' + r.statusText;
      try { const j = await r.json(); if (j && j.error) msg = j.error; } catch (e) { /* not json */ }
      throw new HttpError(r.status, msg);
    }
    return r.json();
  }

  // ----------------------------------------------------------------- state
  const state = {
    latest: new Map(),    // series -> {series, source, device, metric, unit, value, time_ms}
    points: new Map(),    // series -> [[t_ms, value], ...] last hour, ascending
    seeded: new Set(),    // series whose last hour came from /windows
    alerts: new Map(),    // id + '@' + raised_ms -> alert record
    events: new Map(),    // case key -> {first, last, updates: [event, ...] oldest first}
    devices: new Map(),   // source/device -> {source, device, state, last_seen_ms, ...}
    statusCounts: {},     // from /api/v1/status, for sources with no device rows
    status: null,
    chart: { series: null, unit: '', data: null },
  };

  // ------------------------------------------------------------ live board
  const board = $('board');
  const sourceBoxes = new Map();  // source -> {box, tbody}
  const rows = new Map();         // series -> {tr, val, unit, time, spark}
  const dirty = new Set();
  let renderQueued = false;
  let boardFilter = '';

  function sourceBox(src) {
    let b = sourceBoxes.get(src);
    if (b) return b;
    const title = el('h3', { class: 'src-title', 'data-source': src });
    const tbody = el('tbody');
    const box = el('details', { class: 'source', open: '', 'data-testid': 'source-' + src },
      el('summary', null, title),
      el('table', { class: 'values' }, tbody));
    b = { box, tbody, title, src };
    title.textContent = sourceLabel(src);
    sourceBoxes.set(src, b);
    // Keep subsystems in name order.
    const after = [...sourceBoxes.keys()].sort().find((s) => s > src);
    board.insertBefore(box, after ? sourceBoxes.get(after).box : null);
    return b;
  }

  function rowFor(l) {
    let r = rows.get(l.series);
    if (r) return r;
    const b = sourceBox(l.source);
    const name = el('td', { class: 'name' },
      el('button', { type: 'button', class: 'link', title: l.series, 'data-series': l.series,
        text: l.device + ' · ' + l.metric }));
    const val = el('span', { class: 'v', 'data-testid': 'value-' + l.series });
    const unit = el('span', { class: 'u' });
    const time = el('td', { class: 't' });
    const spark = svg('svg', { class: 'spark', viewBox: '0 0 120 24', preserveAspectRatio: 'none',
      'data-testid': 'spark-' + l.series });
    const tr = el('tr', { 'data-series': l.series },
      name, el('td', { class: 'val' }, val, ' ', unit), time, el('td', { class: 'sp' }, spark));
    // Rows in name order within the subsystem.
    const names = [...b.tbody.children].map((x) => x.getAttribute('data-series'));
    const idx = names.findIndex((n) => n > l.series);
    b.tbody.insertBefore(tr, idx >= 0 ? b.tbody.children[idx] : null);
    r = { tr, val, unit, time, spark };
    rows.set(l.series, r);
    applyFilterRow(l.series, r);
    seedObserver.observe(tr);
    return r;
  }

  function applyFilterRow(series, r) {
    r.tr.hidden = boardFilter !== '' && !series.toLowerCase().includes(boardFilter);
  }

  function markDirty(series) {
    dirty.add(series);
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(renderDirty);
    }
  }

  function renderDirty() {
    renderQueued = false;
    for (const s of dirty) {
      const l = state.latest.get(s);
      if (!l) continue;
      const r = rowFor(l);
      // A state series shows its state's text (docs/states.md).
      r.val.textContent = typeof l.state === 'string' ? l.state : fmtNum(l.value);
      r.val.setAttribute('data-value', typeof l.state === 'string' ? l.state : String(l.value));
      r.val.setAttribute('data-time-ms', String(l.time_ms));
      r.unit.textContent = l.unit || '';
      r.time.textContent = fmtTime(l.time_ms);
      drawSpark(r.spark, state.points.get(s) || []);
    }
    dirty.clear();
  }

  function drawSpark(node, pts) {
    const now = Date.now();
    const from = now - HOUR;
    const ps = pts.filter((p) => p[0] >= from);
    node.replaceChildren();
    node.setAttribute('data-points', String(ps.length));
    if (ps.length === 0) return;
    let lo = Infinity, hi = -Infinity;
    for (const p of ps) { if (p[1] < lo) lo = p[1]; if (p[1] > hi) hi = p[1]; }
    if (hi === lo) { hi += 1; lo -= 1; }
    const x = (tm) => ((tm - from) / HOUR) * 120;
    const y = (v) => 22 - ((v - lo) / (hi - lo)) * 20;
    const d = ps.map((p, i) => (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join('');
    node.append(svg('path', { d, class: 'spark-line' }));
    const last = ps[ps.length - 1];
    node.append(svg('circle', { cx: x(last[0]).toFixed(1), cy: y(last[1]).toFixed(1), r: 1.6,
      class: 'spark-dot' }));
  }

  function addPoint(series, tms, v) {
    let a = state.points.get(series);
    if (!a) { a = []; state.points.set(series, a); }
    if (a.length === 0 || a[a.length - 1][0] <= tms) a.push([tms, v]);
    else {                          // late sample: keep the array ordered
      let i = a.length - 1;
      while (i > 0 && a[i - 1][0] > tms) i--;
      a.splice(i, 0, [tms, v]);
    }
    const cut = Date.now() - HOUR;
    let drop = 0;
    while (drop < a.length && a[drop][0] < cut) drop++;
    if (a.length - drop > SPARK_POINTS_MAX) drop = a.length - SPARK_POINTS_MAX;
    if (drop) a.splice(0, drop);
  }

  function applyLatest(l) {
    if (!l || typeof l.series !== 'string' ||
        (typeof l.value !== 'number' && typeof l.state !== 'string')) return;
    const cur = state.latest.get(l.series);
    if (cur && cur.time_ms > l.time_ms) return;   // older than what is shown
    state.latest.set(l.series, {
      series: l.series, source: l.source || l.series.split('/')[0],
      device: l.device || l.series.split('/')[1] || '', metric: l.metric || l.series.split('/').slice(2).join('/'),
      unit: l.unit || (cur && cur.unit) || '', value: l.value, state: l.state, time_ms: l.time_ms,
    });
    markDirty(l.series);
  }

  // Seed a row's sparkline from its 1-minute windows of the last hour when
  // the row first becomes visible, a few requests at a time.
  const seedQueue = [];
  let seeding = 0;
  const seedObserver = 'IntersectionObserver' in window
    ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const s = e.target.getAttribute('data-series');
        seedObserver.unobserve(e.target);
        if (!state.seeded.has(s)) { state.seeded.add(s); seedQueue.push(s); }
      }
      pumpSeeds();
    }) : { observe() {}, unobserve() {} };

  function pumpSeeds() {
    while (seeding < 3 && seedQueue.length) {
      const s = seedQueue.shift();
      seeding++;
      api('/api/v1/windows', { series: s, resolution: '1m', from: Date.now() - HOUR })
        .then((j) => {
          for (const w of j.windows || []) {
            if (typeof w.mean === 'number') addPoint(s, w.start_ms + 30e3, w.mean);
          }
          markDirty(s);
        })
        .catch(() => { /* no windows yet: live points only */ })
        .finally(() => { seeding--; pumpSeeds(); });
    }
  }

  $('board-filter').addEventListener('input', (e) => {
    boardFilter = e.target.value.trim().toLowerCase();
    for (const [s, r] of rows) applyFilterRow(s, r);
  });
  board.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-series]');
    if (b) chartOpen(b.getAttribute('data-series'));
  });

  // ---------------------------------------------------------------- alerts
  const alertRows = $('alert-rows');
  const ALERTS_MAX = 500;
  let alertsQueued = false;

  function alertKey(a) { return a.id + '@' + a.raised_ms; }

  function mergeAlert(a, cleared) {
    if (!a || typeof a.id !== 'string') return;
    const raisedMs = a.raised_ms !== undefined && a.raised_ms !== null ? a.raised_ms : a.time_ms;
    const rec = {
      id: a.id, rule: a.rule || a.id.split('/')[0], series: a.series || '',
      severity: a.severity || 'warning', value: a.value, threshold: a.threshold,
      text: a.text || '', raised_ms: raisedMs, cleared_ms: null,
      source: a.source || '', device: a.device || '', silenced: a.silenced === true,
    };
    if (cleared) rec.cleared_ms = cleared;
    // The lifecycle marks (docs/alerts.md): who acknowledged, assignee, who resolved.
    if (a.acknowledged_by) { rec.ack_by = a.acknowledged_by; rec.ack_note = a.acknowledged_note || ''; }
    if (a.assignee) rec.assignee = a.assignee;
    if (a.action === 'resolved') rec.resolved_by = a.actor || '';
    for (const tr of a.transitions || []) {
      if (tr.action === 'acknowledged') { rec.ack_by = tr.actor; rec.ack_note = tr.note || ''; }
      if (tr.action === 'assigned') rec.assignee = tr.assignee;
      if (tr.action === 'resolved') rec.resolved_by = tr.actor;
    }
    const k = alertKey(rec);
    const cur = state.alerts.get(k);
    if (cur) {
      // A clear once seen stays; a raise's value is kept unless a newer one comes.
      if (cur.cleared_ms && !rec.cleared_ms) rec.cleared_ms = cur.cleared_ms;
      if (rec.cleared_ms && typeof cur.value === 'number' && typeof a.value !== 'number') rec.value = cur.value;
      if (cur.silenced) rec.silenced = true;
      for (const f of ['ack_by', 'ack_note', 'assignee', 'resolved_by'])
        if (rec[f] === undefined && cur[f] !== undefined) rec[f] = cur[f];
    }
    state.alerts.set(k, rec);
  }

  function applyAlertItem(a) {
    if (a.state === 'cleared') mergeAlert(a, a.time_ms || Date.now());
    else mergeAlert(a, null);
    queueAlerts();
  }

  function queueAlerts() {
    if (alertsQueued) return;
    alertsQueued = true;
    requestAnimationFrame(renderAlerts);
  }

  // Who acknowledged it (with the note), to whom it is assigned, who resolved it.
  function alertMarks(a) {
    const parts = [];
    if (a.ack_by) parts.push(t('acked_by') + ' ' + a.ack_by + (a.ack_note ? ': ' + a.ack_note : ''));
    if (a.assignee) parts.push(t('assigned_to') + ' ' + a.assignee);
    if (a.resolved_by) parts.push(t('resolved_by') + ' ' + a.resolved_by);
    if (a.silenced) parts.push(t('silenced'));
    return parts.length ? el('div', { class: 'marks', 'data-testid': 'alert-marks',
      'data-ack-by': a.ack_by || '', text: parts.join(' · ') }) : null;
  }
  // Viewers read: no action buttons (iocd would answer 403 anyway).
  function canAct() { return !!me && (me.role === 'operator' || me.role === 'admin'); }
  function alertActions(a) {
    if (!canAct()) return null;
    const box = el('div', { class: 'acts' });
    if (!a.ack_by)
      box.append(el('button', { type: 'button', class: 'act', 'data-act': 'ack', 'data-id': a.id,
        'data-testid': 'alert-ack', text: t('ack') }));
    box.append(el('button', { type: 'button', class: 'act', 'data-act': 'resolve', 'data-id': a.id,
      'data-testid': 'alert-resolve', text: t('resolve') }));
    if (a.device)
      box.append(el('button', { type: 'button', class: 'act', 'data-act': 'silence',
        'data-source': a.source, 'data-device': a.device, 'data-testid': 'alert-silence',
        text: t('silence') }));
    return box;
  }
  // An operator's action: the note is asked for, the live stream shows the result.
  alertRows.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-act]');
    if (!b) return;
    if (b.dataset.act === 'silence') {  // fills the silence form with the alert's device
      $('silence-source').value = b.dataset.source;
      $('silence-device').value = b.dataset.device;
      $('silence-rule').value = '';
      $('silence-reason').focus();
      return;
    }
    const note = window.prompt(t(b.dataset.act === 'ack' ? 'ack_note' : 'resolve_note'), '');
    if (note === null) return;
    b.disabled = true;
    try {
      await apiPost('/api/v1/alerts/' + b.dataset.act, { id: b.dataset.id, note });
    } catch (e) {
      showBanner(t('action_failed') + ' ' + (e.status === 403 ? t('forbidden') : (e.message || '')));
      b.disabled = false;
    }
  });

  function renderAlerts() {
    alertsQueued = false;
    const list = [...state.alerts.values()].sort((a, b) => b.raised_ms - a.raised_ms || (a.id < b.id ? -1 : 1));
    if (list.length > ALERTS_MAX) {
      for (const a of list.slice(ALERTS_MAX)) state.alerts.delete(alertKey(a));
      list.length = ALERTS_MAX;
    }
    const frag = document.createDocumentFragment();
    let active = 0;
    for (const a of list) {
      const st = a.cleared_ms ? 'cleared' : 'raised';
      if (st === 'raised') active++;
      const val = typeof a.value === 'number'
        ? fmtNum(a.value) + (typeof a.threshold === 'number' ? ' / ' + fmtNum(a.threshold) : '') : '';
      frag.append(el('tr', {
        'data-testid': 'alert-row', 'data-alert-id': a.id, 'data-state': st,
        'data-raised-ms': String(a.raised_ms), class: sevClass(a.severity) + ' ' + st,
      },
      el('td', { class: 'sev' }, el('span', { class: 'badge', text: t('sev_' + sevName(a.severity)) })),
      el('td', { class: 'what' },
        el('div', { class: 'rule', text: a.rule + ' · ' + a.series }),
        a.text ? el('div', { class: 'text', text: a.text }) : null,
        alertMarks(a),
        st === 'raised' ? alertActions(a) : null),
      el('td', { class: 'num', text: val }),
      el('td', { class: 't', text: fmtTime(a.raised_ms) }),
      el('td', { class: 't', text: a.cleared_ms ? fmtTime(a.cleared_ms) : t('state_raised') })));
    }
    alertRows.replaceChildren(frag);
    if (mapView) {
      // A device's marker is red while any alert of it is raised.
      const per = new Map();
      for (const a of list)
        if (!a.cleared_ms && a.device) per.set(a.source + '/' + a.device, (per.get(a.source + '/' + a.device) || 0) + 1);
      for (const d of state.devices.values())
        mapView.setAlertCount(d.source, d.device, per.get(d.source + '/' + d.device) || 0);
    }
    $('alerts-active-count').textContent = String(active);
    $('alerts-active-count').classList.toggle('hot', active > 0);
    $('alerts-empty').hidden = list.length > 0;
  }


  // -------------------------------------------------------------- silences
  // The active silences (GET /api/v1/silences), reloaded after each change:
  // a silence or a lift is stored as an iocd event of kind `silence`, which
  // the live stream brings (docs/alerts.md, Silences).
  let silences = [];
  let silencesTimer = null;
  function loadSilences() {
    return api('/api/v1/silences').then((j) => {
      silences = (j && j.silences) || [];
      renderSilences();
    });
  }
  function queueSilences() {
    clearTimeout(silencesTimer);
    silencesTimer = setTimeout(() => loadSilences().catch(() => {}), 200);
  }
  function renderSilences() {
    const frag = document.createDocumentFragment();
    for (const s of silences) {
      const what = ['rule', 'source', 'device', 'area'].filter((k) => s[k])
        .map((k) => t(k) + ' ' + s[k]).join(' · ');
      frag.append(el('li', { 'data-testid': 'silence-row', 'data-silence-id': s.id,
        'data-device': s.device || '' },
      el('span', { class: 'what', text: what }),
      el('span', { class: 'marks', text: ' ' + t('until') + ' ' + fmtTime(s.until_ms) +
        ' · ' + t('by') + ' ' + (s.by || '') + (s.reason ? ' · ' + s.reason : '') }),
      canAct() ? el('button', { type: 'button', class: 'act', 'data-lift': s.id,
        'data-testid': 'silence-lift', text: t('lift') }) : null));
    }
    $('silence-list').replaceChildren(frag);
  }
  $('silence-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { source: $('silence-source').value.trim(), device: $('silence-device').value.trim(),
      rule: $('silence-rule').value.trim(), duration: $('silence-for').value,
      reason: $('silence-reason').value.trim() };
    if (!(body.source || body.device || body.rule) || !body.reason) {
      showBanner(t('silence_need'));
      return;
    }
    try {
      await apiPost('/api/v1/silences', body);
      for (const id of ['silence-source', 'silence-device', 'silence-rule', 'silence-reason']) $(id).value = '';
      await loadSilences();
    } catch (e) {
      showBanner(t('action_failed') + ' ' + (e.message || ''));
    }
  });
  $('silence-list').addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-lift]');
    if (!b) return;
    b.disabled = true;
    try {
      await apiPost('/api/v1/silences/lift', { id: b.dataset.lift });
      await loadSilences();
    } catch (e) {
      showBanner(t('action_failed') + ' ' + (e.message || ''));
      b.disabled = false;
    }
  });

  // ---------------------------------------------------------------- events
  // Events from the REST list and the live stream. Updates of one case
  // (same source and `case`, e.g. a citizen report going received →
  // assigned → resolved) are one row, with the time it took once resolved;
  // any other event is a row of its own. iocd's own alerts are in the
  // alert list, not here.
  const EVENTS_MAX = 300;
  const DONE = new Set(['resolved', 'closed', 'done']);  // iocd's own list (docs/events.md)
  let eventsQueued = false;

  function eventKey(e) {
    const c = typeof e.case === 'string' && e.case ? e.case : null;
    return c ? 'case|' + e.source + '|' + c
      : 'ev|' + [e.source, e.kind, e.device, e.time_ms, e.status, e.text].join('|');
  }
  function updateKey(e) { return [e.time_ms, e.status, e.kind, e.text].join('|'); }

  function applyEvent(e, fresh) {
    if (!e || typeof e.source !== 'string' || typeof e.time_ms !== 'number') return;
    if (e.source === 'iocd') {  // its alerts and silences have their own lists
      if (e.kind === 'silence' && fresh) queueSilences();
      return;
    }
    if (mapView)
      mapView.addEvent(e, sevClass(e.severity), sourceLabel(e.source) + ' · ' + (e.kind || '') +
        (e.text ? ': ' + e.text : ''));
    const k = eventKey(e);
    let rec = state.events.get(k);
    if (!rec) {
      rec = { key: k, updates: [], fresh_ms: 0 };
      state.events.set(k, rec);
    }
    const uk = updateKey(e);
    if (rec.updates.some((u) => updateKey(u) === uk)) return;
    rec.updates.push(e);
    rec.updates.sort((a, b) => a.time_ms - b.time_ms);
    if (fresh) rec.fresh_ms = Date.now();
    queueEvents();
  }
  function queueEvents() {
    if (eventsQueued) return;
    eventsQueued = true;
    requestAnimationFrame(renderEvents);
  }
  function fillSelect(id, values, allKey) {
    const sel = $(id);
    const cur = sel.value;
    const opts = [el('option', { value: '', text: t(allKey) })];
    for (const v of [...values].sort()) opts.push(el('option', { value: v, text: v }));
    sel.replaceChildren(...opts);
    sel.value = values.has(cur) ? cur : '';
  }
  function renderEvents() {
    eventsQueued = false;
    let list = [...state.events.values()];
    const last = (r) => r.updates[r.updates.length - 1];
    list.sort((a, b) => last(b).time_ms - last(a).time_ms || (a.key < b.key ? -1 : 1));
    if (list.length > EVENTS_MAX) {
      for (const r of list.slice(EVENTS_MAX)) state.events.delete(r.key);
      list.length = EVENTS_MAX;
    }
    const areas = new Set(), kinds = new Set();
    for (const r of list) for (const u of r.updates) {
      if (u.area) areas.add(u.area);
      if (u.kind) kinds.add(u.kind);
    }
    fillSelect('events-area', areas, 'all_areas');
    fillSelect('events-kind', kinds, 'all_kinds');
    const area = $('events-area').value, kind = $('events-kind').value;
    if (area || kind)
      list = list.filter((r) => r.updates.some((u) => (!area || u.area === area) && (!kind || u.kind === kind)));
    const frag = document.createDocumentFragment();
    const now = Date.now();
    for (const r of list) {
      const first = r.updates[0], cur = last(r);
      const sev = r.updates.reduce((m, u) => (SEVERITIES.indexOf(u.severity) > SEVERITIES.indexOf(m) ? u.severity : m), cur.severity);
      const flow = el('td', { class: 'flow' });
      const sts = r.updates.map((u) => u.status).filter((x) => x);
      sts.forEach((st, i) => {
        if (i) flow.append(' → ');
        flow.append(el('span', { class: i === sts.length - 1 ? 'cur' : '', text: st }));
      });
      if (r.updates.length > 1 && DONE.has(cur.status))
        flow.append(el('span', { class: 'took', 'data-testid': 'event-took',
          text: t('took') + ' ' + fmtDuration(cur.time_ms - first.time_ms) }));
      frag.append(el('tr', {
        'data-testid': 'event-row', 'data-source': cur.source, 'data-kind': cur.kind,
        'data-area': cur.area || '', 'data-status': cur.status || '',
        'data-updates': String(r.updates.length), 'data-case': cur.case || '',
        class: sevClass(sev) + (now - r.fresh_ms < 2000 ? ' fresh' : ''),
      },
      el('td', { class: 'sev' }, el('span', { class: 'badge', text: t('sev_' + sevName(sev)) })),
      el('td', { class: 'what' },
        el('div', { class: 'rule', text: cur.kind + ' · ' + sourceLabel(cur.source) + (cur.device ? ' · ' + cur.device : '') }),
        cur.text ? el('div', { class: 'text', text: cur.text }) : null),
      el('td', { text: cur.area || '' }),
      flow,
      el('td', { class: 't', text: fmtTime(cur.time_ms) })));
    }
    $('event-rows').replaceChildren(frag);
    $('events-count').textContent = String(list.length);
    $('events-empty').hidden = list.length > 0;
  }
  $('events-area').addEventListener('change', queueEvents);
  $('events-kind').addEventListener('change', queueEvents);

  // --------------------------------------------------------------- devices
  let devicesQueued = false;
  function applyDevice(d) {
    if (!d || typeof d.source !== 'string' || typeof d.device !== 'string') return;
    const k = d.source + '/' + d.device;
    const cur = state.devices.get(k) || {};
    const merged = Object.assign({}, cur, d);
    state.devices.set(k, merged);
    if (mapView) mapView.setDevice(merged);
    queueDevices();
  }
  function queueDevices() {
    if (devicesQueued) return;
    devicesQueued = true;
    requestAnimationFrame(renderDevices);
  }
  function renderDevices() {
    devicesQueued = false;
    const counts = {};
    for (const [src, c] of Object.entries(state.statusCounts)) {
      counts[src] = { online: c.online || 0, stale: c.stale || 0, offline: c.offline || 0, fromStatus: true };
    }
    const bySrc = {};
    for (const d of state.devices.values()) {
      const c = bySrc[d.source] || (bySrc[d.source] = { online: 0, stale: 0, offline: 0 });
      if (d.state in c) c[d.state]++;
    }
    Object.assign(counts, bySrc);  // device rows, kept current by the stream, win
    const body = document.createDocumentFragment();
    for (const src of Object.keys(counts).sort()) {
      const c = counts[src];
      body.append(el('tr', { 'data-testid': 'device-counts-' + src, 'data-online': String(c.online),
        'data-stale': String(c.stale), 'data-offline': String(c.offline) },
      el('td', { text: sourceLabel(src) }),
      el('td', { class: 'num ok', text: String(c.online) }),
      el('td', { class: 'num ' + (c.stale ? 'warn' : ''), text: String(c.stale) }),
      el('td', { class: 'num ' + (c.offline ? 'bad' : ''), text: String(c.offline) })));
    }
    $('device-counts').replaceChildren(body);
    const bad = [...state.devices.values()].filter((d) => d.state !== 'online')
      .sort((a, b) => (a.state === b.state ? 0 : a.state === 'offline' ? -1 : 1)
        || (a.source + a.device < b.source + b.device ? -1 : 1));
    const ul = document.createDocumentFragment();
    const now = Date.now();
    for (const d of bad.slice(0, 300)) {
      ul.append(el('li', { 'data-testid': 'device-problem', 'data-device': d.source + '/' + d.device,
        'data-state': d.state, class: 'dev-' + d.state },
      el('span', { class: 'badge', text: t('st_' + d.state) }), ' ',
      el('span', { class: 'dev', text: sourceLabel(d.source) + ' · ' + d.device }), ' ',
      el('span', { class: 'ago', text: typeof d.last_seen_ms === 'number'
        ? t('last_seen') + ' ' + fmtDuration(now - d.last_seen_ms) : '' })));
    }
    if (bad.length === 0) ul.append(el('li', { class: 'empty', text: t('all_online') }));
    $('device-problems').replaceChildren(ul);
  }

  function renderMeta() {
    const s = state.status;
    if (!s) { $('meta').textContent = ''; return; }
    const parts = [];
    if (s.version) parts.push('iocd ' + s.version);
    if (s.broker && s.broker.state) parts.push(t('broker') + ': ' + s.broker.state);
    if (typeof s.series === 'number') parts.push(s.series + ' ' + t('series_n'));
    $('meta').textContent = parts.join(' · ');
  }

  // ----------------------------------------------------------------- chart
  const chartArea = $('chart-area');
  let chartSeq = 0;
  let chartRefresh = null;

  function chartOpen(series) {
    state.chart.series = series;
    $('series-q').value = series;
    $('series-results').hidden = true;
    chartLoad();
  }

  async function chartLoad() {
    const series = state.chart.series;
    if (!series) {
      $('chart-title').textContent = t('pick_series');
      return;
    }
    const seq = ++chartSeq;
    const res = $('chart-res').value;
    const range = parseDur($('chart-range').value);
    const to = Date.now();
    $('chart-title').textContent = series + ' — ' + t('loading');
    try {
      const j = await api('/api/v1/windows', { series, resolution: res, from: to - range, to, limit: 10000 });
      if (seq !== chartSeq) return;
      state.chart.data = j;
      drawChart(j, to - range, to);
    } catch (e) {
      if (seq !== chartSeq) return;
      state.chart.data = null;
      $('chart-title').textContent = series + ' — ' + e.message;
      chartArea.replaceChildren();
      $('chart-stats').replaceChildren();
    }
    clearTimeout(chartRefresh);
    chartRefresh = setTimeout(chartLoad, res === '1m' ? 30e3 : 120e3);
  }

  function drawChart(j, from, to) {
    const ws = (j.windows || []).filter((w) => typeof w.mean === 'number')
      .sort((a, b) => a.start_ms - b.start_ms);
    const unit = j.unit || '';
    $('chart-title').textContent = j.series + (unit ? ' (' + unit + ')' : '') + ' · ' + (j.resolution || '');
    const W = 640, H = 240, L = 52, R = 8, T = 10, B = 24;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', 'data-testid': 'chart-svg',
      'data-series': j.series, 'data-points': String(ws.length), role: 'img' });
    if (ws.length === 0) {
      const tx = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'nodata' });
      tx.textContent = t('no_data');
      root.append(tx);
      chartArea.replaceChildren(root);
      renderStats(j, ws);
      return;
    }
    const resMs = (j.res_s || 60) * 1000;
    const t0 = Math.min(from, ws[0].start_ms), t1 = Math.max(to, ws[ws.length - 1].start_ms + resMs);
    let lo = Infinity, hi = -Infinity;
    for (const w of ws) {
      const a = typeof w.min === 'number' ? w.min : w.mean;
      const b = typeof w.max === 'number' ? w.max : w.mean;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    }
    if (hi === lo) { hi += 1; lo -= 1; }
    const pad = (hi - lo) * 0.05; hi += pad; lo -= pad;
    const x = (tm) => L + ((tm - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    const mid = (w) => w.start_ms + resMs / 2;
    // Grid and axis labels.
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      const yy = y(v).toFixed(1);
      root.append(svg('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }));
      const tx = svg('text', { x: L - 4, y: Number(yy) + 3, 'text-anchor': 'end', class: 'axis' });
      tx.textContent = fmtNum(Number(v.toPrecision(4)));
      root.append(tx);
    }
    for (const [tm, anchor] of [[t0, 'start'], [(t0 + t1) / 2, 'middle'], [t1, 'end']]) {
      const tx = svg('text', { x: x(tm).toFixed(1), y: H - 6, 'text-anchor': anchor, class: 'axis' });
      tx.textContent = fmtTime(tm);
      root.append(tx);
    }
    // Min–max band, then the mean on top.
    const upper = ws.map((w) => [x(mid(w)), y(typeof w.max === 'number' ? w.max : w.mean)]);
    const lower = ws.map((w) => [x(mid(w)), y(typeof w.min === 'number' ? w.min : w.mean)]).reverse();
    const band = upper.concat(lower).map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1)).join('') + 'Z';
    root.append(svg('path', { d: band, class: 'band', 'data-testid': 'chart-band' }));
    const line = ws.map((w, i) => (i ? 'L' : 'M') + x(mid(w)).toFixed(1) + ' ' + y(w.mean).toFixed(1)).join('');
    root.append(svg('path', { d: line, class: 'mean', 'data-testid': 'chart-mean',
      'data-points': String(ws.length) }));
    if (ws.length <= 120) {
      for (const w of ws) {
        const c = svg('circle', { cx: x(mid(w)).toFixed(1), cy: y(w.mean).toFixed(1), r: 2, class: 'pt' });
        const title = svg('title', {});
        title.textContent = fmtTime(w.start_ms) + ': ' + fmtNum(w.mean) + ' [' + fmtNum(w.min) + '…' + fmtNum(w.max) + ']';
        c.append(title);
        root.append(c);
      }
    }
    chartArea.replaceChildren(root);
    renderStats(j, ws);
  }

  function renderStats(j, ws) {
    const dl = $('chart-stats');
    const items = [];
    let count = 0, sum = 0, min = Infinity, max = -Infinity;
    for (const w of ws) {
      count += w.count || 0;
      sum += w.sum || 0;
      if (typeof w.min === 'number' && w.min < min) min = w.min;
      if (typeof w.max === 'number' && w.max > max) max = w.max;
    }
    items.push(['windows', 'st_windows', ws.length]);
    items.push(['count', 'st_count', count]);
    items.push(['mean', 'st_mean', count ? sum / count : NaN]);
    items.push(['min', 'st_min', ws.length ? min : NaN]);
    items.push(['max', 'st_max', ws.length ? max : NaN]);
    const lw = ws[ws.length - 1];
    const latest = [];
    if (lw) {
      latest.push(['latest-count', 'st_count', lw.count]);
      latest.push(['latest-mean', 'st_mean', lw.mean]);
      latest.push(['latest-min', 'st_min', lw.min]);
      latest.push(['latest-max', 'st_max', lw.max]);
      latest.push(['latest-p50', 'st_p50', lw.p50]);
      latest.push(['latest-p95', 'st_p95', lw.p95]);
      latest.push(['latest-stddev', 'st_stddev', lw.stddev]);
      latest.push(['latest-last', 'st_last', lw.last]);
    }
    const frag = document.createDocumentFragment();
    const add = ([id, key, v]) => {
      frag.append(el('div', { class: 'stat' },
        el('dt', { text: t(key) }),
        el('dd', { 'data-testid': 'stat-' + id, 'data-value': typeof v === 'number' ? String(v) : '',
          text: fmtNum(v) })));
    };
    items.forEach(add);
    if (lw) {
      frag.append(el('div', { class: 'stat-head', text: t('st_latest_window') + ' · ' + fmtTime(lw.start_ms) }));
      latest.forEach(add);
    }
    dl.replaceChildren(frag);
  }

  // Series search: debounced /api/v1/series?q=.
  let searchTimer = null, searchSeq = 0;
  $('series-q').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    const q = e.target.value.trim();
    searchTimer = setTimeout(() => seriesSearch(q), 150);
  });
  $('series-q').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = $('series-results').querySelector('button[data-series]');
      if (first) chartOpen(first.getAttribute('data-series'));
    } else if (e.key === 'Escape') $('series-results').hidden = true;
  });
  async function seriesSearch(q) {
    const seq = ++searchSeq;
    const ul = $('series-results');
    if (!q) { ul.hidden = true; return; }
    try {
      const j = await api('/api/v1/series', { q, limit: 50 });
      if (seq !== searchSeq) return;
      const frag = document.createDocumentFragment();
      for (const s of j.series || []) {
        frag.append(el('li', null, el('button', { type: 'button', class: 'link', 'data-series': s.name,
          'data-testid': 'series-result', text: s.name + (s.unit ? ' (' + s.unit + ')' : '') })));
      }
      if (!(j.series || []).length) frag.append(el('li', { class: 'empty', text: t('no_match') }));
      ul.replaceChildren(frag);
      ul.hidden = false;
    } catch (e) {
      if (seq !== searchSeq) return;
      ul.replaceChildren(el('li', { class: 'empty', text: e.message }));
      ul.hidden = false;
    }
  }
  $('series-results').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-series]');
    if (b) chartOpen(b.getAttribute('data-series'));
  });
  $('chart-res').addEventListener('change', chartLoad);
  $('chart-range').addEventListener('change', chartLoad);

  // -------------------------------------------------------------- language
  function applyLang() {
    document.documentElement.lang = lang;
    document.title = t('title') + ' — iocd';
    for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.getAttribute('data-i18n'));
    for (const e of document.querySelectorAll('[data-i18n-placeholder]'))
      e.setAttribute('placeholder', t(e.getAttribute('data-i18n-placeholder')));
    $('lang').textContent = lang === 'vi' ? 'EN' : 'VI';
    showWho();
    $('lang').setAttribute('data-lang', lang);
    for (const b of sourceBoxes.values()) b.title.textContent = sourceLabel(b.src);
    for (const s of state.latest.keys()) markDirty(s);
    setConn(connState);
    renderAlerts();
    renderEvents();
    renderDevices();
    renderMeta();
    if (state.chart.data) drawChart(state.chart.data, Date.now() - parseDur($('chart-range').value), Date.now());
    else if (!state.chart.series) $('chart-title').textContent = t('pick_series');
  }
  $('lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    safeStorageSet('iocd.lang', lang);
    applyLang();
  });

  // ------------------------------------------------------- REST (re)loading
  // The daemon's names (severities); kept empty when it cannot be read, so
  // every alert then shows as `unspecified` rather than as a wrong name.
  async function loadMeta() {
    try {
      const j = await api('/api/v1/meta');
      if (j && Array.isArray(j.severities)) SEVERITIES = j.severities.filter((n) => typeof n === 'string');
      if (j && j.map) createMap(j.map);
    } catch (e) {
      if (e && e.status === 401) showBanner(t('error_auth'));
    }
  }
  // ------------------------------------------------------------------- map
  let mapView = null;
  function createMap(m) {
    if (mapView || !window.IocdMap || !window.L) return;
    mapView = window.IocdMap.create({
      element: $('map'), tiles: m.tiles || '', attribution: m.attribution || '',
      onDevice: (source, device) => {
        const first = [...state.latest.keys()].filter((s) => s.startsWith(source + '/' + device + '/')).sort()[0];
        if (first) chartOpen(first);
      },
      popup: (source, device) => devicePopup(source, device),
    });
    for (const d of state.devices.values()) mapView.setDevice(d);
    if (m.areas)
      api('/api/v1/map/areas').then((g) => {
        mapView.setAreas(g);
        if (m.area_value) areaValues(m.area_value);
      }).catch(() => {});
  }
  // Each area's value ([http] map_area_value, docs/map.md): the latest
  // value of the template's series with {area} the area's name, asked
  // again every AREA_VALUE_MS.
  const AREA_VALUE_MS = 5000;
  async function areaValues(template) {
    const metric = template.split('/')[2] || '';
    for (const name of mapView.areaNames()) {
      const series = template.replace(/\{(area|ward)\}/g, name);
      try {
        const j = await api('/api/v1/latest?match=' + encodeURIComponent(series) + '&limit=1');
        const row = j && Array.isArray(j.series) ? j.series.find((r) => r.series === series) : null;
        mapView.setAreaValue(name, row && typeof row.value === 'number' ? row.value : null, series,
          metric === 'pm25');
      } catch (e) { /* the next round asks again */ }
    }
    setTimeout(() => areaValues(template), AREA_VALUE_MS);
  }
  // A device's popup: its name, state and latest values.
  function devicePopup(source, device) {
    const d = state.devices.get(source + '/' + device) || {};
    const box = el('div', { class: 'popup', 'data-testid': 'map-popup' },
      el('div', { class: 'rule', text: (d.name ? d.name + ' · ' : '') + sourceLabel(source) + ' · ' + device }),
      el('div', { class: 'marks', text: d.state ? t('st_' + d.state) : '' }));
    const list = el('table', { class: 'list' });
    for (const l of [...state.latest.values()].filter((x) => x.source === source && x.device === device)
      .sort((a, b) => (a.metric < b.metric ? -1 : 1)))
      list.append(el('tr', {}, el('td', { text: l.metric }),
        el('td', { class: 'num', text: typeof l.state === 'string' ? l.state
          : fmtNum(l.value) + ' ' + (l.unit || '') })));
    box.append(list);
    return box;
  }

  // /api/v1/latest and /api/v1/devices are paged (a page looks at most
  // 20,000 entries): follow "next" until the listing ends.
  async function pagesAll(path, key) {
    const all = [];
    let after = null;
    for (let page = 0; page < 10000; page++) {
      const j = await api(path + '?limit=2000' + (after ? '&after=' + after : ''));
      for (const x of j[key] || []) all.push(x);
      if (!j.next) break;
      after = j.next;
    }
    return all;
  }
  async function latestAll() {
    for (const l of await pagesAll('/api/v1/latest', 'series')) applyLatest(l);
  }
  let loading = null;
  async function loadAll() {
    if (loading) return loading;
    loading = (async () => {
      const jobs = [
        latestAll(),
        api('/api/v1/alerts').then((j) => {
          for (const h of j.history || []) mergeAlert(h, h.cleared_ms || null);
          for (const a of j.active || []) mergeAlert(a, null);
          queueAlerts();
        }),
        loadSilences(),
        api('/api/v1/events', { limit: '200' }).then((j) => {
          for (const e of j.events || []) applyEvent(e, false);
          queueEvents();
        }),
        pagesAll('/api/v1/devices', 'devices').then((list) => {
          state.devices.clear();
          // Registered devices never heard from (state 'unseen',
          // docs/registry.md) are not problems of the live board; the map
          // shows them where the registry puts them (grey).
          for (const d of list) {
            if (d.state !== 'unseen') applyDevice(d);
            else if (mapView) mapView.setDevice(d);
          }
          queueDevices();
          if (mapView) mapView.fit();
        }),
        api('/api/v1/status').then((j) => {
          state.status = j;
          state.statusCounts = (j && j.devices) || {};
          renderMeta();
          queueDevices();
        }),
      ];
      const rs = await Promise.allSettled(jobs);
      const auth = rs.find((r) => r.status === 'rejected' && r.reason && r.reason.status === 401);
      if (auth) showBanner(t('error_auth'));
      return rs;
    })();
    try { return await loading; } finally { loading = null; }
  }

  // ------------------------------------------------------------ live stream
  let es = null;
  let connState = 'connecting';
  let downSince = 0;        // Date.now() of the first error of an outage
  let needReload = true;    // reload REST state when the stream opens
  let manualTimer = null;
  let manualDelay = 1000;
  const LONG_GAP_MS = 30e3;

  function setConn(s) {
    connState = s;
    const c = $('conn-state');
    c.setAttribute('data-state', s);
    c.textContent = t('conn_' + s);
    if (s === 'reconnecting') showBanner(t('banner_reconnecting'));
    else if (s === 'open') hideBanner();
  }
  function showBanner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = false;
  }
  function hideBanner() { $('banner').hidden = true; }

  // The session cookie goes with the same-origin EventSource: no token here.
  function liveUrl() {
    return apiUrl('/api/v1/live', { types: 'obs,event,alert,status,window' });
  }

  function parse(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return null; }
  }

  function connect() {
    if (es) es.close();
    es = new EventSource(liveUrl());
    window.__iocdEventSource = es;   // for tests and debugging
    es.addEventListener('open', () => {
      const gap = downSince ? Date.now() - downSince : 0;
      setConn('open');
      manualDelay = 1000;
      // First open: reload so nothing between the first load and the
      // stream's start is missed. A long gap: the ring may not cover it
      // even when the run matches (the server then says `reset` anyway).
      if (needReload || gap > LONG_GAP_MS) loadAll();
      needReload = false;
      downSince = 0;
    });
    es.addEventListener('error', () => {
      if (!downSince) downSince = Date.now();
      setConn('reconnecting');
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a non-stream answer): a new EventSource
        // sends no Last-Event-ID, so state is reloaded when it opens. A 401
        // (the session ended: iocd restarted, idle, account removed) shows
        // the login form instead (whoami tells, the stream cannot).
        needReload = true;
        clearTimeout(manualTimer);
        manualTimer = setTimeout(() => {
          fetch('/api/v1/whoami', { cache: 'no-store', credentials: 'same-origin' })
            .then((r) => { if (r.status === 401) showLogin(); else connect(); })
            .catch(() => connect());
        }, manualDelay);
        manualDelay = Math.min(manualDelay * 2, 15000);
      }
    });
    es.addEventListener('obs', (ev) => {
      const o = parse(ev);
      if (!o || typeof o.series !== 'string' ||
          (typeof o.value !== 'number' && typeof o.state !== 'string')) return;
      applyLatest(o);
      if (typeof o.value === 'number') addPoint(o.series, o.time_ms, o.value);
      markDirty(o.series);
    });
    es.addEventListener('alert', (ev) => {
      const a = parse(ev);
      if (a) applyAlertItem(a);
    });
    es.addEventListener('event', (ev) => {
      const e = parse(ev);
      if (e) applyEvent(e, true);
    });
    es.addEventListener('status', (ev) => {
      const d = parse(ev);
      if (d) applyDevice(d);
    });
    es.addEventListener('window', (ev) => {
      const w = parse(ev);
      if (w && w.series === state.chart.series && w.resolution === $('chart-res').value) {
        clearTimeout(chartRefresh);
        chartRefresh = setTimeout(chartLoad, 500);
      }
    });
    es.addEventListener('reset', () => {
      loadAll();
      if (state.chart.series) chartLoad();
    });
    es.addEventListener('dropped', () => {
      loadAll();
    });
  }

  // ----------------------------------------------------------------- login
  // POST /api/v1/login {token} sets the session cookie; a 401 anywhere
  // brings the form back (sessions end when iocd restarts).
  function showWho() {
    const who = $('who');
    who.hidden = !me || !me.accounts;
    who.textContent = me ? me.name + ' (' + t('role_' + me.role) + ')' : '';
    who.setAttribute('data-name', me ? me.name : '');
    who.setAttribute('data-role', me ? me.role : '');
    $('logout').hidden = !me || !me.accounts;
    // Silencing and lifting are an operator's (a viewer sees the list).
    $('silence-form').hidden = !canAct();
    renderSilences();
  }
  function showLogin() {
    if (!$('login').hidden) return;
    if (es) { es.close(); es = null; }
    clearTimeout(manualTimer);
    me = null;
    showWho();
    hideBanner();
    document.querySelector('main').hidden = true;
    $('conn-state').hidden = true;  // nothing is connecting until someone logs in
    $('login').hidden = false;
    $('login-token').focus();
  }
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('login-token');
    const err = $('login-error');
    err.hidden = true;
    try {
      const r = await fetch('/api/v1/login', { method: 'POST', cache: 'no-store',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token: input.value.trim() }) });
      if (!r.ok) {
        err.textContent = r.status === 401 ? t('login_failed') : 'HTTP ' + r.status;
        err.hidden = false;
        return;
      }
    } catch (e) {
      err.textContent = t('action_failed') + ' ' + (e.message || '');
      err.hidden = false;
      return;
    }
    input.value = '';
    $('login').hidden = true;
    start();
  });
  $('logout').addEventListener('click', async () => {
    await apiPost('/api/v1/logout', {}).catch(() => {});
    showLogin();
  });

  // ------------------------------------------------------------------ start
  // Who is this (401: the login form), then the data, then the stream.
  async function start() {
    const r = await fetch('/api/v1/whoami', { cache: 'no-store', credentials: 'same-origin' })
      .catch(() => null);
    if (r && r.status === 401) return showLogin();
    me = r && r.ok ? await r.json().catch(() => null) : null;
    document.querySelector('main').hidden = false;
    $('conn-state').hidden = false;
    showWho();
    renderAlerts();
    setConn('connecting');
    needReload = true;
    await loadMeta();
    await loadAll();
    connect();
  }
  applyLang();
  setConn('connecting');
  start();
  // Status figures (counts, broker state) every 15 s; cheap.
  setInterval(() => {
    if (connState !== 'open') return;
    api('/api/v1/status').then((j) => {
      state.status = j; state.statusCounts = (j && j.devices) || {};
      renderMeta(); queueDevices();
    }).catch(() => {});
  }, 15000);
  // Sparklines slide with time even when a series is quiet.
  setInterval(() => { for (const s of rows.keys()) markDirty(s); }, 60000);
})();
