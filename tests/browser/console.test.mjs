// tests/browser/console.test.mjs — the operator console end to end in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core).
//
// Owns: the browser side of tests/integration/test_console_browser.py,
// which starts mosquitto, iocd (with an [alert] rule and [http]) and
// iocd-sim, then runs this script. Checks, each against numbers the test
// knows exactly:
//   1. live values appear and change: the value shown for a series is the
//      value the test published last (and, for a simulated series, the
//      value /api/v1/latest reports for the same observation time);
//   2. an out-of-range PM2.5 makes a raised alert row appear within 2 s,
//      an operator acknowledges it with a note from the row (who and the
//      note shown, the API agrees), and the clear turns it to cleared; the same reading raises a major
//      alert too, and the two rows differ: classes sev-major/sev-critical,
//      badge colours, and the exact VI and EN badge texts;
//   3. device counts per subsystem and the VI/EN toggle;
//   4. the chart of a series draws one point per stored window and its
//      statistics equal what /api/v1/windows returns;
//   5. iocd stopped: the reconnecting banner shows; iocd started again:
//      the page recovers and shows values published after the restart;
//   6. events: a published fire alarm is the first row of the event list
//      within 2 s, critical, and raises the critical alert of the event
//      rule fire_major within 2 s; a citizen report's three steps are one case
//      row with its status flow and the time it took (5m); the area filter
//      keeps only that area's rows;
//   7. silences: the operator silences station GL-AQ97 in the console's
//      silence form; it is listed (by whom, until when) and in the API;
//      GL-AQ97 and GL-AQ96 then each send 4 readings 1 s apart and go
//      quiet: both stale alerts are raised, only GL-AQ97's is marked
//      silenced, and only GL-AQ96's raise reaches the webhook receiver
//      ([notify ops]; GL-AQ97's is counted as suppressed); lifting the
//      silence removes it from the list and the API.
//   8. with accounts (IOCD_OPERATOR_TOKEN, IOCD_VIEWER_TOKEN): the console
//      asks to log in, the operator logs in (session cookie HttpOnly,
//      SameSite=Strict), acknowledges the fire alert with a note and sees
//      their name on it; after logging out, a viewer logs in and cannot
//      acknowledge (no button; a direct POST with the viewer's session is
//      403 and changes nothing); after iocd's restart the console asks to
//      log in again. No request the page makes carries a token in its URL.
// Step 5 asks the Python side to stop and start iocd over a line protocol:
// this script prints "@@ stop" / "@@ start" on stdout and waits for
// "stopped" / "started" on stdin.
//
// Environment: IOCD_URL (http://127.0.0.1:PORT), IOCD_MQTT_PORT,
// IOCD_TOKEN (optional: the shared token, for this script's own API reads),
// IOCD_OPERATOR, IOCD_OPERATOR_TOKEN, IOCD_VIEWER, IOCD_VIEWER_TOKEN
// (optional: named accounts), IOCD_CHART_SERIES (a series with stored history),
// IOCD_LIVE_SERIES (a series iocd-sim updates every second or so),
// IOCD_ARTIFACTS (screenshots; default build/artifacts), CHROMIUM.
// Exit status 0 when every check passed, 1 otherwise.
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = (process.env.IOCD_URL || process.argv[2] || '').replace(/\/$/, '');
const MQTT_PORT = process.env.IOCD_MQTT_PORT || '';
const TOKEN = process.env.IOCD_TOKEN || '';
const OPERATOR = process.env.IOCD_OPERATOR || '';
const OPERATOR_TOKEN = process.env.IOCD_OPERATOR_TOKEN || '';
const VIEWER = process.env.IOCD_VIEWER || '';
const VIEWER_TOKEN = process.env.IOCD_VIEWER_TOKEN || '';
const ACCOUNTS = !!(OPERATOR_TOKEN && VIEWER_TOKEN);
const FIRE_ALERT = 'fire_major/fire/FP-99';
const CHART_SERIES = process.env.IOCD_CHART_SERIES || 'air/GL-AQ01/pm25';
const LIVE_SERIES = process.env.IOCD_LIVE_SERIES || 'traffic/GL-TC001/vehicles';
const STATE_SERIES = process.env.IOCD_STATE_SERIES || '';
const ARTIFACTS = process.env.IOCD_ARTIFACTS || 'build/artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The test's own air-quality station: nothing else publishes for it.
const STATION = 'GL-AQ99';
const HOUR_MS = 3600 * 1000;
const HOOKS_URL = process.env.IOCD_HOOKS_URL || '';
const PM25 = `air/${STATION}/pm25`;
const ALERT_ID = `pm25_high/${PM25}`;       // severity critical
const MAJOR_ID = `pm25_major/${PM25}`;      // severity major

if (!BASE || !MQTT_PORT) {
  console.error('usage: IOCD_URL=http://127.0.0.1:PORT IOCD_MQTT_PORT=N node console.test.mjs');
  process.exit(2);
}

let failures = 0;
let passes = 0;
function check(cond, what, detail) {
  if (cond) {
    passes++;
    console.log('ok   ' + what);
  } else {
    failures++;
    console.log('FAIL ' + what + (detail !== undefined ? ': ' + detail : ''));
  }
  return cond;
}

// ------------------------------------------------------------- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(p) {
  const headers = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
  const r = await fetch(BASE + p, { headers, signal: AbortSignal.timeout(10000) });
  if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
  return r.json();
}

// Publish one air-quality reading for the test's station, in the format
// of the shipped [adapter air] (ISO-8601 time, so ms precision).
let lastTs = 0;
function publishPm25(value) {
  let ts = Date.now();
  if (ts <= lastTs) ts = lastTs + 1;   // every sample its own time
  lastTs = ts;
  const payload = JSON.stringify({ station: STATION, ts: new Date(ts).toISOString(), pm25: value });
  const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', MQTT_PORT, '-q', '1',
    '-t', `pleiku/air/${STATION}/data`, '-m', payload], { timeout: 10000 });
  if (r.status !== 0) throw new Error('mosquitto_pub failed: ' + (r.stderr || '').toString());
  return ts;
}

