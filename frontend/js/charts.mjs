// Metric charts for the Job and Compare pages: uPlot line charts, one
// series per run, drag to zoom (the page re-queries the zoomed range),
// double-click to reset, PNG export. Bundled by scripts/build-js.sh into
// public/assets/vendor/charts.js as the global `TrainyardCharts`;
// app/src/charts.rs is its only caller.
//
// Colours come from the app's CSS variables, read when a chart is drawn,
// so charts follow the light/dark theme.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2",
  "#b279a2", "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac"];

function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function axis() {
  const muted = cssVar("--muted", "#888");
  const grid = cssVar("--border", "#ddd");
  return { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
}

function aligned(series) {
  // uPlot wants one shared x array; join each run's [xs, ys] (and, with a
  // band, its bucket minimums and maximums) with gaps.
  const tables = series.map((s) => {
    const table = [s.points.map((p) => p[0]), s.points.map((p) => p[1])];
    if (s.band) table.push(s.band.map((b) => b[0]), s.band.map((b) => b[1]));
    return table;
  });
  return tables.length === 0 ? [[]] : uPlot.join(tables);
}

// Lines only, except for a series with a single value so far (a metric
// logged once, e.g. at the end of the first epoch): a line needs two points,
// so that one is drawn as a dot rather than leaving the chart empty.
function lonePoint(u, si) {
  let seen = 0;
  for (const v of u.data[si]) {
    if (v != null && ++seen > 1) return false;
  }
  return seen === 1;
}

// The uPlot series and bands for `series`: a line per run, and for a run
// with a band two invisible min/max series with the area between filled,
// so a spike inside a bucket is never hidden.
function layout(series) {
  const out = [{ label: "step" }];
  const bands = [];
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    out.push({ label: s.name, stroke: color, width: 1.5, spanGaps: true, points: { show: lonePoint } });
    if (s.band) {
      const min = out.push({ label: `${s.name} min`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } }) - 1;
      const max = out.push({ label: `${s.name} max`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } }) - 1;
      bands.push({ series: [max, min], fill: `${color}55` });
    }
  });
  return { series: out, bands };
}

function options(handle, series, width) {
  const { series: lines, bands } = layout(series);
  return {
    width,
    height: 220,
    legend: { show: series.length > 1 },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: false } },
    axes: [axis(), axis()],
    series: lines,
    bands,
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 2) return;
        const from = u.posToVal(u.select.left, "x");
        const to = u.posToVal(u.select.left + u.select.width, "x");
        handle.onZoom(from, to);
      }],
    },
  };
}

/** Makes a chart inside `parent`. `onZoom(from, to)` runs after a drag
 *  selection, `onZoom(null, null)` after a double-click reset. */
export function create(parent, onZoom) {
  const handle = { parent, onZoom, plot: null, names: "" };
  handle.observer = new ResizeObserver(() => {
    if (handle.plot) handle.plot.setSize({ width: parent.clientWidth, height: 220 });
  });
  handle.observer.observe(parent);
  parent.addEventListener("dblclick", () => onZoom(null, null));
  return handle;
}

/** Draws `series`: `[{name, points: [[step, value], ...], band?: [[min, max], ...]}]`. */
export function setSeries(handle, series) {
  const shape = series.map((s) => `${s.name}${s.band ? "\u0001" : ""}`).join("\u0000");
  const data = aligned(series);
  if (handle.plot && handle.names === shape) {
    handle.plot.setData(data);
    return;
  }
  if (handle.plot) handle.plot.destroy();
  handle.names = shape;
  const width = Math.max(handle.parent.clientWidth, 200);
  handle.plot = new uPlot(options(handle, series, width), data, handle.parent);
}

/** Saves the chart as a PNG file named `filename`. */
export function toPNG(handle, filename) {
  if (!handle.plot) return;
  const src = handle.plot.ctx.canvas;
  const out = document.createElement("canvas");
  out.width = src.width;
  out.height = src.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = cssVar("--surface", "#fff");
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, 0);
  download(filename, out.toDataURL("image/png"));
}

/** Saves `text` as a file (the runs table as CSV). */
export function downloadText(filename, text, mime) {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  download(filename, url);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function download(filename, href) {
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Removes the chart. */
export function destroy(handle) {
  handle.observer.disconnect();
  if (handle.plot) handle.plot.destroy();
  handle.plot = null;
}
