/**
 * The self-contained HTML report: one file with its data and code inline
 * (no network, no CDN), written lean by hand rather than with a charting
 * library, so that the page stays small, loads offline and draws 100,000
 * stacks quickly on a canvas:
 *
 * - an interactive flame graph (icicle) of allocation stacks — click to
 *   zoom, search by function name, switch between alloc/inuse ×
 *   objects/bytes; with a base profile, a differential view coloured by the
 *   change;
 * - the live heap over time, by allocated bytes or by GC cycle, GC cycles
 *   and the peak marked; clicking a point lists the top sites live then;
 * - sortable top sites, leak candidates, lifetime histograms per site, and
 *   size classes with internal fragmentation.
 *
 * @module
 */

import type { AnalysisResult, Snapshot } from "../trace/analyze.ts";
import { CYCLE_BUCKETS } from "../trace/analyze.ts";
import type { HeapSample } from "../profile/proto.ts";

/** What a report shows. */
export interface ReportInput {
  /** Page title. */
  title: string;
  /** One line under the title (what was run or read, settings). */
  subtitle: string;
  /** Flame-graph samples (leaf-first frames, four values each). */
  samples: readonly HeapSample[];
  /** A sampled heap profile of the same run, shown beside the exact samples, labelled with its rate. */
  sampled?: { rate: number; samples: readonly HeapSample[] };
  /** Base samples for a differential view (diff A B: these are A's). */
  base?: readonly HeapSample[];
  /** The analysis (timeline, sites, lifetimes, sizes), when there is one. */
  analysis?: AnalysisResult;
  /** Where the flame graph's values come from (e.g. "exact" or "sampled at 524288"). */
  note?: string;
}

interface PageSample {
  f: number[];
  v: number[];
}

/** Turns samples into root-first function-index lists over a shared name table. */
function compact(
  samples: readonly HeapSample[],
  names: Map<string, number>,
  funcs: string[],
): PageSample[] {
  return samples.map((s) => ({
    f: [...s.frames].reverse().map((fr) => {
      let i = names.get(fr.func);
      if (i === undefined) {
        i = funcs.length;
        funcs.push(fr.func);
        names.set(fr.func, i);
      }
      return i;
    }),
    v: [...s.values],
  }));
}

/**
 * Renders the report page.
 *
 * @example
 * ```ts
 * import { renderReport } from "./html.ts";
 * const html = renderReport({ title: "t", subtitle: "s", samples: [{ values: [1, 64, 1, 64], frames: [{ func: "main.f", file: "", line: 1 }] }] });
 * if (!html.startsWith("<!DOCTYPE html>") || html.includes("http://") || html.includes("https://")) throw new Error();
 * ```
 */