// Line protocol with the Python side (stdin).
const rl = createInterface({ input: process.stdin });
const lines = [];
let lineWaiter = null;
rl.on('line', (l) => {
  lines.push(l.trim());
  if (lineWaiter) lineWaiter();
});
async function ask(cmd, reply, timeoutMs) {
  console.log('@@ ' + cmd);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = lines.indexOf(reply);
    if (i >= 0) { lines.splice(i, 1); return; }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no "${reply}" from the harness within ${timeoutMs} ms`);
    await new Promise((r) => { lineWaiter = r; setTimeout(r, Math.min(left, 500)); });
    lineWaiter = null;
  }
}

const sel = (testid) => `[data-testid="${testid.replace(/["\\]/g, '\\$&')}"]`;
async function attr(page, selector, name) {
  return page.evaluate(([s, n]) => {
    const e = document.querySelector(s);
    return e ? e.getAttribute(n) : null;
  }, [selector, name]);
}
// Wait until fn() (in the page) is truthy; returns the elapsed ms.
async function waitPage(page, fn, arg, timeoutMs, what) {
  const t0 = Date.now();
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 20 });
  } catch (e) {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
  return Date.now() - t0;
}
const valueIs = ([s, v]) => {
  const e = document.querySelector(s);
  return e && e.getAttribute('data-value') === v;
};

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  console.log('screenshot ' + file);
}

// --------------------------------------------------------------- checks
// A state series (docs/states.md): a street-light cabinet's Sparkplug
// String "status" shows its state's text, the API's state for the same time.
async function checkStateValue(page) {
  if (!STATE_SERIES) return;
  const vs = sel('value-' + STATE_SERIES);
  await page.waitForSelector(vs, { timeout: 15000 });
  let agreed = false, lastSeen = null;
  for (let i = 0; i < 40 && !agreed; i++) {
    const shown = { v: await attr(page, vs, 'data-value'), t: await attr(page, vs, 'data-time-ms'),
      text: ((await page.textContent(vs)) || '').trim() };
    const j = await api('/api/v1/latest?match=' + encodeURIComponent(STATE_SERIES));
    const l = j.series[0];
    lastSeen = { shown, api: l };
    if (l && String(l.time_ms) === shown.t) {
      agreed = typeof l.state === 'string' && shown.v === l.state && shown.text === l.state;
      break;
    }
    await sleep(100);
  }
  check(agreed && ['on', 'off', 'fault'].includes(lastSeen.shown.text),
    `${STATE_SERIES}: the state shown (on, off or fault) is /api/v1/latest's state for the same time`,
    JSON.stringify(lastSeen));
  await page.$eval(vs, (e) => e.scrollIntoView({ block: 'center' }));
  await shot(page, '09-state');
}

async function checkLiveValues(page) {
  // The test's own series: exactly what was published, then the next value.
  publishPm25(12.5);
  await waitPage(page, valueIs, [sel('value-' + PM25), '12.5'], 10000, PM25 + ' = 12.5');
  check(true, 'published PM2.5 12.5 is shown for ' + PM25);
  const text1 = await page.textContent(sel('value-' + PM25));
  check(text1.trim() === '12.5', 'value text is "12.5"', JSON.stringify(text1));
  publishPm25(37.25);
  await waitPage(page, valueIs, [sel('value-' + PM25), '37.25'], 10000, PM25 + ' = 37.25');
  const text2 = await page.textContent(sel('value-' + PM25));
  check(text2.trim() === '37.25', 'the value changes to the next published one, 37.25', JSON.stringify(text2));
  const api1 = await api('/api/v1/latest?match=' + encodeURIComponent(PM25));
  check(api1.series.length === 1 && api1.series[0].value === 37.25,
    '/api/v1/latest agrees: 37.25', JSON.stringify(api1.series));
  const unit = await page.textContent(`tr[data-series="${PM25}"] .u`);
  check(unit === 'ug/m3', 'unit shown is ug/m3', unit);

  // A simulated series: shown value == the API's latest for the same time,
  // and it changes over a few seconds.
  const vs = sel('value-' + LIVE_SERIES);
  await page.waitForSelector(vs, { timeout: 15000 });
  const read = async () => ({ v: await attr(page, vs, 'data-value'), t: await attr(page, vs, 'data-time-ms') });
  const first = await read();
  let agreed = false, lastSeen = null;
  for (let i = 0; i < 40 && !agreed; i++) {
    const shown = await read();
    const j = await api('/api/v1/latest?match=' + encodeURIComponent(LIVE_SERIES));
    const l = j.series[0];
    lastSeen = { shown, api: l };
    if (l && String(l.time_ms) === shown.t) {
      agreed = String(l.value) === shown.v;
      if (!agreed) break;
    } else await sleep(100);
  }
  check(agreed, `${LIVE_SERIES}: shown value equals /api/v1/latest for the same time`, JSON.stringify(lastSeen));
  let changed = false;
  for (let i = 0; i < 50 && !changed; i++) {
    await sleep(100);
    const now = await read();
    changed = now.t !== first.t && Number(now.t) > Number(first.t);
  }
  check(changed, `${LIVE_SERIES}: a newer observation replaces the shown one within 5 s`);
  const sparkPts = Number(await attr(page, sel('spark-' + PM25), 'data-points'));
  check(sparkPts >= 2, 'the sparkline of ' + PM25 + ' has the published points', sparkPts);
}

