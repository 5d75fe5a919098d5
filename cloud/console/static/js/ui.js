// DOM building without innerHTML: every value from the API (host names, TXT records, alert texts)
// becomes a text node, so a hostile device name is shown, never run.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    // Through the CSSOM, which the page's CSP allows (a style="" attribute it would block).
    else if (key === "style") for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  append(node, children);
  return node;
}

export function table(caption, columns, rows, { empty = "nothing yet", label } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("table", { "aria-label": label || caption },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.title)))),
    h("tbody", {}, rows.map((row) => h("tr", {},
      columns.map((c) => h("td", { class: c.num ? "num" : null }, c.value(row)))))));
}

// MAC -> what to call the device (its name, else its vendor), for usage tables; empty on an error.
export function deviceNames(devices) {
  const names = new Map();
  if (devices instanceof Error) return names;
  for (const d of devices.devices) names.set(d.PhysAddress.toLowerCase(), d.HostName || d.vendor || d.PhysAddress);
  return names;
}

let fieldIds = 0;

// A control with its label beside it (label for=id): the accessible name is the label's text alone.
export function field(text, control) {
  fieldIds += 1;
  control.id ||= `f${fieldIds}`;
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control);
}

export function card(title, ...children) {
  const id = `h-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone}` }, text);
}

