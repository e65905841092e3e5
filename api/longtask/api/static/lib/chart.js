// A small hand-drawn SVG chart of tasks finished per minute: stacked bars (succeeded, failed,
// cancelled) on the left axis, and each minute's mean run time as a dot on the right axis. No
// library: a few dozen rectangles. The numbers are in the SVG's label and in a table next to it.

import { h, svg } from "./dom.js";
import { duration } from "./format.js";

const W = 720;
const H = 200;
const PAD = { left: 34, right: 46, top: 10, bottom: 24 };
const KINDS = [
  ["succeeded", "Succeeded"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
];

function niceMax(value) {
  if (value <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function minuteLabel(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function finishedChart(minutes) {
  const counts = minutes.map((m) => m.succeeded + m.failed + m.cancelled);
  const total = counts.reduce((a, b) => a + b, 0);
  const top = niceMax(Math.max(0, ...counts));
  const longest = Math.max(0, ...minutes.map((m) => m.meanSeconds || 0));
  const slowest = longest > 0 ? niceMax(longest) : 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, minutes.length);
  const y = (count) => PAD.top + plotH - (count / top) * plotH;
  const ySeconds = (s) => PAD.top + plotH - (s / slowest) * plotH;

  const grid = [0, 0.5, 1].map((f) => {
    const value = top * f;
    return [
      svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(value), y2: y(value) }),
      svg("text", { class: "axis", x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, Number.isInteger(value) ? value : ""),
      svg("text", { class: "axis", x: W - PAD.right + 6, y: ySeconds(slowest * f) + 4 }, duration(slowest * f)),
    ];
  });
  const bars = minutes.map((m, i) => {
    let base = 0;
    const x = PAD.left + i * slot + slot * 0.15;
    return KINDS.filter(([kind]) => m[kind] > 0).map(([kind, label]) => {
      const top_ = y(base + m[kind]);
      const rect = svg(
        "rect",
        { class: `bar-${kind}`, x, y: top_, width: slot * 0.7, height: y(base) - top_ },
        svg("title", {}, `${minuteLabel(m.start)}: ${m[kind]} ${label.toLowerCase()}`),
      );
      base += m[kind];
      return rect;
    });
  });
  const dots = minutes.map((m, i) =>
    m.meanSeconds == null
      ? null
      : svg(
          "circle",
          { class: "duration", cx: PAD.left + (i + 0.5) * slot, cy: ySeconds(m.meanSeconds), r: 3 },
          svg("title", {}, `${minuteLabel(m.start)}: mean run time ${duration(m.meanSeconds)}`),
        ),
  );
  const every = Math.max(1, Math.ceil(minutes.length / 6));
  const labels = minutes.map((m, i) =>
    i % every
      ? null
      : svg("text", { class: "axis", x: PAD.left + (i + 0.5) * slot, y: H - 6, "text-anchor": "middle" }, minuteLabel(m.start)),
  );
  const last = minutes.length ? minuteLabel(minutes[minutes.length - 1].start) : "";
  const summary = `${total} tasks finished in the last ${minutes.length} minutes (up to ${last}); bars count them per minute, dots show their mean run time.`;
  const chart = svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary },
    grid,
    bars,
    dots,
    labels,
  );
  const legend = h(
    "ul.legend",
    {},
    KINDS.map(([kind, label]) => h("li", {}, h(`span.swatch.bar-${kind}`, { "aria-hidden": "true" }), label)),
    h("li", {}, h("span.swatch.duration", { "aria-hidden": "true" }), "mean run time (right axis)"),
  );
  return h("figure.chart-box", {}, chart, h("figcaption", {}, legend));
}