async function checkAlert(page) {
  const row = `[data-testid="alert-row"][data-alert-id="${ALERT_ID}"]`;
  const before = await page.$$(row + '[data-state="raised"]');
  check(before.length === 0, 'no raised alert for ' + ALERT_ID + ' before the spike');
  const t0 = Date.now();
  publishPm25(500);
  let elapsed;
  try {
    await page.waitForSelector(row + '[data-state="raised"]', { timeout: 5000 });
    elapsed = Date.now() - t0;
  } catch (e) {
    elapsed = Infinity;
  }
  check(elapsed <= 2000, `PM2.5 500 raises an alert row within 2 s (${elapsed} ms)`, elapsed + ' ms');
  if (elapsed === Infinity) return;
  const cls = await attr(page, row, 'class');
  check(/sev-critical/.test(cls), 'the raised alert is shown as critical', cls);
  const first = await attr(page, '[data-testid="alert-row"]', 'data-alert-id');
  check(first === ALERT_ID, 'the newest alert is the first row', first);
  const active = await page.textContent(sel('alerts-active-count'));
  check(Number(active) >= 1, 'the active-alert count shows it', active);
  // The API says the same.
  const j = await api('/api/v1/alerts');
  const act = (j.active || []).find((a) => a.id === ALERT_ID);
  check(act && act.value === 500, '/api/v1/alerts lists it active with value 500', JSON.stringify(act));
  const raisedMs = await attr(page, row, 'data-raised-ms');
  check(act && String(act.raised_ms) === raisedMs, 'raise time shown is the API\'s', `${raisedMs} vs ${act && act.raised_ms}`);
  await checkSeverities(page);
  await checkAcknowledge(page, row);
  await shot(page, '02-alert-raised');

  // Back in range: the row turns cleared, with a clear time.
  publishPm25(20);
  try {
    await page.waitForSelector(row + '[data-state="cleared"]', { timeout: 5000 });
    check(true, 'PM2.5 20 clears the alert row');
  } catch (e) {
    check(false, 'PM2.5 20 clears the alert row');
  }
  const clearedText = await page.evaluate((s) => {
    const e = document.querySelector(s);
    return e ? e.children[4].textContent : '';
  }, row);
  check(/\d{1,2}:\d{2}:\d{2}/.test(clearedText), 'the cleared row shows a clear time', clearedText);
}

// An operator acknowledges the raised alert with a note from the console:
// the row then says who did (the token's account admin, else local), with
// the note, and the API agrees.
async function checkAcknowledge(page, row) {
  const who = ACCOUNTS ? OPERATOR : TOKEN ? 'admin' : 'local';
  page.once('dialog', (d) => d.accept('đang kiểm tra'));
  await page.click(row + ' [data-testid="alert-ack"]');
  try {
    await waitPage(page, ([s, w]) => {
      const e = document.querySelector(s + ' [data-testid="alert-marks"]');
      return e && e.getAttribute('data-ack-by') === w;
    }, [row, who], 5000, 'the acknowledgement on the row');
  } catch (e) {
    check(false, 'the acknowledged row shows who acknowledged it', e.message);
    return;
  }
  const marks = await page.textContent(row + ' [data-testid="alert-marks"]');
  check(marks === 'đã xác nhận: ' + who + ': đang kiểm tra',
    'the row says who acknowledged it, with the note', JSON.stringify(marks));
  check((await page.$$(row + ' [data-testid="alert-ack"]')).length === 0,
    'an acknowledged alert has no acknowledge button');
  const j = await api('/api/v1/alerts');
  const act = (j.active || []).find((a) => a.id === ALERT_ID);
  check(act && act.acknowledged_by === who && act.acknowledged_note === 'đang kiểm tra',
    '/api/v1/alerts: acknowledged_by ' + who + ' with the note', JSON.stringify(act));
}

// The major and the critical alert of the same reading: each severity its
// own class, badge colours (web/style.css) and label, from /api/v1/meta.
async function checkSeverities(page) {
  const meta = await api('/api/v1/meta');
  check(JSON.stringify(meta) ===
    '{"severities":["unspecified","info","warning","minor","major","critical"],' +
    '"map":{"tiles":"","attribution":"© OpenStreetMap contributors","areas":true,' +
    '"area_value":"city/ward:{area}/pm25"}}',
  '/api/v1/meta lists the ioc.v1 severities in order and the map settings', JSON.stringify(meta));
  const major = `[data-testid="alert-row"][data-alert-id="${MAJOR_ID}"][data-state="raised"]`;
  try {
    await page.waitForSelector(major, { timeout: 5000 });
  } catch (e) {
    check(false, 'PM2.5 500 raises the major alert row too');
    return;
  }
  const look = (id) => page.evaluate((s) => {
    const r = document.querySelector(s);
    const b = r && r.querySelector('.badge');
    if (!b) return null;
    const cs = getComputedStyle(b);
    return { cls: r.className, text: b.textContent, bg: cs.backgroundColor, fg: cs.color };
  }, `[data-testid="alert-row"][data-alert-id="${id}"]`);
  const maj = await look(MAJOR_ID);
  const crit = await look(ALERT_ID);
  check(maj && maj.cls === 'sev-major raised', 'the major alert row has class sev-major', maj && maj.cls);
  check(crit && crit.cls === 'sev-critical raised', 'the critical alert row has class sev-critical',
    crit && crit.cls);
  check(maj && maj.bg === 'rgb(74, 20, 20)', 'the major badge background is #4a1414', maj && maj.bg);
  check(crit && crit.bg === 'rgb(255, 45, 111)', 'the critical badge background is #ff2d6f',
    crit && crit.bg);
  check(maj && crit && maj.bg !== crit.bg && maj.fg !== crit.fg,
    'major and critical badges look different', JSON.stringify({ maj, crit }));
  check(maj && maj.text === 'nặng', 'the major badge reads "nặng" (VI)', maj && maj.text);
  check(crit && crit.text === 'nghiêm trọng', 'the critical badge reads "nghiêm trọng" (VI)',
    crit && crit.text);
  await page.click(sel('lang-toggle'));
  const majEn = await look(MAJOR_ID);
  const critEn = await look(ALERT_ID);
  check(majEn && majEn.text === 'major', 'the major badge reads "major" (EN)', majEn && majEn.text);
  check(critEn && critEn.text === 'critical', 'the critical badge reads "critical" (EN)',
    critEn && critEn.text);
  await page.click(sel('lang-toggle'));
}

