/**
 * The /dashboard page: one self-contained HTML document (inline CSS and JS, no external resources) that polls
 * /status and draws per-method call rates and a latency histogram on <canvas> elements.
 * `?interval=<ms>` changes the polling period (default 1000 ms).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rpcx-ts dashboard</title>
<style>
  :root { --bg: #0f1419; --panel: #182029; --line: #2a3541; --text: #d7dee6; --dim: #8796a5; --accent: #4fb3ff; --bad: #ff6b6b; --ok: #5fd38d; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 14px 20px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  #live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #33404d; color: var(--dim); }
  #live.ok { background: #1f3d2c; color: var(--ok); }
  #live.err { background: #4a2323; color: var(--bad); }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: 1fr 1fr; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 10px; font-weight: 600; }
  .cards { display: flex; flex-wrap: wrap; gap: 10px; }
  .card { background: #11181f; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
  .card .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .card .k { font-size: 12px; color: var(--dim); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { color: var(--dim); font-weight: 500; font-size: 12px; }
  tbody tr { cursor: pointer; }
  tbody tr:hover { background: #1e2832; }
  tbody tr.selected { background: #223447; }
  td .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; vertical-align: middle; }
  td.errors.some { color: var(--bad); }
  canvas { width: 100%; height: 240px; display: block; }
  .legend { font-size: 12px; color: var(--dim); margin-top: 6px; min-height: 16px; }
  #empty { color: var(--dim); padding: 8px 0; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>rpcx-ts dashboard</h1>
  <span id="live">connecting…</span>
  <span id="addresses" style="color: var(--dim)"></span>
</header>
<main>
  <section class="wide">
    <h2>Server</h2>
    <div class="cards">
      <div class="card"><div class="v" id="calls">0</div><div class="k">calls</div></div>
      <div class="card"><div class="v" id="rate">0</div><div class="k">calls/s</div></div>
      <div class="card"><div class="v" id="errors">0</div><div class="k">errors</div></div>
      <div class="card"><div class="v" id="inflight">0</div><div class="k">in flight</div></div>
      <div class="card"><div class="v" id="connections">0</div><div class="k">connections</div></div>
      <div class="card"><div class="v" id="uptime">0 s</div><div class="k">uptime</div></div>
    </div>
  </section>
  <section class="wide">
    <h2>Methods</h2>
    <table>
      <thead><tr><th>method</th><th>calls</th><th>calls/s</th><th>errors</th><th>in flight</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr></thead>
      <tbody id="methods"></tbody>
    </table>
    <div id="empty">No services registered.</div>
  </section>
  <section>
    <h2>Call rate (calls/s)</h2>
    <canvas id="rateChart" aria-label="call rate per method"></canvas>
    <div class="legend" id="rateLegend"></div>
  </section>
  <section>
    <h2>Latency histogram <span id="histName" style="text-transform: none; color: var(--text)"></span></h2>
    <canvas id="histChart" aria-label="latency histogram"></canvas>
    <div class="legend">calls per latency bucket (ms); click a method to select it</div>
  </section>
</main>
<script>
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var interval = Math.max(100, Number(params.get('interval')) || 1000);
  var HISTORY = 60;
  var COLORS = ['#4fb3ff', '#5fd38d', '#ffb454', '#ff6b6b', '#c792ea', '#7fdbca', '#f78c6c', '#ffd866', '#82aaff', '#e06c9f'];
  var history = {};      // key -> array of rates
  var previous = null;   // { at, calls: {key: n}, total }
  var selected = null;
  var colorOf = {};
  var last = null;

  function $(id) { return document.getElementById(id); }
  function fmt(n, digits) { return n.toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 0 : digits }); }
  function keyOf(service, method) { return service + '.' + method; }
  function color(key) {
    if (!colorOf[key]) colorOf[key] = COLORS[Object.keys(colorOf).length % COLORS.length];
    return colorOf[key];
  }

  function setupCanvas(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    var g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    return { g: g, w: w, h: h };
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function axes(c, left, bottom, max, ticks) {
    var g = c.g;
    g.strokeStyle = '#2a3541'; g.fillStyle = '#8796a5'; g.lineWidth = 1; g.font = '11px system-ui, sans-serif';
    g.textAlign = 'right'; g.textBaseline = 'middle';
    for (var i = 0; i <= ticks; i++) {
      var y = 8 + (c.h - bottom - 8) * (1 - i / ticks);
      g.beginPath(); g.moveTo(left, Math.round(y) + 0.5); g.lineTo(c.w - 6, Math.round(y) + 0.5); g.stroke();
      var v = max * i / ticks;
      g.fillText(fmt(v, v % 1 ? 2 : 0), left - 6, y);
    }
  }

  function drawRates() {
    var c = setupCanvas($('rateChart'));
    var keys = Object.keys(history);
    var max = 0;
    keys.forEach(function (k) { history[k].forEach(function (v) { if (v > max) max = v; }); });
    max = niceMax(max);
    var left = 44, bottom = 18;
    axes(c, left, bottom, max, 4);
    var g = c.g;
    var plotW = c.w - left - 6, plotH = c.h - bottom - 8;
    g.fillStyle = '#8796a5'; g.textAlign = 'center'; g.textBaseline = 'alphabetic';
    g.fillText('last ' + Math.round(HISTORY * interval / 1000) + ' s', left + plotW / 2, c.h - 3);
    keys.forEach(function (k) {
      var series = history[k];
      g.strokeStyle = color(k); g.lineWidth = k === selected ? 2.5 : 1.5;
      g.beginPath();
      series.forEach(function (v, i) {
        var x = left + plotW * (HISTORY - series.length + i) / (HISTORY - 1);
        var y = 8 + plotH * (1 - v / max);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    });
    $('rateLegend').innerHTML = keys.map(function (k) {
      var s = history[k];
      return '<span style="color:' + color(k) + '">&#9632;</span> ' + escapeHtml(k) + ' ' + fmt(s.length ? s[s.length - 1] : 0, 1) + '/s';
    }).join('&nbsp;&nbsp; ');
  }

  function drawHistogram(bounds, method) {
    var c = setupCanvas($('histChart'));
    var counts = method ? method.histogram : bounds.concat([0]).map(function () { return 0; });
    var max = niceMax(Math.max.apply(null, counts.concat([0])));
    var left = 44, bottom = 30;
    axes(c, left, bottom, max, 4);
    var g = c.g;
    var plotW = c.w - left - 6, plotH = c.h - bottom - 8;
    var n = counts.length, slot = plotW / n;
    g.fillStyle = method ? color(selected) : '#33404d';
    counts.forEach(function (v, i) {
      var h = plotH * v / max;
      g.fillRect(left + i * slot + 2, 8 + plotH - h, Math.max(1, slot - 4), h);
    });
    g.fillStyle = '#8796a5'; g.font = '10px system-ui, sans-serif'; g.textAlign = 'center'; g.textBaseline = 'top';
    counts.forEach(function (_v, i) {
      if (n > 12 && i % 2 === 1) return;
      var label = i < bounds.length ? '≤' + bounds[i] : '>' + bounds[bounds.length - 1];
      g.fillText(label, left + i * slot + slot / 2, c.h - bottom + 6);
    });
    $('histName').textContent = method ? '— ' + selected : '';
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (ch) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch]; });
  }

  function render(status) {
    var now = performance.now();
    var methods = [];
    status.services.forEach(function (s) { s.methods.forEach(function (m) { methods.push({ key: keyOf(s.name, m.name), m: m }); }); });
    var calls = {};
    methods.forEach(function (x) { calls[x.key] = x.m.calls; });
    var rates = {};
    var seconds = previous ? (now - previous.at) / 1000 : 0;
    methods.forEach(function (x) {
      var before = previous && previous.calls[x.key] !== undefined ? previous.calls[x.key] : x.m.calls;
      rates[x.key] = seconds > 0 ? Math.max(0, (x.m.calls - before) / seconds) : 0;
      var h = history[x.key] || (history[x.key] = []);
      if (previous) { h.push(rates[x.key]); if (h.length > HISTORY) h.shift(); }
    });
    var totalRate = previous && seconds > 0 ? Math.max(0, (status.server.calls - previous.total) / seconds) : 0;
    previous = { at: now, calls: calls, total: status.server.calls };

    $('calls').textContent = fmt(status.server.calls);
    $('rate').textContent = fmt(totalRate, 1);
    $('errors').textContent = fmt(status.server.errors);
    $('inflight').textContent = fmt(status.server.inFlight);
    $('connections').textContent = fmt(status.server.connections);
    $('uptime').textContent = fmt(status.server.uptimeSeconds) + ' s';
    $('addresses').textContent = status.server.addresses.join('  ');
    $('empty').style.display = methods.length ? 'none' : 'block';

    if (!selected || calls[selected] === undefined) {
      var busiest = methods.slice().sort(function (a, b) { return b.m.calls - a.m.calls; })[0];
      selected = busiest ? busiest.key : null;
    }
    var body = $('methods');
    body.innerHTML = methods.map(function (x) {
      var m = x.m, l = m.latencyMs;
      return '<tr data-method="' + escapeHtml(x.key) + '"' + (x.key === selected ? ' class="selected"' : '') + '>' +
        '<td class="name"><span class="swatch" style="background:' + color(x.key) + '"></span>' + escapeHtml(x.key) + '</td>' +
        '<td class="calls">' + fmt(m.calls) + '</td>' +
        '<td class="rate">' + fmt(rates[x.key], 1) + '</td>' +
        '<td class="errors' + (m.errors ? ' some' : '') + '">' + fmt(m.errors) + '</td>' +
        '<td class="inflight">' + fmt(m.inFlight) + '</td>' +
        '<td class="mean">' + fmt(l.mean, 3) + '</td>' +
        '<td class="p50">' + fmt(l.p50, 3) + '</td>' +
        '<td class="p99">' + fmt(l.p99, 3) + '</td>' +
        '<td class="max">' + fmt(l.max, 3) + '</td></tr>';
    }).join('');
    var chosen = null;
    methods.forEach(function (x) { if (x.key === selected) chosen = x.m; });
    last = { bounds: status.latencyBoundsMs, method: chosen };
    drawRates();
    drawHistogram(status.latencyBoundsMs, chosen);
    document.body.setAttribute('data-updated', String(Date.now()));
  }

  $('methods').addEventListener('click', function (event) {
    var row = event.target.closest('tr[data-method]');
    if (!row) return;
    selected = row.getAttribute('data-method');
    Array.prototype.forEach.call($('methods').rows, function (r) { r.classList.toggle('selected', r === row); });
    if (last) { drawRates(); poll(); }
  });
  window.addEventListener('resize', function () { if (last) { drawRates(); drawHistogram(last.bounds, last.method); } });

  var timer = null;
  function poll() {
    if (timer) clearTimeout(timer);
    fetch('status', { cache: 'no-store', headers: params.get('token') ? { Authorization: params.get('token') } : {} }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (status) {
      render(status);
      $('live').textContent = 'live'; $('live').className = 'ok';
    }).catch(function (error) {
      $('live').textContent = 'offline: ' + error.message; $('live').className = 'err';
    }).then(function () { timer = setTimeout(poll, interval); });
  }
  poll();
})();
</script>
</body>
</html>
`;
