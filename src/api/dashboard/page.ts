/**
 * The dashboard page: one self-contained HTML document (styles, script, and uPlot
 * inlined), so it loads with a single request that needs no token, from no network but
 * the node's own. See ../dashboard.ts for what it shows and how it stays live.
 */

export const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec;
  --up:#1a8f4c; --suspect:#c98a00; --down:#cc2f2f; --leaving:#2f6fcc; --unknown:#8a8f99; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:16px; padding:12px 24px; background:#14213d; color:#fff; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
header .node { font-family:ui-monospace,monospace; opacity:.9; }
header .facts { margin-left:auto; display:flex; gap:16px; font-size:13px; opacity:.9; }
.conn { padding:2px 10px; border-radius:10px; font-size:12px; font-weight:600; }
.conn.live { background:#1a8f4c; } .conn.connecting { background:#8a8f99; } .conn.lost { background:#cc2f2f; } .conn.polling { background:#c98a00; }
#banner { display:none; margin:16px 24px 0; padding:12px 16px; border-radius:8px; background:#fdecec; border:1px solid #f3b5b5; color:#7a1c1c; }
#banner a { color:#7a1c1c; font-weight:600; margin-right:12px; }
main { display:grid; grid-template-columns:repeat(auto-fit,minmax(520px,1fr)); gap:16px; padding:16px 24px 32px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; min-width:0; }
.card h2 { font-size:13px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); margin:0 0 10px; }
.wide { grid-column:1/-1; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); font-variant-numeric:tabular-nums; }
th { font-size:12px; color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; }
#members td { white-space:nowrap; }
.legend { display:flex; flex-wrap:wrap; gap:4px 16px; font-size:12.5px; margin-top:6px; color:var(--muted); }
.legend b { color:var(--ink); font-weight:600; font-variant-numeric:tabular-nums; }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:12.5px; }
.pill { display:inline-block; padding:1px 8px; border-radius:9px; font-size:12px; font-weight:600; color:#fff; background:var(--unknown); }
.pill.up { background:var(--up); } .pill.suspect { background:var(--suspect); } .pill.down { background:var(--down); } .pill.leaving { background:var(--leaving); }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:-1px; }
.na { color:var(--muted); font-style:italic; }
#ringwrap { display:flex; gap:18px; align-items:center; flex-wrap:wrap; }
#ring { width:320px; height:320px; flex:none; }
#legend div { margin:3px 0; white-space:nowrap; }
.bar { height:8px; background:#e9ecf2; border-radius:4px; overflow:hidden; min-width:80px; }
.bar > span { display:block; height:100%; background:#2f6fcc; }
#ae { display:grid; grid-template-columns:repeat(auto-fill,18px); gap:3px; }
#ae span { width:18px; height:18px; border-radius:3px; background:#d5d9e0; }
#ae span.insync { background:var(--up); } #ae span.repairing { background:var(--suspect); } #ae span.failing { background:var(--down); }
.chart { min-height:200px; }
form { display:flex; gap:8px; margin-bottom:10px; }
input[type=text] { flex:1; padding:6px 10px; border:1px solid var(--line); border-radius:6px; font:inherit; }
button { padding:6px 14px; border:0; border-radius:6px; background:#14213d; color:#fff; font:inherit; cursor:pointer; }
.chips > span { display:inline-block; margin:2px 6px 2px 0; padding:2px 8px; border:1px solid var(--line); border-radius:12px; }
.err { color:var(--down); }
.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin-bottom:10px; }
.kv div:nth-child(odd) { color:var(--muted); }
`;

export const SCRIPT = String.raw`
"use strict";
const PALETTE = ["#4c6ef5","#f08c00","#12b886","#e64980","#7950f2","#15aabf","#82c91e","#fa5252","#fab005","#495057","#be4bdb","#0ca678"];
const $ = (id) => document.getElementById(id);
const state = { snap: null, colors: new Map(), chartNodes: "", ticks: [], charts: [], lastSeen: 0, mode: "connecting", peers: [] };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
function headers() {
  const t = sessionStorage.getItem("shoal-token");
  return t ? { Authorization: "Bearer " + t } : {};
}
function askToken() {
  const t = prompt("This node needs a client token");
  if (t) sessionStorage.setItem("shoal-token", t);
}
function colorOf(id) {
  if (!state.colors.has(id)) state.colors.set(id, PALETTE[state.colors.size % PALETTE.length]);
  return state.colors.get(id);
}
function pill(status) { return el("span", { class: "pill " + status, text: status }); }
function fmtNum(x) { return x === null || x === undefined ? "–" : String(x); }
function ago(ms) {
  if (ms === null || ms === undefined) return "never";
  const s = Math.round(ms / 1000);
  return s < 90 ? s + " s ago" : Math.round(s / 60) + " min ago";
}
function dur(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "–";
  const s = Math.round(ms / 1000);
  return s < 90 ? s + " s" : Math.round(s / 60) + " min";
}
function bytes(n) {
  if (typeof n !== "number") return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function setMode(mode, text) {
  state.mode = mode;
  const c = $("conn"); c.className = "conn " + mode; c.textContent = text;
}

// ------------------------------------------------------------------ rendering

function render(s) {
  state.snap = s;
  state.peers = s.members.filter((m) => !m.self);
  for (const m of [...s.members].sort((a, b) => a.id < b.id ? -1 : 1)) colorOf(m.id);
  $("node").textContent = s.node;
  $("facts").replaceChildren(
    el("span", { text: "N=" + s.n }), el("span", { text: s.partitions + " partitions" }),
    el("span", { text: "ring v" + (s.ring ? s.ring.version : "–") }),
    el("span", { text: s.hints.pending + " hints pending" }));
  renderMembers(s); renderRing(s); renderHints(s); renderAntiEntropy(s); renderTransfers(s);
  if (s.tick) addTick(s.tick);
}

function renderMembers(s) {
  const rows = s.members.map((m) => el("tr", { "data-member": m.id, "data-status": m.status },
    el("td", null, el("span", { class: "swatch", style: "background:" + colorOf(m.id) }), el("span", { class: "mono", text: m.id + (m.self ? " (this node)" : "") })),
    el("td", { class: "mono", text: m.address }),
    el("td", { class: "status" }, pill(m.status)),
    el("td", { class: "num", text: fmtNum(m.incarnation) }),
    el("td", { class: "num", text: fmtNum(m.heartbeat) }),
    el("td", { class: "num", text: String(m.hintsPending) }),
    el("td", { class: "num", text: m.latencyMs === null ? "–" : m.latencyMs.toFixed(2) + " ms" + (m.circuitOpen ? " (open)" : "") })));
  $("members").replaceChildren(...rows);
}

function arc(cx, cy, r0, r1, a0, a1) {
  const p = (r, a) => (cx + r * Math.sin(a)).toFixed(2) + " " + (cy - r * Math.cos(a)).toFixed(2);
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return "M" + p(r1, a0) + " A" + r1 + " " + r1 + " 0 " + large + " 1 " + p(r1, a1) + " L" + p(r0, a1) + " A" + r0 + " " + r0 + " 0 " + large + " 0 " + p(r0, a0) + " Z";
}

function renderRing(s) {
  const box = $("ring");
  box.replaceChildren();
  const legend = $("legend");
  if (!s.ring) { legend.replaceChildren(el("div", { class: "na", text: "no ring yet (the node is joining)" })); return; }
  const parts = s.ring.partitions, q = parts.length, n = parts[0] ? parts[0].owners.length : 0;
  const status = new Map(s.members.map((m) => [m.id, m.status]));
  const defs = svg("defs", {});
  const hatch = svg("pattern", { id: "hatch", width: "6", height: "6", patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  hatch.append(svg("rect", { width: "6", height: "6", fill: "#fbe3e3" }), svg("line", { x1: "0", y1: "0", x2: "0", y2: "6", stroke: "#cc2f2f", "stroke-width": "2" }));
  defs.append(hatch); box.append(defs);
  const cx = 160, cy = 160, outer = 150, band = Math.min(28, 84 / Math.max(1, n)), gap = 3, standBand = 8;
  const step = (2 * Math.PI) / q, pad = q > 1 ? Math.min(0.012, step * 0.08) : 0;
  const owned = new Map();
  for (const p of parts) {
    const a0 = p.id * step + pad, a1 = (p.id + 1) * step - pad;
    const stand = new Map(p.standIns.map((x) => [x.for, x.by]));
    if (p.standIns.length > 0 || p.uncovered.length > 0) {
      const by = p.standIns[0];
      const path = svg("path", { d: arc(cx, cy, outer - standBand, outer, a0, a1), fill: by ? colorOf(by.by) : "url(#hatch)", class: "standin" });
      const t = svg("title", {}); t.textContent = "partition " + p.id + ": " + (p.standIns.map((x) => x.by + " stands in for " + x.for).concat(p.uncovered.map((u) => u + " uncovered (hints stay with the coordinator)")).join("; "));
      path.append(t); box.append(path);
    }
    p.owners.forEach((owner, rank) => {
      const r1 = outer - standBand - gap - rank * (band + gap), r0 = r1 - band;
      const st = status.get(owner) || "unknown";
      const path = svg("path", { d: arc(cx, cy, r0, r1, a0, a1), fill: st === "up" ? colorOf(owner) : "url(#hatch)", class: "partition", "data-partition": String(p.id), "data-owner": owner, stroke: st === "up" ? "none" : colorOf(owner), "stroke-width": st === "up" ? "0" : "1.5" });
      if (st !== "up" && st !== "down") path.setAttribute("fill-opacity", "0.55");
      const t = svg("title", {});
      t.textContent = "partition " + p.id + ", replica " + (rank + 1) + ": " + owner + " (" + st + ")" + (stand.has(owner) ? ", " + stand.get(owner) + " stands in" : "");
      path.append(t); box.append(path);
      if (rank === 0) owned.set(owner, (owned.get(owner) || 0) + 1);
    });
  }
  const label = svg("text", { x: String(cx), y: String(cy + 2), "text-anchor": "middle", "font-size": "22", "font-weight": "600", fill: "#1d2330" });
  label.textContent = String(q);
  const sub = svg("text", { x: String(cx), y: String(cy + 18), "text-anchor": "middle", "font-size": "11", fill: "#6b7385" });
  sub.textContent = "partitions";
  box.append(label, sub);
  const rows = [...state.colors.keys()].filter((id) => status.has(id)).map((id) => el("div", null,
    el("span", { class: "swatch", style: "background:" + colorOf(id) }), el("span", { class: "mono", text: id + "  " }),
    el("span", { text: (owned.get(id) || 0) + " primary  " }), pill(status.get(id))));
  rows.push(el("div", { class: "na", text: "inner bands: replicas 2.." + n + "; outer rim: fallback standing in" }));
  rows.push(el("div", null, el("span", { class: "swatch", style: "background:url(#hatch);background:repeating-linear-gradient(45deg,#cc2f2f 0 2px,#fbe3e3 2px 6px)" }), el("span", { text: "owner not up" })));
  legend.replaceChildren(...rows);
}

function renderHints(s) {
  const entries = Object.entries(s.hints.byTarget).filter(([, c]) => c > 0);
  if (entries.length === 0) { $("hints").replaceChildren(el("p", { class: "na", text: "no hints pending on this node" })); return; }
  const max = Math.max(...entries.map(([, c]) => c));
  $("hints").replaceChildren(el("table", null, el("thead", null, el("tr", null, el("th", { text: "for" }), el("th", { class: "num", text: "pending" }), el("th", { text: "" }))),
    el("tbody", null, ...entries.map(([t, c]) => el("tr", null, el("td", { class: "mono", text: t }), el("td", { class: "num", text: String(c) }),
      el("td", null, el("div", { class: "bar" }, el("span", { style: "width:" + Math.round((100 * c) / max) + "%" }))))))));
}

function listOf(field, ...keys) {
  if (Array.isArray(field)) return field;
  if (field && typeof field === "object") for (const k of keys) if (Array.isArray(field[k])) return field[k];
  return null;
}

function renderAntiEntropy(s) {
  const list = listOf(s.antiEntropy, "partitions");
  if (!list) { $("ae").replaceChildren(); $("aeinfo").replaceChildren(el("p", { class: "na", text: "not available (this node reports no anti-entropy state)" })); return; }
  let insync = 0, repairing = 0, unknown = 0, repaired = 0;
  const cells = list.map((p) => {
    const st = p.state || (p.repairing ? "repairing" : p.inSync === true ? "insync" : p.inSync === false ? "repairing" : (p.failures > 0 && !p.exchanges) ? "failing" : "unknown");
    const cls = st === "in_sync" || st === "insync" ? "insync" : st;
    if (cls === "insync") insync++; else if (cls === "repairing") repairing++; else unknown++;
    repaired += p.keysRepaired || 0;
    const last = p.lastExchangeAgoMs !== undefined ? ago(p.lastExchangeAgoMs) : (p.lastExchangeMs === null || p.lastExchangeMs === undefined ? "never" : "at " + p.lastExchangeMs);
    return el("span", { class: cls, title: "partition " + p.partition + ": " + (cls === "insync" ? "in sync" : cls) + ", last exchange " + last + (p.lastPeer ? " with " + p.lastPeer : "") + ", " + (p.keysRepaired || 0) + " keys repaired" });
  });
  $("ae").replaceChildren(...cells);
  $("aeinfo").replaceChildren(el("p", null, el("span", { text: insync + " in sync, " + repairing + " repairing, " + unknown + " not yet known; " + repaired + " keys repaired since start" })));
}

function renderTransfers(s) {
  const list = listOf(s.transfers, "transfers", "active");
  if (!list) { $("transfers").replaceChildren(el("p", { class: "na", text: "not available (this node reports no transfers)" })); return; }
  if (list.length === 0) { $("transfers").replaceChildren(el("p", { class: "na", text: "no transfers in progress" })); return; }
  const rows = list.map((t) => {
    const done = t.bytesSent ?? t.bytes ?? t.keysSent ?? t.keys ?? 0, total = t.bytesTotal ?? t.keysTotal ?? null;
    const frac = total ? Math.min(1, done / total) : null;
    const eta = t.etaMs ?? (frac && t.startedAgoMs ? (t.startedAgoMs * (1 - frac)) / frac : null);
    return el("tr", null, el("td", { class: "num", text: String(t.partition) }), el("td", { class: "mono", text: (t.from || "?") + " → " + (t.to || "?") }),
      el("td", null, el("div", { class: "bar" }, el("span", { style: "width:" + Math.round(100 * (frac || 0)) + "%" }))),
      el("td", { class: "num", text: frac === null ? bytes(done) : Math.round(100 * frac) + "%" }), el("td", { class: "num", text: dur(eta) }), el("td", { text: t.state || "" }));
  });
  $("transfers").replaceChildren(el("table", null, el("thead", null, el("tr", null, ...["partition", "from → to", "progress", "", "ETA", "state"].map((h) => el("th", { text: h })))), el("tbody", null, ...rows)));
}

// ------------------------------------------------------------------ charts

function addTick(t) {
  const last = state.ticks[state.ticks.length - 1];
  if (last && last.t >= t.t) return;
  state.ticks.push(t);
  if (state.ticks.length > 120) state.ticks.shift();
  drawCharts();
}

function drawCharts() {
  if (typeof uPlot === "undefined") return;
  const ids = [...new Set(state.ticks.flatMap((t) => Object.keys(t.nodes)))].sort();
  const key = ids.join(",");
  const xs = state.ticks.map((t) => t.t / 1000);
  const col = (id, f) => state.ticks.map((t) => { const p = t.nodes[id]; return p ? p[f] : null; });
  const opsData = [xs, ...ids.map((id) => col(id, "ops"))];
  const latData = [xs, ...ids.flatMap((id) => [col(id, "p50Ms"), col(id, "p99Ms")])];
  if (key !== state.chartNodes || state.charts.length === 0) {
    state.charts.forEach((c) => c.destroy()); state.charts = [];
    state.chartNodes = key;
    const width = Math.max(300, $("opschart").clientWidth - 4);
    const axes = (label) => [{}, { label, size: 56 }];
    const legend = { show: false };
    state.charts.push(new uPlot({ width, height: 200, legend, scales: { x: { time: true } }, axes: axes("ops/s"),
      series: [{}, ...ids.map((id) => ({ label: id, stroke: colorOf(id), width: 2, spanGaps: false }))] }, opsData, $("opschart")));
    state.charts.push(new uPlot({ width, height: 200, legend, scales: { x: { time: true }, y: { distr: 3 } }, axes: axes("ms (log)"),
      series: [{}, ...ids.flatMap((id) => [{ label: id + " p50", stroke: colorOf(id), width: 1.5, dash: [5, 4] }, { label: id + " p99", stroke: colorOf(id), width: 2 }])] }, latData, $("latchart")));
  } else {
    state.charts[0].setData(opsData); state.charts[1].setData(latData);
  }
  // Legends of our own: the latest value per node (uPlot's live legend shows the cursor's).
  const latest = (id) => { for (let i = state.ticks.length - 1; i >= 0; i--) { const p = state.ticks[i].nodes[id]; if (p && p.ops !== null) return p; } return null; };
  const ms = (x) => x === null ? "–" : (x < 10 ? x.toFixed(2) : x.toFixed(0)) + " ms";
  const item = (id, text) => el("span", { "data-node": id }, el("span", { class: "swatch", style: "background:" + colorOf(id) }), el("span", { class: "mono", text: id + " " }), el("b", { text }));
  $("opslegend").replaceChildren(...ids.map((id) => { const p = latest(id); return item(id, p ? p.ops + " ops/s" : "no data"); }));
  $("latlegend").replaceChildren(...ids.map((id) => { const p = latest(id); return item(id, p ? "p50 " + ms(p.p50Ms) + " · p99 " + ms(p.p99Ms) : "no data"); }));
}

// ------------------------------------------------------------------ explain

async function explain(ev) {
  ev.preventDefault();
  const key = $("key").value;
  const out = $("explain");
  if (!key) return;
  out.replaceChildren(el("p", { class: "na", text: "asking the replicas for " + key + " ..." }));
  try {
    const res = await fetch("/v1/explain/" + encodeURIComponent(key), { headers: headers() });
    const body = await res.json();
    if (res.status === 401) askToken();
    if (!res.ok) { out.replaceChildren(el("p", { class: "err", text: (body.error && body.error.message) || ("HTTP " + res.status) })); return; }
    renderExplain(body);
  } catch (e) {
    out.replaceChildren(el("p", { class: "err", text: "cannot reach this node: " + e }));
  }
}

function renderExplain(x) {
  const known = new Set(["key", "partition", "preferenceList", "replicas", "hints"]);
  const facts = el("div", { class: "kv" }, el("div", { text: "key" }), el("div", { class: "mono", text: x.key }), el("div", { text: "partition" }), el("div", { class: "mono", text: String(x.partition) }));
  for (const [k, v] of Object.entries(x)) if (!known.has(k)) facts.append(el("div", { text: k }), el("div", { class: "mono", text: typeof v === "string" ? v : JSON.stringify(v) }));
  if (!Object.keys(x).some((k) => /merkle|segment/i.test(k))) facts.append(el("div", { text: "merkle segment" }), el("div", { class: "na", text: "not available" }));
  const chips = el("div", { class: "chips" }, ...x.preferenceList.map((p, i) => el("span", null, el("span", { class: "swatch", style: "background:" + colorOf(p.node) }), el("span", { class: "mono", text: (i + 1) + ". " + p.node + " " + p.role + " " }), pill(p.status))));
  const rows = [];
  for (const r of x.replicas) {
    const versions = r.versions || [];
    const first = el("tr", { "data-replica": r.node },
      el("td", { class: "mono", text: r.node }), el("td", { text: r.role }), el("td", null, pill(r.status)),
      el("td", { class: r.ok ? "" : "err", text: r.ok ? (versions.length === 0 ? "holds nothing" : versions.length + " version" + (versions.length > 1 ? "s" : "") + (r.tombstone ? " (tombstone)" : "")) : "no answer: " + (r.error || "") }),
      el("td", { class: "mono", text: versions.map((v) => v.actor + ":" + v.counter + (v.tombstone ? " †" : " " + v.bytes + " B") + " @" + new Date(v.ts).toISOString().slice(11, 23)).join("\n") }),
      el("td", { class: "mono", title: r.context || "", text: r.context ? r.context.slice(0, 24) + (r.context.length > 24 ? "…" : "") : "–" }));
    first.lastChild.previousSibling.style.whiteSpace = "pre";
    rows.push(first);
  }
  const table = el("table", null, el("thead", null, el("tr", null, ...["replica", "role", "status", "answer", "dots (actor:counter)", "context"].map((h) => el("th", { text: h })))), el("tbody", null, ...rows));
  const hints = x.hints.length === 0 ? el("p", { class: "na", text: "no hints pending for this key on this node" })
    : el("p", null, el("span", { text: "hints pending: " + x.hints.map((h) => "for " + h.target + " held by " + h.holder).join("; ") }));
  $("explain").replaceChildren(facts, el("h2", { text: "preference list" }), chips, el("h2", { text: "replicas (read without repair)" }), table, hints);
}

// ------------------------------------------------------------------ live updates

function showLost(why) {
  setMode("lost", "node unreachable");
  const b = $("banner");
  const links = state.peers.map((m) => el("a", { href: location.protocol + "//" + m.address + "/", text: m.address }));
  b.replaceChildren(el("strong", { text: "This node is not answering (" + why + "). " }), el("span", { text: links.length ? "Open the dashboard on another node: " : "Retrying..." }), ...links);
  b.style.display = "block";
  if (state.snap) {
    for (const tr of document.querySelectorAll("#members tr")) {
      if (tr.querySelector(".mono") && tr.getAttribute("data-member") === state.snap.node) tr.querySelector(".status").replaceChildren(pill("down"));
    }
  }
}

function parseSse(buffer, onEvent) {
  let i;
  while ((i = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, i); buffer = buffer.slice(i + 2);
    let event = "message", data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data) onEvent(event, JSON.parse(data));
  }
  return buffer;
}

async function stream() {
  const ctl = new AbortController();
  const watchdog = setInterval(() => { if (Date.now() - state.lastSeen > 5000) ctl.abort(); }, 1000);
  state.lastSeen = Date.now();
  try {
    const res = await fetch("/v1/events", { headers: headers(), signal: ctl.signal });
    if (res.status === 401) { askToken(); throw new Error("unauthorized"); }
    if (res.status === 404) return "poll";
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      state.lastSeen = Date.now();
      buffer = parseSse(buffer + value, (event, data) => {
        if (event === "history") { state.ticks = []; for (const t of data) addTick(t); }
        else if (event === "snapshot") {
          if (state.mode !== "live") { setMode("live", "live"); $("banner").style.display = "none"; }
          render(data);
        }
      });
    }
  } catch (e) {
    return ctl.signal.aborted ? "no data for 5 s" : (e && e.message) || String(e);
  } finally {
    clearInterval(watchdog);
  }
}

// Fallback for a node without /v1/events: poll /v1/status.
async function poll() {
  setMode("polling", "polling /v1/status");
  for (;;) {
    try {
      const res = await fetch("/v1/status", { headers: headers() });
      if (res.status === 401) askToken();
      else {
        const s = await res.json();
        render({ overview: 0, node: s.node, n: s.n, partitions: s.partitions, members: s.members.map((m) => ({ ...m, incarnation: null, heartbeat: null, self: m.id === s.node, hintsPending: (s.hints.byTarget || {})[m.id] || 0, latencyMs: null, circuitOpen: false })), ring: null, hints: { pending: s.hints.pending, byTarget: s.hints.byTarget || {} }, antiEntropy: s.antiEntropy ?? null, transfers: s.transfers ?? null });
        $("banner").style.display = "none";
      }
    } catch (e) { showLost(String(e)); }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function run() {
  $("lookup").addEventListener("submit", explain);
  window.addEventListener("resize", () => { state.chartNodes = ""; drawCharts(); });
  for (;;) {
    setMode(state.snap ? state.mode : "connecting", state.snap && state.mode === "lost" ? "node unreachable" : "connecting");
    const why = await stream();
    if (why === "poll") { await poll(); return; }
    showLost(why);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
run();
`;

export function pageHtml(uplotJs: string, uplotCss: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shoal dashboard</title>
<style>${uplotCss}</style>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Shoal</h1><span class="node" id="node"></span><span id="conn" class="conn connecting">connecting</span><div class="facts" id="facts"></div></header>
<div id="banner" role="alert"></div>
<main>
<section class="card"><h2>Ring: partitions by owner</h2><div id="ringwrap"><svg id="ring" viewBox="0 0 320 320" role="img" aria-label="ring"></svg><div id="legend"></div></div></section>
<section class="card"><h2>Members (from this node's gossip)</h2>
<div style="overflow-x:auto"><table><thead><tr><th>member</th><th>address</th><th>status</th><th class="num">incarnation</th><th class="num">heartbeat</th><th class="num">hints for it</th><th class="num">latency</th></tr></thead><tbody id="members"></tbody></table></div></section>
<section class="card"><h2>Requests per second, per node</h2><div class="chart" id="opschart"></div><div class="legend" id="opslegend"></div></section>
<section class="card"><h2>Latency p50 (dashed) and p99, per node</h2><div class="chart" id="latchart"></div><div class="legend" id="latlegend"></div></section>
<section class="card"><h2>Hints pending on this node, per target</h2><div id="hints"></div></section>
<section class="card"><h2>Anti-entropy per partition</h2><div id="ae"></div><div id="aeinfo"></div></section>
<section class="card"><h2>Transfers</h2><div id="transfers"></div></section>
<section class="card wide"><h2>Key lookup: explain</h2><form id="lookup"><input type="text" id="key" placeholder="key" autocomplete="off"><button type="submit">Explain</button></form><div id="explain"></div></section>
</main>
<script>${uplotJs}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