// The map without tiles: a plain background and a scale; the citizen
// report of the events step (location 13.98 N, 108.0 E) is a marker there.
async function checkMap(page) {
  const cls = await attr(page, sel('map'), 'class');
  check(/no-tiles/.test(cls || ''), 'the map has no tiles ([http] map_tiles empty)', cls);
  check((await page.$$(sel('map') + ' .leaflet-control-scale')).length === 1, 'the map has a scale');
  check((await page.$$(sel('map') + ' img.leaflet-tile')).length === 0, 'no tile image is loaded');
  const pts = await page.evaluate(() => {
    const out = [];
    window.__iocdMap.eachLayer((l) => {
      if (l.options && /ev-marker/.test(l.options.className || '')) out.push([l.getLatLng().lat, l.getLatLng().lng]);
    });
    return out;
  });
  check(pts.some(([la, lo]) => la === 13.98 && lo === 108.0),
    'the report is an event marker at 13.98 N, 108.0 E', JSON.stringify(pts));
  await page.locator(sel('map')).scrollIntoViewIfNeeded();

  // The registry's devices with a position are markers exactly there.
  const rows = [];
  let after = '';
  for (;;) {
    const j = await api('/api/v1/devices?limit=2000' + (after ? '&after=' + encodeURIComponent(after) : ''));
    rows.push(...j.devices);
    if (!j.next) break;
    after = j.next;
  }
  const want = rows.filter((r) => typeof r.lat === 'number').map((r) => [r.source + '/' + r.device, r.lat, r.lon]).sort();
  const got = (await page.evaluate(() => {
    const out = [];
    document.querySelectorAll('[data-testid="map-device"]').forEach((e) => out.push(e.getAttribute('data-device')));
    return out;
  })).sort();
  const pos = await page.evaluate(() => {
    const out = {};
    window.__iocdMap.eachLayer((l) => {
      if (l.options && /dev-marker/.test(l.options.className || '') && l.getElement())
        out[l.getElement().getAttribute('data-device')] = [l.getLatLng().lat, l.getLatLng().lng];
    });
    return out;
  });
  check(want.length >= 100 && JSON.stringify(got) === JSON.stringify(want.map((w) => w[0])),
    `every device with a position is a marker (${want.length})`, JSON.stringify([want.length, got.length]));
  const misplaced = want.filter(([k, la, lo]) => !pos[k] || pos[k][0] !== la || pos[k][1] !== lo);
  check(misplaced.length === 0, 'each marker is at its device\'s position', JSON.stringify(misplaced.slice(0, 5)));

  // A ward's value on the map ([http] map_area_value = city/ward:{area}/pm25,
  // the latest value of [group ward_pm25]'s series) is the API's, exactly.
  {
    const series = 'city/ward:Hội Thương/pm25';
    const lab = '[data-testid="map-area-value"][data-area="Hội Thương"]';
    let last = null;
    const until = Date.now() + 15000;
    for (;;) {
      const j = await api('/api/v1/latest?match=' + encodeURIComponent(series));
      const v = j.series.length === 1 ? j.series[0].value : undefined;
      const shown = await page.evaluate((s) => {
        const e = document.querySelector(s);
        return e ? [e.getAttribute('data-value'), e.textContent, e.getAttribute('class'), e.getAttribute('data-series')] : null;
      }, lab);
      last = [v, shown];
      if (typeof v === 'number' && shown && shown[0] === String(v) && Number(shown[1]) === v) break;
      if (Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [v, shown] = last;
    check(typeof v === 'number' && shown && shown[0] === String(v) && Number(shown[1]) === v &&
      shown[3] === series, `the ward Hội Thương shows its roll-up ${series} = ${v} exactly as the API`,
      JSON.stringify(last));
    const band = typeof v === 'number' ? 1 + [25, 50, 80, 150, 250].filter((e) => v > e).length : 0;
    check(shown && new RegExp('band-' + band + '\\b').test(shown[2] || ''),
      `coloured by its VN_AQI PM2.5 band (${band})`, JSON.stringify(shown));
    const ia = await page.$$('[data-testid="map-area-value"][data-area="Ia Kring"]');
    check(ia.length === 1, 'Ia Kring has its label too');
  }

  // A registered station's alert turns its marker red within 2 s.
  const dev = 'air/GL-AQ02';
  const mk = `[data-testid="map-device"][data-device="${dev}"]`;
  check(!/alerting/.test(await attr(page, mk, 'class') || ''), dev + ' is not red before its alert');
  const t0 = Date.now();
  publishJson('pleiku/air/GL-AQ02/data', { station: 'GL-AQ02', ts: new Date().toISOString(), pm25: 480 });
  let ms = Infinity;
  try {
    await waitPage(page, (s) => /alerting/.test(document.querySelector(s).getAttribute('class')), mk, 5000,
      'the marker to turn red');
    ms = Date.now() - t0;
  } catch (e) { /* checked below */ }
  check(ms <= 2000, `the marker of ${dev} turns red within 2 s of its alert (${ms} ms)`, ms + ' ms');
  await shot(page, '08-map');
  // Clicking a marker opens its first series' chart.
  await page.locator(mk).click({ force: true });
  try {
    await page.waitForSelector('[data-testid="chart-svg"][data-series="air/GL-AQ02/humidity"]', { timeout: 10000 });
    check(true, 'clicking the marker opens the chart of air/GL-AQ02/humidity');
  } catch (e) {
    check(false, 'clicking the marker opens the chart of air/GL-AQ02/humidity', e.message);
  }
  check((await page.$$('[data-testid="map-popup"]')).length === 1, 'and its popup with the latest values');
  // Back to normal: the reading that clears it.
  publishJson('pleiku/air/GL-AQ02/data', { station: 'GL-AQ02', ts: new Date(Date.now() + 1).toISOString(), pm25: 20 });
  try {
    await waitPage(page, (s) => !/alerting/.test(document.querySelector(s).getAttribute('class')), mk, 5000,
      'the marker to lose its red');
    check(true, 'the cleared alert takes the red away');
  } catch (e) {
    check(false, 'the cleared alert takes the red away', e.message);
  }
}

// Silences: the console's form, the marks on a stale alert, the lift.
async function checkSilence(page) {
  const who = ACCOUNTS ? OPERATOR : TOKEN ? 'admin' : 'local';
  await page.fill(sel('silence-source'), 'air');
  await page.fill(sel('silence-device'), 'GL-AQ97');
  await page.selectOption(sel('silence-for'), '8h');
  await page.fill(sel('silence-reason'), 'hiệu chuẩn trạm');
  const t0 = Date.now();
  await page.click(sel('silence-add'));
  const rowSel = '[data-testid="silence-row"][data-device="GL-AQ97"]';
  await page.waitForSelector(rowSel, { timeout: 5000 });
  const listed = await api('/api/v1/silences');
  const s = (listed.silences || []).find((x) => x.device === 'GL-AQ97');
  check(s && s.source === 'air' && s.rule === '' && s.by === who && s.reason === 'hiệu chuẩn trạm' &&
    s.until_ms - s.created_ms === 8 * HOUR_MS && s.created_ms >= t0 - 1000,
    'the console\'s silence is in /api/v1/silences: air/GL-AQ97 for 8h by ' + who, JSON.stringify(s));
  const text = await page.textContent(rowSel);
  check(text.includes('GL-AQ97') && text.includes(who) && text.includes('hiệu chuẩn trạm'),
    'the silence row names the device, who and why', text);
  // Both stations learn a 1 s interval (4 readings, 3 gaps), then go quiet.
  for (let i = 0; i < 4; i++) {
    const ts = new Date().toISOString();
    for (const st of ['GL-AQ97', 'GL-AQ96'])
      publishJson(`pleiku/air/${st}/data`, { station: st, ts, pm25: 20 + i });
    await new Promise((r) => setTimeout(r, 1000));
  }
  const row = (st) => `[data-testid="alert-row"][data-alert-id="air_stale_${st.slice(-2)}/air/${st}"][data-state="raised"]`;
  try {
    await page.waitForSelector(row('GL-AQ97'), { timeout: 15000 });
    await page.waitForSelector(row('GL-AQ96'), { timeout: 5000 });
  } catch (e) {
    check(false, 'both quiet stations raise their stale alert', e.message);
    return;
  }
  const marks = async (st) => page.evaluate((r) => {
    const m = document.querySelector(r + ' [data-testid="alert-marks"]');
    return m ? m.textContent : '';
  }, row(st));
  check((await marks('GL-AQ97')) === 'đã tạm tắt thông báo',
    'the silenced station\'s stale alert is marked silenced', await marks('GL-AQ97'));
  check((await marks('GL-AQ96')) === '', 'the other station\'s stale alert is not', await marks('GL-AQ96'));
  // The notifications: GL-AQ96's raise is posted, GL-AQ97's is not.
  let hooks = [];
  const tHook = Date.now();
  while (Date.now() - tHook < 10000) {
    hooks = await (await fetch(HOOKS_URL, { signal: AbortSignal.timeout(5000) })).json();
    if (hooks.some((h) => h.id === 'air_stale_96/air/GL-AQ96')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1000));  // time for a wrong one to arrive too
  hooks = await (await fetch(HOOKS_URL, { signal: AbortSignal.timeout(5000) })).json();
  check(JSON.stringify(hooks.map((h) => [h.channel, h.id, h.state])) ===
    '[["ops","air_stale_96/air/GL-AQ96","raised"]]',
    'the webhook got the unsilenced station\'s raise only', JSON.stringify(hooks));
  const metrics = await (await fetch(BASE + '/metrics', { headers: TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {},
    signal: AbortSignal.timeout(10000) })).text();
  check(/^iocd_notifications_suppressed_total\{channel="ops"\} 1$/m.test(metrics),
    'the silenced raise is counted as suppressed', metrics.split('\n').filter((l) => /notifications_/.test(l)).join(' | '));
  const j = await api('/api/v1/alerts');
  const a97 = (j.active || []).find((a) => a.id === 'air_stale_97/air/GL-AQ97');
  const a96 = (j.active || []).find((a) => a.id === 'air_stale_96/air/GL-AQ96');
  check(a97 && a97.silenced === true && a96 && a96.silenced === undefined,
    '/api/v1/alerts: silenced true for GL-AQ97 only', JSON.stringify([a97, a96]));
  await shot(page, '07-silence');
  await page.click(rowSel + ' [data-testid="silence-lift"]');
  try {
    await waitPage(page, (r) => !document.querySelector(r), rowSel, 5000, 'the lifted silence to go');
  } catch (e) {
    check(false, 'a lifted silence leaves the list', e.message);
  }
  const after = await api('/api/v1/silences');
  check((after.silences || []).length === 0, 'no silence is active after the lift', JSON.stringify(after));
}

function publishJson(topic, obj) {
  const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', MQTT_PORT, '-q', '1',
    '-t', topic, '-m', JSON.stringify(obj)], { timeout: 10000 });
  if (r.status !== 0) throw new Error('mosquitto_pub failed: ' + (r.stderr || '').toString());
}

