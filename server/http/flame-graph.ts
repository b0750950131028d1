/**
 * A self-contained flame graph page for the profiles of /hotspots: V8 CPU profiles (nodes with ids, children and
 * samples; a frame's width is its share of samples) and sampling heap profiles (a nested tree with selfSize; width
 * is bytes). Frames are absolutely positioned divs, root at the bottom; hover shows the frame, click zooms into it,
 * the search box highlights matching frames. No external scripts: the profile is embedded in the page.
 */
export const FLAME_GRAPH_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>rpcx-ts flame graph</title>
<style>
body { font: 12px system-ui, sans-serif; margin: 0; background: #fff; color: #222; }
header { padding: 8px 12px; border-bottom: 1px solid #ddd; display: flex; gap: 12px; align-items: center; }
header h1 { font-size: 14px; margin: 0; font-weight: 600; }
#info { padding: 4px 12px; height: 18px; color: #444; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#graph { position: relative; margin: 0 12px 12px; }
.frame { position: absolute; height: 17px; box-sizing: border-box; border: 1px solid #fff; overflow: hidden; white-space: nowrap;
  font-size: 11px; line-height: 15px; padding: 0 3px; cursor: pointer; }
.frame.match { outline: 2px solid #d0f; }
</style></head>
<body>
<header><h1 id="title">__TITLE__</h1><input id="search" placeholder="search functions" size="28"><button id="reset">reset zoom</button></header>
<div id="info"></div>
<div id="graph"></div>
<script>
const KIND = '__KIND__';
const PROFILE = __PROFILE__;
const ROW = 17;

// Both profile kinds become one tree: { name, url, line, self, total, children }.
function fromCpu(profile) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, { name: n.callFrame.functionName || '(anonymous)', url: n.callFrame.url, line: n.callFrame.lineNumber + 1, self: 0, total: 0, ids: n.children || [], children: [] });
  for (const id of profile.samples || []) { const n = byId.get(id); if (n) n.self++; }
  for (const n of byId.values()) n.children = n.ids.map((id) => byId.get(id)).filter(Boolean);
  return byId.get(profile.nodes[0].id);
}
function fromHeap(profile) {
  const walk = (n) => ({ name: n.callFrame.functionName || '(anonymous)', url: n.callFrame.url, line: n.callFrame.lineNumber + 1, self: n.selfSize, total: 0, children: (n.children || []).map(walk) });
  return walk(profile.head);
}
function sum(n) { n.total = n.self; for (const c of n.children) n.total += sum(c); return n.total; }
const root = KIND === 'cpu' ? fromCpu(PROFILE) : fromHeap(PROFILE);
root.name = KIND === 'cpu' ? 'all samples' : 'all live allocations';
sum(root);
const unit = (v) => KIND === 'cpu' ? v + ' samples' : (v / 1024).toFixed(1) + ' KiB';

function depth(n) { let d = 0; for (const c of n.children) d = Math.max(d, depth(c)); return d + 1; }
function color(n) {
  if (n.name.startsWith('(')) return '#ccc';
  let h = 0; for (const ch of n.name) h = (h * 31 + ch.charCodeAt(0)) | 0;
  const js = /^(node:|internal)/.test(n.url) ? 200 : 20;
  return 'hsl(' + (js + Math.abs(h) % 40) + ', 70%, ' + (60 + Math.abs(h >> 8) % 15) + '%)';
}

const graph = document.getElementById('graph');
const info = document.getElementById('info');
let focus = root;
function render() {
  graph.textContent = '';
  const width = graph.clientWidth || 1000;
  const rows = depth(focus);
  graph.style.height = rows * ROW + 'px';
  const place = (n, x, level, scale) => {
    const w = n.total * scale;
    if (w < 0.5) return;
    const div = document.createElement('div');
    div.className = 'frame';
    div.style.left = x + 'px';
    div.style.width = w + 'px';
    div.style.top = (rows - 1 - level) * ROW + 'px';
    div.style.background = color(n);
    div.textContent = w > 30 ? n.name : '';
    div.title = n.name + ' ' + (n.url ? n.url.split('/').slice(-2).join('/') + ':' + n.line : '') + ' — ' + unit(n.total) + ' (' + (100 * n.total / focus.total).toFixed(1) + '%)';
    div.dataset.name = n.name;
    div.onmouseenter = () => (info.textContent = div.title);
    div.onclick = () => { focus = n; render(); };
    graph.appendChild(div);
    let cx = x;
    for (const c of [...n.children].sort((a, b) => a.name < b.name ? -1 : 1)) { place(c, cx, level + 1, scale); cx += c.total * scale; }
  };
  if (focus.total > 0) place(focus, 0, 0, width / focus.total);
  highlight();
}
function highlight() {
  const q = document.getElementById('search').value.trim().toLowerCase();
  for (const div of graph.children) div.classList.toggle('match', q !== '' && div.dataset.name.toLowerCase().includes(q));
}
document.getElementById('search').oninput = highlight;
document.getElementById('reset').onclick = () => { focus = root; render(); };
window.onresize = render;
render();
info.textContent = unit(root.total) + ' in total; hover a frame for details, click to zoom.';
</script>
</body></html>
`;
