/**
 * The report page's markup, style and script (filled in by
 * `renderReport`). Written by hand, on a canvas and in SVG, rather than
 * with d3-flame-graph or uPlot: d3-flame-graph 5 draws one SVG element per
 * frame (slow past ~10,000 stacks, where the canvas draws 100,000), needs
 * d3's selection, hierarchy, scale and transition modules inlined, and its
 * differential mode sizes nodes by B alone, so stacks only in A vanish;
 * uPlot would draw the timeline well but not the per-point site breakdown
 * on hover nor the GC marks without as much code as the ~80 lines here. The
 * page therefore stays one small file with no third-party code to pin.
 *
 * @module
 */

import { fmtBytes } from "./units.ts";

/** The page: `<!--TITLE-->` and the JSON placeholder are replaced by `renderReport`. */
export const PAGE: string = String.raw`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title><!--TITLE--></title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 24px 0 8px; }
.sub { color: #666; margin-bottom: 12px; }
.controls { display: flex; gap: 12px; align-items: center; margin: 8px 0; flex-wrap: wrap; }
#flame { width: 100%; display: block; border: 1px solid #ddd; cursor: pointer; }
.tip { position: fixed; pointer-events: none; background: #fffbe6; border: 1px solid #cc9; padding: 4px 6px; display: none; font-size: 12px; max-width: 640px; z-index: 10; white-space: pre-wrap; }
table { border-collapse: collapse; margin-top: 4px; } th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; vertical-align: top; }
th { cursor: pointer; background: #f6f6f6; } td.l, th.l { text-align: left; }
/* Long C++ names and paths break anywhere rather than widen the page. */
td.l, h1, .sub, #crumbs { overflow-wrap: anywhere; } .loc { color: #666; }
tr.row { cursor: pointer; } tr.row:hover { background: #f4f8ff; } tr.stack td { background: #fafafa; color: #333; font-family: ui-monospace, monospace; font-size: 12px; }
.barcell { white-space: nowrap; } .bar { display: inline-block; height: 10px; background: #e07a38; vertical-align: middle; }
#timeline { border: 1px solid #ddd; max-width: 100%; height: auto; box-sizing: border-box; } .summary span { margin-right: 16px; }
.pos { color: #b22; } .neg { color: #225fb2; }
#related { display: flex; gap: 32px; flex-wrap: wrap; } #related table { min-width: 320px; }
</style>
</head>
<body>
<h1 id="title"></h1><div class="sub" id="subtitle"></div>
<div class="summary" id="summary"></div>
<div id="procsec" style="display:none"><h2 id="proctitle">Processes</h2><div id="processes"></div></div>
<div id="diffsec" style="display:none"><h2>Change per site (B − A)</h2><div class="controls"><label>Show <select id="diffdir"><option value="all">both directions</option><option value="grew">grew</option><option value="shrank">shrank</option></select></label></div><div id="difftable"></div></div>
<h2>Allocation stacks</h2>
<div class="controls">
<label>View <select id="view"><option value="icicle">icicle (callers on top)</option><option value="flame">flame graph (callers at the bottom)</option><option value="inverted">inverted (sites first, bottom-up)</option></select></label>
<label>Sample type <select id="type"></select></label>
<label id="profl">Profile <select id="prof"></select></label>
<label>Group by <select id="group"><option value="func">function</option><option value="line">function and line</option></select></label>
<label>Search <input id="search" placeholder="function or file"></label>
<button id="reset">Reset zoom</button>
<span id="total"></span><span id="matched"></span>
</div>
<div id="crumbs" class="sub"></div>
<canvas id="flame" height="200"></canvas>
<div id="tip" class="tip"></div>
<div id="relsec" style="display:none"><h2 id="reltitle"></h2><div id="related"><div><b>Callers</b><div id="callers"></div></div><div><b>Callees</b><div id="callees"></div></div></div></div>
<div id="heapsec"><h2>Live heap over time</h2>
<div class="controls"><label>x axis <select id="xaxis"></select></label>
<span>Hover for the sites live at that moment; click to keep them below.</span></div>
<svg id="timeline" width="960" height="260" viewBox="0 0 960 260"></svg>
<div id="ttip" class="tip"></div>
<div id="snapshot"></div></div>
<div id="sitesec"><h2>Top sites (click a row for its stack)</h2><div id="sites"></div>
<h2 id="leaktitle">Leak candidates (allocated, never freed; click a row for its stack)</h2><div id="leaks"></div>
<h2 id="lifetitle">Lifetimes of freed objects (GC cycles between allocation and free)</h2><div id="lifetimes"></div>
<h2 id="sizetitle">Size classes</h2><div id="sizes"></div></div>
<script type="application/json" id="data">/*DATA*/</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (n) => Math.round(n).toLocaleString("en-US");
// The terminal's own formatter (lib/report/units.ts), so a figure prints alike.
const bytes = ${fmtBytes};
const FR = D.frames;
function secsOf(s) { return s >= 1 ? s.toFixed(2) + " s" : s >= 1e-3 ? (s * 1e3).toFixed(s >= 0.1 ? 0 : 1) + " ms" : (s * 1e6).toFixed(0) + " µs"; }
const loc = (fi) => FR[fi][1] ? FR[fi][1] + (FR[fi][2] ? ":" + FR[fi][2] : "") : "";
// Rounded, then exact: two peaks that round alike (1.66 MB, 1.66 MB) stay
// apart (review1 #5).
const exactBytes = (v) => bytes(v) + " (" + fmt(v) + " bytes)";
const ftext = (fi) => FR[fi][0] + (loc(fi) ? " " + loc(fi) : "");
if (D.leakTitle) $("leaktitle").textContent = D.leakTitle;
$("title").textContent = D.title; $("subtitle").textContent = D.subtitle + (D.note ? " — " + D.note : "");
if (D.summary) {
  const s = D.summary;
  for (const [k, v] of [["allocations", fmt(s.allocs)], ["allocated", exactBytes(s.allocBytes)], ["frees", fmt(s.frees) + (s.skippedFrees > 0 ? "; " + fmt(s.skippedFrees) + " frees skipped (their objects were allocated before tracing started)" : "")], ...(D.gc ? [["GC cycles", fmt(s.gcs)]] : []), ["peak live", exactBytes(s.peakLive) + (typeof D.peak?.time === "number" ? " at " + secsOf(D.peak.time) : "")], ["live at end", exactBytes(s.liveBytes) + " in " + fmt(s.liveObjects) + " objects"]]) {
    const e = document.createElement("span"); e.textContent = k + ": " + v; $("summary").appendChild(e);
  }
  // MemStats' peak (gctrace's) where it differs from the exact one, with the
  // bytes of it no record shows: less them, it is never above the exact peak.
  const h = D.heapAlloc;
  if (h && (h.peak !== s.peakLive || h.untraced > 0)) {
    const e = document.createElement("span"); e.id = "heapalloc";
    e.textContent = "MemStats.HeapAlloc peak: " + bytes(h.peak) + " (" + fmt(h.peak) + " bytes) at " + (h.at === "end" ? "the end" : "a GC start") + (h.untraced > 0 ? ", of which " + fmt(h.untraced) + " bytes untraced" : "");
    e.title = "gctrace's figure. Untraced: bytes no record shows (objects the start-up allocated before GODEBUG was read, Go 1.22's allocation headers), so not in the exact figures";
    $("summary").appendChild(e);
  }
  // The flame graph opens on a sampled profile (replay's subject): its
  // totals are estimates, beside these exact figures (review1 #4: 512kB
  // sampled next to 290kB allocated, unexplained).
  if (D.show === "sampled") {
    const e = document.createElement("span"); e.id = "basis";
    e.textContent = "flame graph: the heap profile sampled at MemProfileRate=" + D.sampled.rate + ", un-sampled (estimates); these figures: every allocation";
    $("summary").appendChild(e);
  }
}
// ---- flame graph ----
let type = D.types.indexOf("alloc_space");
let view = "icicle", prof = "exact", byLine = D.by !== "func", search = "";
let root, zoom, selected = null, rects = [];
const unit = () => D.types[type].endsWith("space") ? bytes : fmt;
for (const t of D.types) { const o = document.createElement("option"); o.value = t; o.textContent = t; $("type").appendChild(o); }
$("type").value = D.types[type];
$("group").value = byLine ? "line" : "func";
{ const o = document.createElement("option"); o.value = "exact"; o.textContent = D.base ? "B (widths: the larger of A and B)" : "exact (every allocation)"; $("prof").appendChild(o); }
if (D.sampled) { const o = document.createElement("option"); o.value = "sampled"; o.textContent = "sampled at MemProfileRate=" + D.sampled.rate + " (un-sampled estimate)"; $("prof").appendChild(o); }
else if (!D.base) $("profl").style.display = "none";
if (D.show === "sampled") { prof = "sampled"; $("prof").value = "sampled"; }
function node(name, parent, fi) { return { name, parent, fi, v: [0,0,0,0], b: [0,0,0,0], lines: new Map(), kids: new Map() }; }
const curSamples = () => prof === "sampled" ? D.sampled.samples : D.samples;
function addAll(samples, key) {
  for (const s of samples) {
    const fs = view === "inverted" ? [...s.f].reverse() : s.f;
    let n = root;
    for (let k = 0; k < 4; k++) n[key][k] += s.v[k];
    for (let j = 0; j < fs.length; j++) {
      const fi = fs[j];
      // By line, the site frame is keyed by its line (two sites of one function stay apart); its callers by function.
      const k = byLine && j === (view === "inverted" ? 0 : fs.length - 1) ? "@" + fi : FR[fi][0];
      let c = n.kids.get(k);
      if (!c) { c = node(FR[fi][0], n, fi); c.key = k; n.kids.set(k, c); }
      for (let j = 0; j < 4; j++) c[key][j] += s.v[j];
      if (key === "v") c.lines.set(loc(fi), (c.lines.get(loc(fi)) || 0) + s.v[type]);
      n = c;
    }
  }
}
function build() {
  const path = []; for (let n = zoom; n && n.parent; n = n.parent) path.unshift(n.key);
  root = node("all", null, -1);
  addAll(curSamples(), "v"); if (D.base) addAll(D.base, "b");
  zoom = root;
  for (const k of path) { const c = zoom.kids.get(k); if (!c) break; zoom = c; }
}
const W = (n) => D.base ? Math.max(n.v[type], n.b[type]) : n.v[type];
const ROW = 18;
const canvas = $("flame");
const ctx = canvas.getContext("2d");
// Rows that will be drawn: children narrower than half a pixel are not.
function depthOf(n, w) { const kids = [...n.kids.values()].filter((c) => W(c) > 0); const den = Math.max(W(n), kids.reduce((s, c) => s + W(c), 0)); let d = 0; for (const c of kids) { const cw = den ? w * W(c) / den : 0; if (cw >= 0.5) d = Math.max(d, 1 + depthOf(c, cw)); } return d; }
function hit(n) { if (!search) return false; return n.name.includes(search) || (n.fi >= 0 && loc(n.fi).includes(search)); }
function color(n, dim) {
  if (hit(n)) return "#c040ff";
  if (D.base) {
    const a = n.b[type], b = n.v[type];
    const r = a === 0 ? (b > 0 ? 1 : 0) : (b - a) / a;
    const t = Math.max(-1, Math.min(1, r));
    return t >= 0 ? "rgb(255," + Math.round(220 - 160 * t) + "," + Math.round(200 - 160 * t) + ")" : "rgb(" + Math.round(200 + 160 * t) + "," + Math.round(220 + 80 * t) + ",255)";
  }
  let h = 0; for (let i = 0; i < n.name.length; i++) h = (h * 31 + n.name.charCodeAt(i)) | 0;
  const rt = n.name.startsWith("runtime.");
  return "hsl(" + (rt ? 200 : 20 + Math.abs(h) % 40) + "," + (rt ? 30 : 75) + "%," + (dim ? 85 : 55 + Math.abs(h >> 8) % 15) + "%)";
}
function draw() {
  const Wd = canvas.clientWidth || 900;
  const anc = []; for (let n = zoom.parent; n; n = n.parent) anc.unshift(n);
  const depth = Math.min(depthOf(zoom, Wd), 150) + anc.length;
  canvas.width = Wd; canvas.height = (depth + 1) * ROW;
  ctx.clearRect(0, 0, Wd, canvas.height);
  ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
  rects = [];
  let matched = 0;
  const yOf = (d) => view === "flame" ? (depth - d) * ROW : d * ROW;
  function box(n, x, w, d, dim) {
    const y = yOf(d);
    ctx.fillStyle = color(n, dim); ctx.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
    if (w > 30) { ctx.fillStyle = dim ? "#555" : "#111"; ctx.save(); ctx.beginPath(); ctx.rect(x, y, w, ROW); ctx.clip(); ctx.fillText(n === root ? "all" : (typeof n.key === "string" && n.key[0] === "@" ? ftext(n.fi) : n.name), x + 3, y + ROW / 2); ctx.restore(); }
    rects.push([x, y, w, ROW - 1, n]);
  }
  anc.forEach((n, i) => box(n, 0, Wd, i, true));
  function walk(n, x, w, d) {
    if (w < 0.5 || d > depth) return;
    if (hit(n) && !(n.parent && hit(n.parent))) matched += n.v[type];
    box(n, x, w, d, false);
    const kids = [...n.kids.values()].filter((c) => W(c) > 0).sort((a, b) => W(b) - W(a));
    const sum = kids.reduce((s, c) => s + W(c), 0);
    const den = Math.max(W(n), sum);
    let cx = x;
    for (const c of kids) { const cw = den ? w * W(c) / den : 0; walk(c, cx, cw, d + 1); cx += cw; }
  }
  if (W(zoom) > 0) walk(zoom, 0, Wd, anc.length);
  const u = unit();
  $("total").textContent = (D.base ? "B total " + u(root.v[type]) + ", A total " + u(root.b[type]) + ", change " + (root.v[type] >= root.b[type] ? "+" : "") + u(root.v[type] - root.b[type]) + "; frame widths: the larger of A and B" : "total " + u(root.v[type])) + (prof === "sampled" ? " — sampled at MemProfileRate=" + D.sampled.rate + ", un-sampled" : "");
  $("matched").textContent = search ? "matched " + u(matched) + " (" + (root.v[type] ? (100 * matched / root.v[type]).toFixed(1) : 0) + "%)" : "";
  $("crumbs").textContent = zoom === root ? "" : "zoomed: " + [...anc, zoom].map((n) => n === root ? "all" : n.name).join(" › ");
}
function at(ev) {
  const r = canvas.getBoundingClientRect();
  const x = ev.clientX - r.left, y = ev.clientY - r.top;
  for (let i = rects.length - 1; i >= 0; i--) { const [rx, ry, rw, rh, n] = rects[i]; if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) return n; }
  return null;
}
canvas.addEventListener("click", (ev) => { const n = at(ev); if (!n) return; zoom = n === zoom && n.parent ? n.parent : n; if (n !== root) select(n.name); draw(); });
canvas.addEventListener("mousemove", (ev) => {
  const n = at(ev); const tip = $("tip");
  if (!n) { tip.style.display = "none"; return; }
  const u = unit();
  const lines = [...n.lines].filter(([l]) => l).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([l, v]) => "  " + l + (n.lines.size > 1 ? " (" + u(v) + ")" : "")).join("\n");
  tip.textContent = (n === root ? "all" : n.name) + (lines ? "\n" + lines : "") + "\n" + u(n.v[type]) + " (" + (root.v[type] ? (100 * n.v[type] / root.v[type]).toFixed(2) : 0) + "%)" + (D.base ? "\nA " + u(n.b[type]) + ", B " + u(n.v[type]) + ", change " + (n.v[type] >= n.b[type] ? "+" : "") + u(n.v[type] - n.b[type]) : "");
  tip.style.display = "block"; tip.style.left = ev.clientX + 12 + "px"; tip.style.top = ev.clientY + 12 + "px";
});
canvas.addEventListener("mouseleave", () => { $("tip").style.display = "none"; });
// ---- callers and callees of one function ----
function related(name) {
  const callers = new Map(), callees = new Map(); let total = 0, self = 0;
  for (const s of curSamples()) {
    const v = s.v[type]; if (!v) continue;
    const i = s.f.findIndex((fi) => FR[fi][0] === name); if (i < 0) continue;
    total += v;
    const up = i > 0 ? ftext(s.f[i - 1]) : "(root)";
    callers.set(up, (callers.get(up) || 0) + v);
    if (i + 1 < s.f.length) { const dn = ftext(s.f[i + 1]); callees.set(dn, (callees.get(dn) || 0) + v); } else self += v;
  }
  if (self) callees.set("(self: allocates here)", self);
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ fn: k, value: v, share: total ? v / total : 0 }));
  return { name, total, callers: rows(callers), callees: rows(callees) };
}
function select(name) {
  selected = name;
  const r = related(name); const u = unit();
  $("relsec").style.display = "";
  $("reltitle").textContent = "Callers and callees of " + name + " (" + u(r.total) + " " + D.types[type] + ")";
  const cols = [{ key: "value", label: D.types[type], fmt: u }, { key: "share", label: "share", fmt: (v) => (100 * v).toFixed(1) + "%" }, { key: "fn", label: "function file:line", left: true, click: (row) => { const f = row.fn.split(" ")[0]; if (!f.startsWith("(")) select(f); } }];
  table($("callers"), cols, r.callers); table($("callees"), cols, r.callees);
}
function rebuild() { build(); draw(); if (selected) select(selected); }
$("type").addEventListener("change", () => { type = D.types.indexOf($("type").value); rebuild(); if (D.diffSites) diffTable(); });
$("view").addEventListener("change", () => { view = $("view").value; zoom = null; rebuild(); });
$("prof").addEventListener("change", () => { prof = $("prof").value; rebuild(); });
$("group").addEventListener("change", () => { byLine = $("group").value === "line"; zoom = null; rebuild(); });
$("search").addEventListener("input", () => { search = $("search").value; draw(); });
$("reset").addEventListener("click", () => { zoom = root; draw(); });
window.addEventListener("resize", draw);
// ---- tables ----
function table(el, cols, rows, expand) {
  let key = null, dir = -1;
  function render() {
    const sorted = key === null ? rows : [...rows].sort((a, b) => { const x = a[key], y = b[key]; return (typeof x === "string" ? x.localeCompare(y) : x - y) * dir; });
    const t = document.createElement("table");
    const hr = t.insertRow();
    for (const c of cols) { const th = document.createElement("th"); th.textContent = c.label; if (c.left) th.className = "l"; th.addEventListener("click", () => { dir = key === c.key ? -dir : -1; key = c.key; render(); }); hr.appendChild(th); }
    for (const r of sorted) {
      const tr = t.insertRow();
      for (const c of cols) { const td = tr.insertCell(); if (c.left) td.className = "l"; if (c.cls) td.className += " " + c.cls(r); if (c.html) td.innerHTML = c.html(r); else td.textContent = c.fmt ? c.fmt(r[c.key]) : r[c.key]; if (c.title) td.title = r[c.key]; if (c.click) { td.style.cursor = "pointer"; td.addEventListener("click", () => c.click(r)); } }
      if (expand) {
        tr.className = "row";
        tr.addEventListener("click", () => {
          const next = tr.nextSibling;
          if (next && next.className === "stack") { next.remove(); return; }
          const sr = document.createElement("tr"); sr.className = "stack";
          const td = sr.insertCell(); td.colSpan = cols.length; td.className = "l";
          td.textContent = expand(r).map((f, i) => { const fi = Array.isArray(f) ? f[0] : f; return (i ? "← " : "   ") + ftext(fi) + (Array.isArray(f) ? " (inlined)" : ""); }).join("\n");
          td.style.whiteSpace = "pre-wrap";
          tr.after(sr);
        });
      }
    }
    el.replaceChildren(t);
  }
  render();
}
// A site's name in a table cell: a C++ name can run to kilobytes, which
// wrapped into hundreds of lines of the table; its head and its tail (the
// file:line) are shown, the whole name in the cell's tooltip and its stack.
const shortSite = (s) => s.length <= 500 ? s : s.slice(0, 300) + " … " + s.slice(-150);
const siteCell = { key: "site", label: "site", left: true, fmt: shortSite, title: true };
if (D.processes.length) {
  $("procsec").style.display = "";
  if (D.processes.length === 500) $("proctitle").textContent = "Processes (the 500 with most bytes)";
  table($("processes"), [{ key: "pid", label: "pid" }, { key: "allocs", label: "allocs", fmt }, { key: "allocBytes", label: "bytes", fmt: bytes }, { key: "frees", label: "frees", fmt }, { key: "liveBytes", label: "live bytes", fmt: bytes }, { key: "image", label: "image", left: true }], D.processes);
}
if (D.sites.length) {
  table($("sites"), [{ key: "allocs", label: "allocs", fmt }, { key: "allocBytes", label: "bytes", fmt: bytes }, { key: "frees", label: "frees", fmt }, { key: "live", label: "live", fmt }, { key: "liveBytes", label: "live bytes", fmt: bytes }, siteCell], D.sites, (r) => r.stack);
  // None: one line, not a table of headers only.
  if (D.leaks.length) table($("leaks"), [{ key: "live", label: "objects", fmt }, { key: "liveBytes", label: "bytes", fmt: bytes }, ...(D.gc ? [{ key: "cycles", label: "GC cycles survived (min/mean/max)" }] : []), siteCell], D.leaks, (r) => r.liveStack);
  else { const p = document.createElement("p"); p.textContent = "No leak candidates."; $("leaks").replaceChildren(p); }
  // No GC (native): lifetimes in bytes allocated in between, sizes by power of two.
  if (!D.gc) { $("lifetitle").textContent = "Lifetimes of freed objects (bytes allocated between allocation and free)"; $("sizetitle").textContent = "Sizes (requests rounded up to a power of two)"; for (const s of D.sites) s.lifetime = s.lifetimeBytes; }
  const maxL = Math.max(1, ...D.sites.flatMap((s) => s.lifetime));
  const freed = D.sites.filter((s) => s.frees > 0);
  if (freed.length) table($("lifetimes"), [...(D.gc ? D.cycleBuckets : D.bytesBuckets).map((b, i) => ({ key: "l" + i, label: b, html: (r) => '<span class="barcell"><span class="bar" style="width:' + Math.round(40 * r["l" + i] / maxL) + 'px"></span> ' + fmt(r["l" + i]) + '</span>' })), siteCell],
    freed.map((s) => Object.assign({ site: s.site }, ...s.lifetime.map((v, i) => ({ ["l" + i]: v })))));
  else { const p = document.createElement("p"); p.textContent = "No object was freed."; $("lifetimes").replaceChildren(p); }
  const maxS = Math.max(1, ...D.sizes.map((s) => D.gc ? s.size * s.count : s.requested));
  table($("sizes"), [{ key: "size", label: "size", fmt: D.gc ? fmt : (v) => v === 0 ? "0" : "≤" + bytes(v) }, { key: "count", label: "objects", fmt }, { key: "bytes", label: "bytes", html: (r) => '<span class="barcell"><span class="bar" style="width:' + Math.round(200 * r.bytes / maxS) + 'px"></span> ' + bytes(r.bytes) + '</span>' }, ...(D.gc ? [{ key: "frag", label: "fragmentation", fmt: (v) => v < 0 ? "-" : (100 * v).toFixed(1) + "%" }] : [])],
    D.sizes.map((s) => ({ size: s.size, count: s.count, bytes: D.gc ? s.size * s.count : s.requested, frag: s.known ? s.fragmentation : -1 })));
} else { $("sitesec").style.display = "none"; }
// ---- diff table ----
function diffTable() {
  const k = type, u = unit(), dirSel = $("diffdir").value;
  const rows = D.diffSites.map((s) => ({ site: s.site, a: s.a[k], b: s.b[k], delta: s.b[k] - s.a[k], only: s.a[k] === 0 && s.b[k] ? "only in B" : s.b[k] === 0 && s.a[k] ? "only in A" : "" }))
    .filter((r) => r.delta !== 0 && (dirSel === "all" || (dirSel === "grew") === (r.delta > 0))).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta));
  table($("difftable"), [{ key: "delta", label: "Δ " + D.types[k], fmt: (v) => (v > 0 ? "+" : "") + u(v), cls: (r) => r.delta > 0 ? "pos" : "neg" }, { key: "a", label: "A", fmt: u }, { key: "b", label: "B", fmt: u }, { key: "only", label: "", left: true }, siteCell], rows);
}
if (D.diffSites) { $("diffsec").style.display = ""; $("diffdir").addEventListener("change", diffTable); diffTable(); }
// ---- timeline ----
const P = D.timeline;
// (Each point's top sites come as indices into D.topNames: see _namedOnce.)
for (const p of P) p.top = p.top.map(([i, b]) => [D.topNames[i], b]);
// The producer's exact peak (the summary's), as a point of its own where the
// timeline's sparse points missed that moment (no site breakdown there).
if (D.peak && D.summary && P.length) {
  const timed = typeof D.peak.time === "number" && P.every((p) => typeof p.time === "number");
  // (A time tie, a clock that did not move, broken by bytes allocated.)
  const after = (p) => timed ? p.time > D.peak.time || (p.time === D.peak.time && p.alloc > D.peak.alloc) : p.alloc > D.peak.alloc;
  const same = (p) => p.live === D.summary.peakLive && (timed ? p.time === D.peak.time : p.alloc === D.peak.alloc && p.cycle === D.peak.cycle);
  const at = P.some(same) ? -2 : P.findIndex(after);
  if (at !== -2) P.splice(at < 0 ? P.length : at, 0, { ...D.peak, live: D.summary.peakLive, at: "peak", top: [] });
}
// A clock that never moved (a tiny native run read at one instant) is no axis.
const hasTime = P.length > 0 && P.every((p) => typeof p.time === "number") && P[P.length - 1].time > P[0].time;
for (const [v, label] of [...(hasTime ? [["time", D.timeLabel]] : []), ["alloc", "bytes allocated"], ...(D.gc ? [["cycle", "GC cycle"]] : [])]) { const o = document.createElement("option"); o.value = v; o.textContent = label; $("xaxis").appendChild(o); }
function ticks(max, n) {
  if (max <= 0) return [0];
  const raw = max / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = []; for (let v = 0; v <= max * 1.0001; v += step) out.push(v); return out;
}
function ticksBytes(max, n) {
  if (max <= 0) return [0];
  const raw = max / n; let step = 1; while (step < raw) step *= 2;
  const out = []; for (let v = 0; v <= max; v += step) out.push(v); return out;
}
const secs = secsOf;
// A time axis' ticks in one unit, its largest tick's, with the step's
// decimals ("0 ms", "0.5 ms" … "2.5 ms"): secsOf gave each its own unit
// ("0 µs", "500 µs", "1.0 ms").
function secsTicks(vals) {
  const top = vals[vals.length - 1], step = vals.length > 1 ? vals[1] - vals[0] : top;
  const [k, u] = top >= 1 ? [1, " s"] : top >= 1e-3 ? [1e3, " ms"] : [1e6, " µs"];
  const d = step > 0 ? Math.max(0, Math.ceil(-Math.log10(step * k) - 1e-9)) : 0;
  return (v) => v === 0 ? "0" + u : (v * k).toFixed(d) + u;
}
let tl = null;
function timeline() {
  const svg = $("timeline");
  if (!P.length) { $("heapsec").style.display = "none"; return; }
  const by = $("xaxis").value; const Wt = 960, H = 260, L = 80, R = 16, T = 12, B = 40;
  const xv = (p) => by === "time" ? p.time : by === "alloc" ? p.alloc : p.cycle;
  const xs = P.map(xv); const maxX = Math.max(1e-9, ...xs); const maxY = Math.max(1, ...P.map((p) => p.live));
  const xt = by === "alloc" ? ticksBytes(maxX, 6) : ticks(maxX, 6), yt = ticksBytes(maxY, 4);
  const mx = Math.max(maxX, xt[xt.length - 1]), my = Math.max(maxY, yt[yt.length - 1]);
  const X = (v) => L + (Wt - L - R) * v / mx, Y = (v) => H - B - (H - B - T) * v / my;
  const tsec = secsTicks(xt);
  const xl = (v) => by === "time" ? tsec(v) : by === "alloc" ? bytes(v) : String(Math.round(v));
  let s = "";
  for (const v of yt) s += '<line x1="' + L + '" x2="' + (Wt - R) + '" y1="' + Y(v) + '" y2="' + Y(v) + '" stroke="#eee"/><text class="ytick" x="' + (L - 6) + '" y="' + (Y(v) + 4) + '" font-size="11" text-anchor="end">' + bytes(v) + '</text>';
  for (const v of xt) s += '<line x1="' + X(v) + '" x2="' + X(v) + '" y1="' + (H - B) + '" y2="' + (H - B + 5) + '" stroke="#999"/><text class="xtick" x="' + X(v) + '" y="' + (H - B + 17) + '" font-size="11" text-anchor="middle">' + xl(v) + '</text>';
  s += '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + (Wt - R) + '" y2="' + (H - B) + '" stroke="#999"/><line x1="' + L + '" y1="' + T + '" x2="' + L + '" y2="' + (H - B) + '" stroke="#999"/>';
  s += '<text x="' + ((L + Wt) / 2) + '" y="' + (H - 4) + '" font-size="11" text-anchor="middle">' + (by === "time" ? D.timeLabel : by === "alloc" ? "bytes allocated" : "GC cycle") + '</text><text x="12" y="' + (H / 2) + '" font-size="11" transform="rotate(-90 12 ' + (H / 2) + ')" text-anchor="middle">live bytes</text>';
  for (const g of D.gcMarks) { const gx = by === "time" ? g.time : by === "alloc" ? g.alloc : g.cycle; if (typeof gx !== "number") continue; s += '<line class="gcmark" x1="' + X(gx) + '" x2="' + X(gx) + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#3a6ea5" stroke-dasharray="3,3" stroke-width="1"><title>GC ' + g.cycle + '</title></line>'; }
  // Steps, not slopes: between two points the heap is drawn at the first
  // one's level (points come at GCs, peaks and steps; a slope would show a
  // gradual change nobody measured).
  s += '<polyline fill="none" stroke="#e07a38" stroke-width="1.5" points="' + P.map((p, i) => (i > 0 ? X(xs[i]).toFixed(1) + "," + Y(P[i - 1].live).toFixed(1) + " " : "") + X(xs[i]).toFixed(1) + "," + Y(p.live).toFixed(1)).join(" ") + '"/>';
  const pk = P.reduce((m, p, i) => p.live > P[m].live ? i : m, 0);
  s += '<line id="guide" x1="0" x2="0" y1="' + T + '" y2="' + (H - B) + '" stroke="#888" visibility="hidden"/>';
  s += '<circle class="peakpt" data-i="' + pk + '" cx="' + X(xs[pk]) + '" cy="' + Y(P[pk].live) + '" r="5" fill="#d22" style="cursor:pointer"><title>peak live ' + exactBytes(P[pk].live) + (hasTime ? " at " + secs(P[pk].time) : "") + '</title></circle>';
  svg.innerHTML = s;
  tl = { X, xs, L, R, Wt, mx };
  svg.querySelector(".peakpt").addEventListener("click", (ev) => { ev.stopPropagation(); showSnap(P[pk]); });
}
function nearest(clientX) {
  // The chart scales down to a narrow page: from CSS pixels to its own.
  // (Inside its border: the chart's own pixels are its content box.)
  const svg = $("timeline"), r = svg.getBoundingClientRect(); const x = (clientX - r.left - svg.clientLeft) * tl.Wt / svg.clientWidth;
  let best = 0, bd = Infinity;
  for (let i = 0; i < P.length; i++) { const d = Math.abs(tl.X(tl.xs[i]) - x); if (d < bd) { bd = d; best = i; } }
  return best;
}
function snapText(p) {
  return (hasTime ? secs(p.time) + ", " : "") + bytes(p.alloc) + " allocated" + (D.gc ? ", GC cycle " + p.cycle : "") + " (" + p.at + "): live " + bytes(p.live) + (p.top.length === 0 && p.live > 0 ? "; its sites were not recorded at this moment" : "");
}
$("timeline").addEventListener("mousemove", (ev) => {
  if (!tl) return;
  const i = nearest(ev.clientX), p = P[i], g = $("guide");
  g.setAttribute("x1", tl.X(tl.xs[i])); g.setAttribute("x2", tl.X(tl.xs[i])); g.setAttribute("visibility", "visible");
  const tip = $("ttip");
  tip.textContent = snapText(p) + "\n" + p.top.slice(0, 6).map(([site, b]) => bytes(b).padStart(10) + "  " + site).join("\n");
  tip.style.display = "block"; tip.style.left = ev.clientX + 14 + "px"; tip.style.top = ev.clientY + 14 + "px";
});
$("timeline").addEventListener("mouseleave", () => { $("ttip").style.display = "none"; const g = $("guide"); if (g) g.setAttribute("visibility", "hidden"); });
$("timeline").addEventListener("click", (ev) => { if (tl) showSnap(P[nearest(ev.clientX)]); });
function showSnap(p) {
  const el = $("snapshot"); el.replaceChildren();
  const h = document.createElement("div"); h.textContent = "At " + snapText(p); el.appendChild(h);
  const div = document.createElement("div"); el.appendChild(div);
  table(div, [{ key: 1, label: "live bytes", fmt: bytes }, { key: 0, label: "site", left: true }], p.top);
}
$("xaxis").addEventListener("change", timeline);
build(); draw(); timeline();
// For tests and for the curious: the page's state.
window.__report = {
  total: () => root.v[type],
  type: () => D.types[type],
  view: () => view,
  rootChildren: () => [...zoom.kids.values()].filter((c) => W(c) > 0).sort((a, b) => W(b) - W(a)).map((c) => ({ name: c.name, loc: c.fi >= 0 ? loc(c.fi) : "", value: c.v[type], base: c.b[type] })),
  zoomed: () => zoom.name,
  drawn: () => rects.map((r) => r[4].name),
  nodeRect: (name) => { const r = rects.find((q) => q[4].name === name); if (!r) return null; const b = canvas.getBoundingClientRect(); return { x: b.left + r[0] + Math.min(r[2] / 2, 40), y: b.top + r[1] + r[3] / 2 }; },
  related: (name) => related(name),
  timelinePoints: () => P.length,
  timeline: () => P.map((p) => ({ time: p.time, alloc: p.alloc, cycle: p.cycle, live: p.live, at: p.at })),
  point: (i) => ({ live: P[i].live, time: P[i].time }),
  timelineX: (i) => { const svg = $("timeline"), b = svg.getBoundingClientRect(); return { x: b.left + svg.clientLeft + tl.X(tl.xs[i]) * svg.clientWidth / tl.Wt, y: b.top + 100 * b.height / 260 }; },
};
</script>
</body>
</html>
`;