async function checkEvents(page) {
  const fire = '[data-testid="event-row"][data-source="fire"][data-kind="fire_alarm"]';
  check((await page.$$(fire)).length === 0, 'no fire alarm row before the alarm');
  const t0 = Date.now();
  publishJson('pleiku/fire/FP-99/alarm', { event: 'fire_alarm', priority: 1, panel: 'FP-99',
    ward: 'Thống Nhất', building: 'Chợ Pleiku tầng 2', time: new Date(t0).toISOString() });
  let elapsed;
  try {
    await page.waitForSelector(fire, { timeout: 5000 });
    elapsed = Date.now() - t0;
  } catch (e) {
    elapsed = Infinity;
  }
  check(elapsed <= 2000, `a published fire alarm appears in the event list within 2 s (${elapsed} ms)`,
    elapsed + ' ms');
  if (elapsed === Infinity) return;
  const first = await page.evaluate(() => {
    const r = document.querySelector('[data-testid="event-row"]');
    return r ? [r.getAttribute('data-kind'), r.className, r.textContent] : null;
  });
  check(first && first[0] === 'fire_alarm', 'the alarm is the newest (first) row', JSON.stringify(first));
  check(first && /sev-critical/.test(first[1]), 'the alarm (priority 1) is shown as critical', first && first[1]);
  check(first && first[2].includes('Chợ Pleiku tầng 2') && first[2].includes('Thống Nhất'),
    'its text and ward are shown', first && first[2]);
  // The event rule fire_major raises an alert for the panel.
  const alertRow = '[data-testid="alert-row"][data-alert-id="fire_major/fire/FP-99"][data-state="raised"]';
  let alertMs;
  try {
    await page.waitForSelector(alertRow, { timeout: 5000 });
    alertMs = Date.now() - t0;
  } catch (e) {
    alertMs = Infinity;
  }
  check(alertMs <= 2000, `the fire alarm raises an alert row within 2 s (${alertMs} ms)`, alertMs + ' ms');
  const acls = await attr(page, alertRow, 'class');
  check(/sev-critical/.test(acls || ''), 'the fire alert takes the alarm\'s severity: critical', acls);

  // A citizen report: three steps of one case, 5 minutes from first to resolved.
  const id = 'PK-TEST-' + t0;
  const base = { id, category: 'flooding', description: 'Ngập nước đường Lê Lợi',
    ward: 'Hội Phú', severity: 'minor', location: { type: 'Point', coordinates: [108.0, 13.98] } };
  const steps = [['received', t0 - 300000], ['assigned', t0 - 120000], ['resolved', t0]];
  for (const [status, ts] of steps)
    publishJson('pleiku/reports/app/event', Object.assign({}, base,
      { status, updated_at: new Date(ts).toISOString() }));
  const row = `[data-testid="event-row"][data-case="${id}"]`;
  try {
    await waitPage(page, (s) => {
      const e = document.querySelector(s);
      return e && e.getAttribute('data-updates') === '3';
    }, row, 5000, 'the report case row with 3 updates');
  } catch (e) {
    check(false, 'the report\'s steps show as one case row', e.message);
    return;
  }
  const rows = await page.$$(row);
  check(rows.length === 1, 'the three steps of the report are one row', rows.length);
  check(await attr(page, row, 'data-status') === 'resolved', 'the case row shows its current status: resolved');
  const flow = await page.evaluate((s) => document.querySelector(s).children[3].textContent, row);
  check(flow.startsWith('received → assigned → resolved'), 'the status flow is shown in order', flow);
  const took = await page.evaluate((s) => {
    const e = document.querySelector(s + ' [data-testid="event-took"]');
    return e ? e.textContent : null;
  }, row);
  check(took === 'xử lý trong 5m', 'the time the case took is shown: 5m', took);
  // Stored with the next flush (the row came from the live stream).
  let api1 = { events: [] };
  for (let i = 0; i < 50 && api1.events.length < 3; i++) {
    api1 = await api('/api/v1/events?case=' + encodeURIComponent(id));
    if (api1.events.length < 3) await sleep(100);
  }
  check(api1.events.map((e) => e.status).join(',') === 'resolved,assigned,received',
    '/api/v1/events?case= lists the three steps newest first', JSON.stringify(api1.events.map((e) => e.status)));
  await shot(page, '07-events');

  // The area filter keeps only that ward's rows.
  await page.selectOption(sel('events-area'), 'Hội Phú');
  await waitPage(page, () => [...document.querySelectorAll('[data-testid="event-row"]')]
    .every((r) => r.getAttribute('data-area') === 'Hội Phú'), null, 2000, 'the area filter')
    .catch(() => {});
  const areas = await page.evaluate(() => [...document.querySelectorAll('[data-testid="event-row"]')]
    .map((r) => r.getAttribute('data-area')));
  check(areas.length >= 1 && areas.every((a) => a === 'Hội Phú'), 'the area filter shows only Hội Phú',
    JSON.stringify(areas));
  await page.selectOption(sel('events-area'), '');
}