export function renderReport(input: ReportInput): string {
  const names = new Map<string, number>();
  const funcs: string[] = [];
  const samples = compact(input.samples, names, funcs);
  const base = input.base ? compact(input.base, names, funcs) : null;
  const a = input.analysis;
  const peak = a
    ? a.timeline.reduce<Snapshot | null>(
      (m, p) => (m === null || p.live > m.live ? p : m),
      null,
    )
    : null;
  const data = {
    title: input.title,
    subtitle: input.subtitle,
    note: input.note ?? "",
    types: ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"],
    funcs,
    samples,
    base,
    timeline: a?.timeline ?? [],
    peak,
    summary: a
      ? {
        allocs: a.allocs,
        allocBytes: a.allocBytes,
        frees: a.frees,
        gcs: a.gcs,
        peakLive: a.peakLiveBytes,
        liveBytes: a.liveBytes,
        liveObjects: a.liveObjects,
      }
      : null,
    sites: (a?.sites ?? []).slice(0, 500).map((s) => ({
      site: s.site,
      allocs: s.allocs,
      allocBytes: s.allocBytes,
      frees: s.frees,
      live: s.live,
      liveBytes: s.liveBytes,
      cycles: s.live > 0
        ? `${s.liveCyclesMin}/${
          (s.liveCyclesSum / s.live).toFixed(1)
        }/${s.liveCyclesMax}`
        : "",
      lifetime: s.lifetimeCycles,
    })),
    cycleBuckets: [
      ...CYCLE_BUCKETS.map((b, i) => (i === 0 ? "0" : `≤${b}`)),
      `>${CYCLE_BUCKETS.at(-1)}`,
    ],
    sizes: a?.sizes ?? [],
  };
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  // Function replacers: a string replacement would read `$&`, `$'`… in
  // the data as patterns.
  return PAGE.replace("/*DATA*/", () => json).replace(
    "<!--TITLE-->",
    () => escapeHtml(input.title),
  );
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

const PAGE = `<!DOCTYPE html>
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
#tip { position: fixed; pointer-events: none; background: #fffbe6; border: 1px solid #cc9; padding: 4px 6px; display: none; font-size: 12px; max-width: 600px; }
table { border-collapse: collapse; margin-top: 4px; } th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
th { cursor: pointer; background: #f6f6f6; } td.l, th.l { text-align: left; }
.bar { display: inline-block; height: 10px; background: #e07a38; vertical-align: middle; }
#timeline { border: 1px solid #ddd; } .gcpt { fill: #3a6ea5; cursor: pointer; } .peakpt { fill: #d22; cursor: pointer; }
.summary span { margin-right: 16px; }
</style>
</head>
<body>
<h1 id="title"></h1><div class="sub" id="subtitle"></div>
<div class="summary" id="summary"></div>
<h2>Allocation stacks</h2>
<div class="controls">
<label>Sample type <select id="type"></select></label>
<label>Search <input id="search" placeholder="function name"></label>
<button id="reset">Reset zoom</button>
<span id="total"></span><span id="matched"></span><span id="crumbs"></span>
</div>
<canvas id="flame" height="200"></canvas>
<div id="tip"></div>
<div id="heapsec"><h2>Live heap over time</h2>
<div class="controls"><label>x axis <select id="xaxis"><option value="alloc">allocated bytes</option><option value="cycle">GC cycle</option></select></label>
<span>Click a point for the sites live at that moment.</span></div>
<svg id="timeline" width="900" height="220"></svg>
<div id="snapshot"></div></div>
<div id="sitesec"><h2>Top sites</h2><div id="sites"></div>
<h2>Leak candidates (allocated, never freed)</h2><div id="leaks"></div>
<h2>Lifetimes of freed objects (GC cycles between allocation and free)</h2><div id="lifetimes"></div>
<h2>Size classes</h2><div id="sizes"></div></div>
<script type="application/json" id="data">/*DATA*/</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (n) => Math.round(n).toLocaleString("en-US");
const bytes = (b) => { const u = ["B","kB","MB","GB","TB"]; let i = 0; let v = b; while (Math.abs(v) >= 1024 && i < 4) { v /= 1024; i++; } return (i ? v.toFixed(2) : v) + u[i]; };
$("title").textContent = D.title; $("subtitle").textContent = D.subtitle + (D.note ? " — " + D.note : "");
if (D.summary) {
  const s = D.summary;
  $("summary").innerHTML = "";
  for (const [k, v] of [["allocations", fmt(s.allocs)], ["allocated", bytes(s.allocBytes)], ["frees", fmt(s.frees)], ["GC cycles", fmt(s.gcs)], ["peak live", bytes(s.peakLive)], ["live at end", bytes(s.liveBytes) + " in " + fmt(s.liveObjects) + " objects"]]) {
    const e = document.createElement("span"); e.textContent = k + ": " + v; $("summary").appendChild(e);
  }
}
// ---- flame graph ----
function node(name, parent) { return { name, parent, v: [0,0,0,0], b: [0,0,0,0], kids: new Map() }; }
const root = node("all", null);
function add(samples, key) {
  for (const s of samples) {
    let n = root;
    for (let k = 0; k < 4; k++) n[key][k] += s.v[k];
    for (const fi of s.f) {
      const name = D.funcs[fi];
      let c = n.kids.get(name);
      if (!c) { c = node(name, n); n.kids.set(name, c); }
      for (let k = 0; k < 4; k++) c[key][k] += s.v[k];
      n = c;
    }
  }
}
add(D.samples, "v");
if (D.base) add(D.base, "b");
let type = D.types.indexOf("alloc_space");
let zoom = root;
let search = "";
let rects = [];
const ROW = 18;
const canvas = $("flame");
const ctx = canvas.getContext("2d");
for (const t of D.types) { const o = document.createElement("option"); o.value = t; o.textContent = t; $("type").appendChild(o); }
$("type").value = D.types[type];
function depthOf(n) { let d = 0; for (const c of n.kids.values()) d = Math.max(d, 1 + depthOf(c)); return d; }
function color(n) {
  if (search && n.name.includes(search)) return "#c040ff";
  if (D.base) {
    const a = n.b[type], b = n.v[type];
    const r = a === 0 ? (b > 0 ? 1 : 0) : (b - a) / a;
    const t = Math.max(-1, Math.min(1, r));
    return t >= 0 ? "rgb(255," + Math.round(220 - 160 * t) + "," + Math.round(200 - 160 * t) + ")" : "rgb(" + Math.round(200 + 55 * t) + "," + Math.round(220 + 20 * t) + ",255)";
  }
  let h = 0; for (let i = 0; i < n.name.length; i++) h = (h * 31 + n.name.charCodeAt(i)) | 0;
  const rt = n.name.startsWith("runtime.");
  return "hsl(" + (rt ? 200 : 20 + Math.abs(h) % 40) + "," + (rt ? 30 : 75) + "%," + (55 + Math.abs(h >> 8) % 15) + "%)";
}
function draw() {
  const W = canvas.clientWidth || 900;
  const depth = Math.min(depthOf(zoom), 120);
  canvas.width = W; canvas.height = (depth + 1) * ROW;
  ctx.clearRect(0, 0, W, canvas.height);
  ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
  rects = [];
  const total = zoom.v[type];
  let matched = 0;
  function walk(n, x, w, d) {
    if (w < 0.5 || d > depth) return;
    if (search && n.name.includes(search)) matched += n.v[type];
    ctx.fillStyle = color(n); ctx.fillRect(x, d * ROW, Math.max(w - 0.5, 0.5), ROW - 1);
    if (w > 30) { ctx.fillStyle = "#111"; ctx.save(); ctx.beginPath(); ctx.rect(x, d * ROW, w, ROW); ctx.clip(); ctx.fillText(n.name, x + 3, d * ROW + ROW / 2); ctx.restore(); }
    rects.push([x, d * ROW, w, ROW - 1, n]);
    const kids = [...n.kids.values()].filter((c) => c.v[type] > 0).sort((a, b) => b.v[type] - a.v[type]);
    let cx = x;
    for (const c of kids) { const cw = n.v[type] ? w * c.v[type] / n.v[type] : 0; walk(c, cx, cw, d + 1); cx += cw; }
  }
  if (total > 0) walk(zoom, 0, W, 0);
  const unit = D.types[type].endsWith("space") ? bytes : fmt;
  $("total").textContent = "total " + unit(root.v[type]) + (D.base ? " (base " + unit(root.b[type]) + ")" : "");
  $("matched").textContent = search ? "matched " + unit(matched) + " (" + (root.v[type] ? (100 * matched / root.v[type]).toFixed(1) : 0) + "%)" : "";
  const path = []; for (let n = zoom; n; n = n.parent) path.unshift(n.name);
  $("crumbs").textContent = zoom === root ? "" : "zoomed: " + path.join(" › ");
}
function hit(ev) {
  const r = canvas.getBoundingClientRect();
  const x = ev.clientX - r.left, y = ev.clientY - r.top;
  for (let i = rects.length - 1; i >= 0; i--) { const [rx, ry, rw, rh, n] = rects[i]; if (x >= rx && x < rx + rw && y >= ry && y < ry + rh) return n; }
  return null;
}
canvas.addEventListener("click", (ev) => { const n = hit(ev); if (n) { zoom = n === zoom && n.parent ? n.parent : n; draw(); } });
canvas.addEventListener("mousemove", (ev) => {
  const n = hit(ev); const tip = $("tip");
  if (!n) { tip.style.display = "none"; return; }
  const unit = D.types[type].endsWith("space") ? bytes : fmt;
  tip.textContent = n.name + ": " + unit(n.v[type]) + " (" + (root.v[type] ? (100 * n.v[type] / root.v[type]).toFixed(2) : 0) + "%)" + (D.base ? ", base " + unit(n.b[type]) + ", change " + unit(n.v[type] - n.b[type]) : "");
  tip.style.display = "block"; tip.style.left = ev.clientX + 12 + "px"; tip.style.top = ev.clientY + 12 + "px";
});
canvas.addEventListener("mouseleave", () => { $("tip").style.display = "none"; });
$("type").addEventListener("change", () => { type = D.types.indexOf($("type").value); draw(); });
$("search").addEventListener("input", () => { search = $("search").value; draw(); });
$("reset").addEventListener("click", () => { zoom = root; draw(); });
window.addEventListener("resize", draw);
draw();
// ---- tables ----
function table(el, cols, rows) {
  let key = null, dir = -1;
  function render() {
    const sorted = key === null ? rows : [...rows].sort((a, b) => { const x = a[key], y = b[key]; return (typeof x === "string" ? x.localeCompare(y) : x - y) * dir; });
    const t = document.createElement("table");
    const hr = t.insertRow();
    for (const c of cols) { const th = document.createElement("th"); th.textContent = c.label; if (c.left) th.className = "l"; th.addEventListener("click", () => { dir = key === c.key ? -dir : -1; key = c.key; render(); }); hr.appendChild(th); }
    for (const r of sorted) { const tr = t.insertRow(); for (const c of cols) { const td = tr.insertCell(); if (c.left) td.className = "l"; if (c.html) td.innerHTML = c.html(r); else td.textContent = c.fmt ? c.fmt(r[c.key]) : r[c.key]; } }
    el.replaceChildren(t);
  }
  render();
}
if (D.sites.length) {
  table($("sites"), [{ key: "allocs", label: "allocs", fmt }, { key: "allocBytes", label: "bytes", fmt: bytes }, { key: "frees", label: "frees", fmt }, { key: "live", label: "live", fmt }, { key: "liveBytes", label: "live bytes", fmt: bytes }, { key: "site", label: "site", left: true }], D.sites);
  table($("leaks"), [{ key: "live", label: "objects", fmt }, { key: "liveBytes", label: "bytes", fmt: bytes }, { key: "cycles", label: "GC cycles survived (min/mean/max)" }, { key: "site", label: "site", left: true }], D.sites.filter((s) => s.live > 0));
  const maxL = Math.max(1, ...D.sites.flatMap((s) => s.lifetime));
  table($("lifetimes"), [...D.cycleBuckets.map((b, i) => ({ key: "l" + i, label: b, html: (r) => '<span class="bar" style="width:' + Math.round(40 * r["l" + i] / maxL) + 'px"></span> ' + fmt(r["l" + i]) })), { key: "site", label: "site", left: true }],
    D.sites.filter((s) => s.frees > 0).map((s) => Object.assign({ site: s.site }, ...s.lifetime.map((v, i) => ({ ["l" + i]: v })))));
  const maxS = Math.max(1, ...D.sizes.map((s) => s.size * s.count));
  table($("sizes"), [{ key: "size", label: "size", fmt }, { key: "count", label: "objects", fmt }, { key: "bytes", label: "bytes", html: (r) => '<span class="bar" style="width:' + Math.round(200 * r.bytes / maxS) + 'px"></span> ' + bytes(r.bytes) }, { key: "frag", label: "fragmentation", fmt: (v) => v < 0 ? "-" : (100 * v).toFixed(1) + "%" }],
    D.sizes.map((s) => ({ size: s.size, count: s.count, bytes: s.size * s.count, frag: s.known ? s.fragmentation : -1 })));
} else { $("sitesec").style.display = "none"; }
// ---- timeline ----
function timeline() {
  const svg = $("timeline"); const pts = D.timeline;
  if (!pts.length) { $("heapsec").style.display = "none"; return; }
  const by = $("xaxis").value; const W = 900, H = 220, L = 70, B = 24;
  const xs = pts.map((p) => by === "alloc" ? p.alloc : p.cycle); const maxX = Math.max(1, ...xs); const maxY = Math.max(1, ...pts.map((p) => p.live));
  const X = (v) => L + (W - L - 10) * v / maxX, Y = (v) => H - B - (H - B - 10) * v / maxY;
  let s = '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + W + '" y2="' + (H - B) + '" stroke="#999"/><line x1="' + L + '" y1="0" x2="' + L + '" y2="' + (H - B) + '" stroke="#999"/>';
  s += '<text x="4" y="14" font-size="11">' + bytes(maxY) + '</text><text x="' + (W - 120) + '" y="' + (H - 6) + '" font-size="11">' + (by === "alloc" ? bytes(maxX) + " allocated" : maxX + " GC cycles") + '</text>';
  s += '<polyline fill="none" stroke="#e07a38" stroke-width="1.5" points="' + pts.map((p, i) => X(xs[i]) + "," + Y(p.live)).join(" ") + '"/>';
  pts.forEach((p, i) => { if (p.at === "gc" || p.at === "end") s += '<circle class="gcpt" data-i="' + i + '" cx="' + X(xs[i]) + '" cy="' + Y(p.live) + '" r="3"/>'; });
  const pk = pts.reduce((m, p, i) => p.live > pts[m].live ? i : m, 0);
  s += '<circle class="peakpt" data-i="' + pk + '" cx="' + X(xs[pk]) + '" cy="' + Y(pts[pk].live) + '" r="5"><title>peak</title></circle>';
  svg.innerHTML = s;
  svg.querySelectorAll("circle").forEach((c) => c.addEventListener("click", () => showSnap(pts[Number(c.getAttribute("data-i"))])));
}
function showSnap(p) {
  const el = $("snapshot"); el.replaceChildren();
  const h = document.createElement("div"); h.textContent = "At " + bytes(p.alloc) + " allocated, GC cycle " + p.cycle + " (" + p.at + "): live " + bytes(p.live); el.appendChild(h);
  const div = document.createElement("div"); el.appendChild(div);
  table(div, [{ key: 1, label: "live bytes", fmt: bytes }, { key: 0, label: "site", left: true }], p.top);
}
$("xaxis").addEventListener("change", timeline);
timeline();
window.__report = {
  total: () => root.v[type],
  type: () => D.types[type],
  rootChildren: () => [...zoom.kids.values()].filter((c) => c.v[type] > 0).sort((a, b) => b.v[type] - a.v[type]).map((c) => ({ name: c.name, value: c.v[type] })),
  zoomed: () => zoom.name,
  nodeRect: (name) => { const r = rects.find((q) => q[4].name === name); if (!r) return null; const b = canvas.getBoundingClientRect(); return { x: b.left + r[0] + r[2] / 2, y: b.top + r[1] + r[3] / 2 }; },
};
</script>
</body>
</html>
`;