export function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  setTimeout(() => { if (box.textContent === text) box.textContent = ""; }, 5000);
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(value >= 100 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

// In ``tz`` when given (a plan's time zone, named in the text), else the browser's own.
export function when(iso, tz) {
  if (!iso) return "–";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (!tz) return new Date(iso).toLocaleString(undefined, options);
  return `${new Date(iso).toLocaleString(undefined, { ...options, timeZone: tz })} (${tz})`;
}

export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function ms(value) {
  return value === null || value === undefined ? "–" : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}

const COLOURS = ["#0b5cad", "#c2410c", "#6d28d9", "#0f766e"];
// Each series also has its own dash, so colour is never the only difference.
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

// A time-series line chart: series = [{name, points: [[Date, number|null], ...]}]; a gap where null.
export function lineChart(series, { unit = "", height = 180, since, until, label, gapMs = Infinity }) {
  const width = 560;
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const values = series.flatMap((x) => x.points.map((p) => p[1])).filter((v) => v !== null && Number.isFinite(v));
  const top = niceCeil(Math.max(1, ...values));
  const t0 = since.getTime();
  const t1 = until.getTime();
  const x = (t) => pad.l + ((t - t0) / Math.max(1, t1 - t0)) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (1 - v / top) * (height - pad.t - pad.b);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  for (const frac of [0, 0.5, 1]) {
    const v = top * frac;
    svg.append(s("line", { class: "gridline", x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }));
    svg.append(s("text", { x: pad.l - 4, y: y(v) + 4, "text-anchor": "end" }, `${round(v)}${unit}`));
  }
  for (const frac of [0, 0.5, 1]) {
    const t = t0 + (t1 - t0) * frac;
    const anchor = frac === 0 ? "start" : frac === 1 ? "end" : "middle";
    svg.append(s("text", { x: x(t), y: height - 6, "text-anchor": anchor },
      new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })));
  }
  series.forEach((serie, i) => {
    let d = "";
    let pen = false;
    let previous = -Infinity;
    for (const [t, v] of serie.points) {
      if (v === null || !Number.isFinite(v)) { pen = false; continue; }
      if (t.getTime() - previous > gapMs) pen = false;
      previous = t.getTime();
      d += `${pen ? "L" : "M"}${x(t.getTime()).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    // Few points (a new agent, or an outage around them): mark each, a lone one has no line.
    if (serie.points.length < 30) {
      for (const [t, v] of serie.points) {
        if (v !== null && Number.isFinite(v)) svg.append(s("circle", { cx: x(t.getTime()), cy: y(v), r: 2.5, fill: COLOURS[i % COLOURS.length] }));
      }
    }
    const dash = DASHES[i % DASHES.length];
    svg.append(s("path", { d, fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 2, ...(dash ? { "stroke-dasharray": dash } : {}) }));
  });
  const legend = h("div", { class: "legend" }, series.map((serie, i) =>
    h("span", {}, s("svg", { width: 18, height: 6, "aria-hidden": "true" },
      s("line", { x1: 0, y1: 3, x2: 18, y2: 3, stroke: COLOURS[i % COLOURS.length], "stroke-width": 2, ...(DASHES[i % DASHES.length] ? { "stroke-dasharray": DASHES[i % DASHES.length] } : {}) })), " ", serie.name)));
  return h("figure", { class: "plain" }, legend, svg);
}

// Daily usage as bars (download and upload stacked), one per local day of the cycle so far.
export function dayBars(days, { label }) {
  const width = 560;
  const height = 140;
  const pad = { l: 52, r: 8, t: 8, b: 22 };
  const totals = days.map((d) => d.bytes_rx + d.bytes_tx);
  const top = niceCeil(Math.max(1, ...totals));
  const slot = (width - pad.l - pad.r) / Math.max(days.length, 1);
  const y = (v) => pad.t + (1 - v / top) * (height - pad.t - pad.b);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  for (const frac of [0, 0.5, 1]) {
    svg.append(s("line", { class: "gridline", x1: pad.l, x2: width - pad.r, y1: y(top * frac), y2: y(top * frac) }));
    svg.append(s("text", { x: pad.l - 4, y: y(top * frac) + 4, "text-anchor": "end" }, bytes(top * frac)));
  }
  days.forEach((d, i) => {
    const w = Math.min(slot * 0.7, 36);
    const x = pad.l + i * slot + (slot - w) / 2;
    const title = `${d.date}: ${bytes(d.bytes_rx)} down, ${bytes(d.bytes_tx)} up`;
    svg.append(s("rect", { x, width: w, y: y(d.bytes_rx), height: y(0) - y(d.bytes_rx), fill: COLOURS[0] }, s("title", {}, title)));
    svg.append(s("rect", { x, width: w, y: y(d.bytes_rx + d.bytes_tx), height: y(0) - y(d.bytes_tx), fill: COLOURS[1] }, s("title", {}, title)));
    if (days.length <= 16 || i % Math.ceil(days.length / 8) === 0) {
      svg.append(s("text", { x: x + w / 2, y: height - 6, "text-anchor": "middle" }, d.date.slice(5)));
    }
  });
  const legend = h("div", { class: "legend" },
    h("span", {}, h("i", { style: { background: COLOURS[0] } }), "download"),
    h("span", {}, h("i", { style: { background: COLOURS[1] } }), "upload"));
  return h("figure", { class: "plain" }, legend, svg);
}

function niceCeil(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (v <= step * power) return step * power;
  return 10 * power;
}

function round(v) {
  return v >= 10 ? Math.round(v) : Math.round(v * 10) / 10;
}

// Cap gauge: used (solid) and projected end of cycle (hatched) against the cap.
export function gauge(used, projected, cap) {
  const scale = Math.max(cap || 1, used, projected || 0) * 1.05;
  const pct = (v) => `${Math.min(100, (100 * v) / scale).toFixed(2)}%`;
  const text = cap
    ? `${bytes(used)} of ${bytes(cap)} used${projected ? `, ${bytes(projected)} projected by the end of the cycle` : ""}`
    : `${bytes(used)} used this cycle (no cap)`;
  return h("div", {},
    h("div", {
      // A meter needs a maximum: with a cap it is the cap (clamped past it), without one an image.
      class: "gauge", role: cap ? "meter" : "img", "aria-label": cap ? "usage this cycle" : text,
      "aria-valuemin": cap ? 0 : null, "aria-valuemax": cap || null,
      "aria-valuenow": cap ? Math.min(used, cap) : null, "aria-valuetext": cap ? text : null,
    },
    projected ? h("div", { class: "proj", style: { width: pct(projected) } }) : null,
    h("div", { class: "used", style: { width: pct(used) } }),
    cap ? h("div", { class: "cap", style: { left: pct(cap) }, title: "cap" }) : null),
    h("p", { class: "muted" }, text));
}