async function checkDevicesAndLanguage(page) {
  await page.waitForSelector(sel('device-counts-air'), { timeout: 10000 });
  const status = await api('/api/v1/status');
  const dev = await api('/api/v1/devices?match=' + encodeURIComponent('traffic/#'));
  const online = dev.devices.filter((d) => d.state === 'online').length;
  const shown = Number(await attr(page, sel('device-counts-traffic'), 'data-online'));
  check(online > 0 && Math.abs(shown - online) <= 0, 'traffic devices online shown = /api/v1/devices',
    `${shown} vs ${online} (status: ${JSON.stringify(status.devices && status.devices.traffic)})`);

  const h1 = async () => (await page.textContent('h1')).trim();
  check(await h1() === 'Trung tâm điều hành đô thị', 'Vietnamese by default', await h1());
  await page.click(sel('lang-toggle'));
  check(await h1() === 'City operations centre', 'EN toggle switches the labels', await h1());
  const th = await page.textContent('#h-alerts span');
  check(th === 'Alerts', 'alert panel heading in English', th);
  await shot(page, '03-english');
  await page.click(sel('lang-toggle'));
  check(await h1() === 'Trung tâm điều hành đô thị', 'VI toggle switches back', await h1());
}

async function checkChart(page) {
  await page.selectOption(sel('chart-res'), '1m');
  await page.selectOption(sel('chart-range'), '6h');
  const q = CHART_SERIES.split('/').slice(1).join('/');   // "GL-AQ01/pm25"
  await page.fill(sel('series-search'), q);
  const item = `[data-testid="series-result"][data-series="${CHART_SERIES}"]`;
  await page.waitForSelector(item, { timeout: 10000 });
  const results = await page.$$eval('[data-testid="series-result"]', (es) => es.map((e) => e.getAttribute('data-series')));
  const apiSeries = await api('/api/v1/series?q=' + encodeURIComponent(q) + '&limit=50');
  check(JSON.stringify(results) === JSON.stringify(apiSeries.series.map((s) => s.name)),
    'search results are /api/v1/series?q=' + q, JSON.stringify(results));
  await page.click(item);
  await page.waitForSelector(`[data-testid="chart-svg"][data-series="${CHART_SERIES}"]`, { timeout: 10000 });
  // Same range from the API, fetched now: the history is in the past, so
  // the page's request a moment ago returns the same windows.
  const to = Date.now();
  const j = await api(`/api/v1/windows?series=${encodeURIComponent(CHART_SERIES)}&resolution=1m&from=${to - 6 * 3600e3}&to=${to}&limit=10000`);
  const ws = j.windows;
  const d = await attr(page, sel('chart-mean'), 'd');
  const pts = d ? (d.match(/[ML]/g) || []).length : 0;
  check(ws.length >= 60 && pts === ws.length, `chart path has one point per stored 1m window (>= 60)`,
    `${pts} points, ${ws.length} windows`);
  const band = await attr(page, sel('chart-band'), 'd');
  check(band && (band.match(/[ML]/g) || []).length === 2 * ws.length, 'min-max band has 2 points per window');

  const stat = async (id) => {
    const s = sel('stat-' + id);
    return { v: await attr(page, s, 'data-value'), text: (await page.textContent(s)).trim() };
  };
  let count = 0, sum = 0, min = Infinity, max = -Infinity;
  for (const w of ws) { count += w.count; sum += w.sum; min = Math.min(min, w.min); max = Math.max(max, w.max); }
  const last = ws[ws.length - 1];
  const expect = {
    windows: ws.length, count, mean: sum / count, min, max,
    'latest-count': last.count, 'latest-mean': last.mean, 'latest-min': last.min, 'latest-max': last.max,
    'latest-p50': last.p50, 'latest-p95': last.p95,
  };
  for (const [id, v] of Object.entries(expect)) {
    const s = await stat(id);
    const textOk = Math.abs(Number(s.text) - v) <= Math.abs(v) * 0.005 + 0.005;
    check(s.v === String(v) && textOk, `chart stat ${id} = API ${v}`, JSON.stringify(s));
  }
  await shot(page, '04-chart');
}

async function checkReconnect(page) {
  await ask('stop', 'stopped', 30000);
  const banner = sel('conn-banner');
  try {
    await page.waitForSelector(banner, { state: 'visible', timeout: 10000 });
    check(true, 'iocd stopped: the reconnecting banner shows');
  } catch (e) {
    check(false, 'iocd stopped: the reconnecting banner shows');
  }
  const st = await attr(page, sel('conn-state'), 'data-state');
  check(st === 'reconnecting', 'connection state is reconnecting', st);
  const btext = await page.textContent(banner);
  check(/đang kết nối lại/i.test(btext), 'banner text is Vietnamese "đang kết nối lại"', btext);
  await shot(page, '05-reconnecting');

  // Published while iocd is down: the broker keeps it for iocd's session,
  // iocd takes it at start, and the page must catch up with it.
  publishPm25(55.5);
  const latestFetches = [];
  const onReq = (r) => { if (new URL(r.url()).pathname === '/api/v1/latest') latestFetches.push(r.url()); };
  page.on('request', onReq);
  await ask('start', 'started', 60000);
  if (ACCOUNTS) {
    // Sessions live in iocd's memory: after its restart the console asks again.
    try {
      await page.waitForSelector(sel('login'), { state: 'visible', timeout: 20000 });
      check(true, 'iocd restarted: the console asks to log in again');
      await shot(page, 'login-again');
      await logIn(page, VIEWER_TOKEN, VIEWER, 'viewer');
    } catch (e) {
      check(false, 'iocd restarted: the console asks to log in again', e.message);
    }
  }
  try {
    await page.waitForSelector(banner, { state: 'hidden', timeout: 20000 });
    await waitPage(page, (s) => document.querySelector(s).getAttribute('data-state') === 'open',
      sel('conn-state'), 5000, 'conn-state open');
    check(true, 'iocd back: the banner goes and the stream is open again');
  } catch (e) {
    check(false, 'iocd back: the banner goes and the stream is open again', e.message);
  }
  try {
    await waitPage(page, valueIs, [sel('value-' + PM25), '55.5'], 10000, PM25 + ' = 55.5');
    check(true, 'the value published while iocd was down is shown after it is back (55.5)');
  } catch (e) {
    check(false, 'the value published while iocd was down is shown after it is back (55.5)', e.message);
  }
  page.off('request', onReq);
  check(latestFetches.length >= 1, 'the new run\'s reset made the page reload /api/v1/latest',
    latestFetches.length);
  // New data after the restart reaches the page through the new stream.
  publishPm25(41.75);
  try {
    await waitPage(page, valueIs, [sel('value-' + PM25), '41.75'], 10000, PM25 + ' = 41.75');
    check(true, 'a value published after the restart is shown (41.75)');
  } catch (e) {
    check(false, 'a value published after the restart is shown (41.75)', e.message);
  }
  // The state reloaded from the new run still holds the cleared alert.
  const rowState = await attr(page, `[data-testid="alert-row"][data-alert-id="${ALERT_ID}"]`, 'data-state');
  check(rowState === 'cleared', 'the alert history survives the restart', rowState);
  await shot(page, '06-recovered');
}

// ------------------------------------------------------------- accounts
// The login form: fill in the token, submit, wait for who is logged in.
async function logIn(page, token, name, role) {
  await page.waitForSelector(sel('login'), { state: 'visible', timeout: 10000 });
  await page.fill(sel('login-token'), token);
  await page.click(sel('login-submit'));
  await waitPage(page, ([s, n, r]) => {
    const e = document.querySelector(s);
    return e && !e.hidden && e.getAttribute('data-name') === n && e.getAttribute('data-role') === r;
  }, [sel('who'), name, role], 10000, name + ' logged in');
  await waitPage(page, (s) => document.querySelector(s).getAttribute('data-state') === 'open',
    sel('conn-state'), 15000, 'the live stream to open');
}

// The operator acknowledges the fire alert with a note and sees their name on it.
async function checkOperatorAcknowledgesFire(page) {
  const row = `[data-testid="alert-row"][data-alert-id="${FIRE_ALERT}"][data-state="raised"]`;
  await page.waitForSelector(row, { timeout: 5000 });
  const who = await page.textContent(sel('who'));
  check(who === `${OPERATOR} (điều hành viên)`, 'the header shows who is logged in', who);
  page.once('dialog', (d) => d.accept('đội PCCC đang đến'));
  await page.click(row + ' [data-testid="alert-ack"]');
  await waitPage(page, ([s, w]) => {
    const e = document.querySelector(s + ' [data-testid="alert-marks"]');
    return e && e.getAttribute('data-ack-by') === w;
  }, [row, OPERATOR], 5000, 'the operator\'s acknowledgement on the fire alert');
  const marks = await page.textContent(row + ' [data-testid="alert-marks"]');
  check(marks === `đã xác nhận: ${OPERATOR}: đội PCCC đang đến`,
    'the fire alert shows the operator\'s name and note', JSON.stringify(marks));
  const j = await api('/api/v1/alerts');
  const act = (j.active || []).find((a) => a.id === FIRE_ALERT);
  check(act && act.acknowledged_by === OPERATOR && act.acknowledged_note === 'đội PCCC đang đến',
    '/api/v1/alerts: the fire alert acknowledged_by ' + OPERATOR, JSON.stringify(act));
  await shot(page, 'operator-ack');
}

// Log out; a viewer logs in: no action buttons, and a POST with the
// viewer's session is 403 and changes nothing.
async function checkViewerCannotAcknowledge(page) {
  await page.click(sel('logout'));
  await page.waitForSelector(sel('login'), { state: 'visible', timeout: 5000 });
  check(await page.isHidden(sel('who')), 'logged out: the login form again, nobody shown');
  const cookies = await page.context().cookies(BASE);
  check(!cookies.some((c) => c.name === 'iocd_session'), 'logged out: the session cookie is gone',
    JSON.stringify(cookies));
  await logIn(page, VIEWER_TOKEN, VIEWER, 'viewer');
  const row = `[data-testid="alert-row"][data-alert-id="${FIRE_ALERT}"][data-state="raised"]`;
  await page.waitForSelector(row, { timeout: 5000 });
  const buttons = await page.$$(sel('alert-list') + ' button[data-act]');
  check(buttons.length === 0, 'a viewer sees no Acknowledge or Resolve button', buttons.length);
  check(await page.isHidden(sel('silence-form')), 'a viewer has no silence form');
  const before = JSON.stringify((await api('/api/v1/alerts')).active);
  const answer = await page.evaluate(async (id) => {
    const r = await fetch('/api/v1/alerts/ack', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id, note: 'x' }) });
    return [r.status, await r.text()];
  }, FIRE_ALERT);
  check(answer[0] === 403, 'a direct POST with the viewer\'s session is 403', JSON.stringify(answer));
  check(answer[1] === `{"error":"forbidden: ${VIEWER} is a viewer; this needs an operator or admin"}`,
    'the 403 says why', answer[1]);
  const after = JSON.stringify((await api('/api/v1/alerts')).active);
  check(after === before, 'the viewer\'s POST changed nothing');
  await shot(page, 'viewer');
}

// ----------------------------------------------------------------- main
async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  if (TOKEN) {
    // The token is enforced: no token, or a wrong one, is 401 for the API
    // and the live stream alike.
    const noTok = await fetch(BASE + '/api/v1/latest', { signal: AbortSignal.timeout(10000) });
    check(noTok.status === 401, 'token set: /api/v1/latest without it is 401', noTok.status);
    const bad = await fetch(BASE + '/api/v1/live?access_token=wrong-' + TOKEN,
      { signal: AbortSignal.timeout(10000) });
    check(bad.status === 401, 'token set: /api/v1/live with a wrong access_token is 401', bad.status);
    if (bad.body) await bad.body.cancel().catch(() => {});
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'iocd-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
    timeout: 30000,
  });
  const pageErrors = [];
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') console.log('console error: ' + m.text()); });
    // Nothing may leave the machine: the console loads only from iocd.
    const foreign = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol !== 'data:' && u.origin !== new URL(BASE).origin) foreign.push(u.href);
    });
    // Every Content-Security-Policy violation is recorded by the page
    // itself (before any of the console's code runs) and must stay zero:
    // iocd's policy allows nothing inline and nothing from elsewhere.
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
      });
    });
    // No request of the page carries a token (or session) in its URL.
    const tokenUrls = [];
    page.on('request', (r) => {
      const q = new URL(r.url()).search;
      if (/token|session/i.test(q) || [TOKEN, OPERATOR_TOKEN, VIEWER_TOKEN].some((x) => x && r.url().includes(x)))
        tokenUrls.push(r.url());
    });
    const resp = await page.goto(BASE + '/', { timeout: 15000 });
    check(resp.status() === 200, 'GET / is 200', resp.status());
    const csp = (await resp.allHeaders())['content-security-policy'] || '';
    check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"),
      'the console is served with its Content-Security-Policy', csp);
    if (ACCOUNTS) {
      await page.waitForSelector(sel('login'), { state: 'visible', timeout: 10000 });
      check(true, 'with accounts, the console asks to log in');
      check(await page.isHidden('main'), 'nothing but the login form is shown before the login');
      await shot(page, 'login');
      await page.fill(sel('login-token'), 'not-a-token');
      await page.click(sel('login-submit'));
      await page.waitForSelector(sel('login-error'), { state: 'visible', timeout: 5000 });
      check(await page.textContent(sel('login-error')) === 'Mã truy cập không đúng',
        'a wrong token is refused on the form');
      await logIn(page, OPERATOR_TOKEN, OPERATOR, 'operator');
      const [c] = (await page.context().cookies(BASE)).filter((x) => x.name === 'iocd_session');
      check(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/' && /^[0-9a-f]{64}$/.test(c.value),
        'the session cookie is HttpOnly, SameSite=Strict, Path=/', JSON.stringify(c && { ...c, value: '…' }));
      await shot(page, 'logged-in');
    }
    await waitPage(page, (s) => document.querySelector(s).getAttribute('data-state') === 'open',
      sel('conn-state'), 15000, 'the live stream to open');
    check(true, 'the live stream opens');

    const steps = [['live values', checkLiveValues], ['state', checkStateValue], ['alert', checkAlert],
      ['events', checkEvents]];
    if (ACCOUNTS)
      steps.push(['operator acknowledges the fire alert', checkOperatorAcknowledgesFire]);
    // With accounts the operator (logged in by the step before) silences.
    steps.push(['silence', checkSilence], ['map', checkMap]);
    if (ACCOUNTS)
      steps.push(['viewer cannot acknowledge', checkViewerCannotAcknowledge]);
    steps.push(['devices and language', checkDevicesAndLanguage], ['chart', checkChart],
      ['reconnect', checkReconnect]);
    for (const [name, fn] of steps) {
      try {
        await fn(page);
        if (name === 'live values') await shot(page, '01-live');
      } catch (e) {
        check(false, name, e.stack || e.message);
        await shot(page, 'failed-' + name.replace(/\W+/g, '-')).catch(() => {});
      }
    }
    check(foreign.length === 0, 'the page requested nothing from another origin', foreign.join(' '));
    check(tokenUrls.length === 0, 'no URL the page requested carries a token', tokenUrls.join(' '));
    check(pageErrors.length === 0, 'no JavaScript errors in the page', pageErrors.join(' | '));
    const violations = await page.evaluate(() => window.__cspViolations);
    check(Array.isArray(violations) && violations.length === 0,
      'no Content-Security-Policy violation in the page', JSON.stringify(violations));
  } finally {
    await ctx.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const hardStop = setTimeout(() => {
  console.log('FAIL the browser test ran out of time (240 s)');
  process.exit(1);
}, 240000);
main().then(() => {
  clearTimeout(hardStop);
  console.log(`${passes} passed, ${failures} failed`);
  rl.close();
  process.exit(failures || !passes ? 1 : 0);
}, (e) => {
  console.log('FAIL ' + (e.stack || e.message));
  console.log(`${passes} passed, ${failures + 1} failed`);
  process.exit(1);
});
