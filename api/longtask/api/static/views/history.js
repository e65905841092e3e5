// The history: finished tasks kept in the history database after Kubernetes deleted them,
// newest first. A search box (name prefix), the final phase, a label selector and a time window
// select; keyset pages go on with "Older". A row opens the record: its fields, every attempt
// and the tail of its log (#/history/NS/UID).

import * as api from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { dateTime, duration, json } from "../lib/format.js";
import { errorBox, phaseBadge, section, table } from "../lib/widgets.js";

const PAGE = 50;
const TYPING_MS = 400;
const FINAL_PHASES = ["Succeeded", "Failed", "Cancelled"];
// The time windows offered, in seconds back from now ("" : all of the history).
const WINDOWS = [
  ["", "Any time"],
  ["3600", "Last hour"],
  ["86400", "Last 24 hours"],
  ["604800", "Last 7 days"],
  ["2592000", "Last 30 days"],
];

function historyPath(namespace, uid) {
  const base = `/v1/namespaces/${encodeURIComponent(namespace)}/history`;
  return uid ? `${base}/${encodeURIComponent(uid)}` : base;
}

function filtersOf(query) {
  return {
    namePrefix: query.get("namePrefix") || "",
    phase: query.get("phase") || "",
    labelSelector: query.get("labelSelector") || "",
    window: query.get("window") || "",
  };
}

function filterForm(filters, onChange) {
  const search = h("input#h-search", {
    name: "namePrefix",
    type: "search",
    value: filters.namePrefix,
    placeholder: "start of a name",
    autocomplete: "off",
    spellcheck: "false",
  });
  const phase = h(
    "select#h-phase",
    { name: "phase" },
    h("option", { value: "" }, "All outcomes"),
    FINAL_PHASES.map((p) => h("option", { value: p, selected: p === filters.phase }, p)),
  );
  const labels = h("input#h-labels", {
    name: "labelSelector",
    value: filters.labelSelector,
    placeholder: "team=a",
    autocomplete: "off",
    spellcheck: "false",
  });
  const windowSelect = h(
    "select#h-window",
    { name: "window" },
    WINDOWS.map(([value, text]) => h("option", { value, selected: value === filters.window }, text)),
  );
  const form = h(
    "form.filters",
    { role: "search", "aria-label": "Search the history" },
    h("label", { for: "h-search" }, "Name"),
    search,
    h("label", { for: "h-phase" }, "Outcome"),
    phase,
    h("label", { for: "h-labels" }, "Labels"),
    labels,
    h("label", { for: "h-window" }, "Finished"),
    windowSelect,
  );
  const read = () => ({
    namePrefix: search.value.trim().toLowerCase(),
    phase: phase.value,
    labelSelector: labels.value.trim(),
    window: windowSelect.value,
  });
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(read()), TYPING_MS);
  };
  search.addEventListener("input", soon);
  labels.addEventListener("input", soon);
  phase.addEventListener("change", () => onChange(read()));
  windowSelect.addEventListener("change", () => onChange(read()));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    onChange(read());
  });
  return form;
}

function queryOf(filters, cursor) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (filters.namePrefix) query.set("namePrefix", filters.namePrefix);
  if (filters.phase) query.set("phase", filters.phase);
  if (filters.labelSelector) query.set("labelSelector", filters.labelSelector);
  if (filters.window) {
    query.set("since", new Date(Date.now() - Number(filters.window) * 1000).toISOString());
  }
  if (cursor) query.set("continue", cursor);
  return query;
}

function rowOf(ctx, task) {
  return [
    h("a", { href: ctx.link("history", ctx.namespace, [task.uid]) }, task.name),
    phaseBadge(task.phase),
    dateTime(task.finishedAt),
    task.durationSeconds == null ? "–" : duration(task.durationSeconds),
    String(task.attempt),
    task.message || "",
  ];
}

async function showList(ctx) {
  let filters = filtersOf(ctx.query);
  const status = h("p.status", { role: "status", "aria-live": "polite" });
  const results = h("div.history-results");
  const more = h("button.more", { type: "button", hidden: true }, "Older");
  let cursor = null;

  async function load(append) {
    if (!append) {
      results.replaceChildren();
      cursor = null;
    }
    status.textContent = "Loading…";
    more.hidden = true;
    let page;
    try {
      page = await api.get(`${historyPath(ctx.namespace)}?${queryOf(filters, cursor)}`, {
        signal: ctx.signal,
      });
    } catch (err) {
      if (err.name !== "AbortError") fill(status, errorBox(err));
      return;
    }
    const headers = ["Name", "Outcome", "Finished", "Ran", "Attempts", "Message"];
    results.append(table("Finished tasks", headers, page.items.map((t) => rowOf(ctx, t)), "history"));
    const shown = results.querySelectorAll("tbody tr").length;
    status.textContent = shown ? `${shown} finished tasks shown, newest first.` : "No finished task matches.";
    cursor = page.continue || null;
    more.hidden = !cursor;
  }

  more.addEventListener("click", () => load(true));
  const form = filterForm(filters, (next) => {
    filters = next;
    ctx.setQuery(next);
    load(false);
  });
  fill(
    ctx.root,
    h("h1", {}, "History of ", ctx.namespace),
    h("p.muted", {}, "Finished tasks, kept after their TTL deleted them from the cluster."),
    form,
    status,
    results,
    more,
  );
  await load(false);
}

function detailsOf(record) {
  const spec = record.spec || {};
  const rows = [
    ["Name", record.name],
    ["UID", h("code", {}, record.uid)],
    ["Outcome", phaseBadge(record.phase)],
    ["Reason", record.reason || "–"],
    ["Message", record.message || "–"],
    ["Runs", h("code", {}, spec.task || (spec.command || []).join(" "))],
    ["Created", dateTime(record.createdAt)],
    ["Started", dateTime(record.startTime)],
    ["Finished", dateTime(record.finishedAt)],
    ["Ran", record.durationSeconds == null ? "–" : duration(record.durationSeconds)],
    ["Attempts", String(record.attempt)],
  ];
  if (record.queue) rows.push(["Queue", record.queue]);
  if (record.schedule) rows.push(["Schedule", record.schedule]);
  const labels = Object.entries(record.labels || {});
  rows.push([
    "Labels",
    labels.length ? h("ul.labels", {}, labels.map(([k, v]) => h("li", {}, h("code", {}, `${k}=${v}`)))) : "none",
  ]);
  if (record.deadLetter) {
    rows.push(["Dead letter", `${record.deadLetter.reason || ""}: ${record.deadLetter.error || ""}`]);
  }
  return h("dl.details", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

async function showRecord(ctx, uid) {
  fill(ctx.root, h("p.status", { role: "status" }, "Loading…"));
  let record;
  try {
    record = await api.get(historyPath(ctx.namespace, uid), { signal: ctx.signal });
  } catch (err) {
    if (err.name !== "AbortError") fill(ctx.root, errorBox(err));
    return;
  }
  const attempts = (record.attempts || []).map((a) => [
    String(a.number ?? ""),
    a.outcome ? phaseBadge(a.outcome) : "–",
    a.reason || "–",
    a.exitCode ?? "–",
    dateTime(a.start),
    dateTime(a.finish),
    a.message || "",
  ]);
  const log = (record.logTail || []).map((line) => `[${line.attempt ?? "-"}] ${line.line}`).join("\n");
  fill(
    ctx.root,
    h("p", {}, h("a", { href: ctx.link("history", ctx.namespace, []) }, "← History")),
    h("h1", {}, record.name),
    detailsOf(record),
    section(
      "Attempts",
      table(`Attempts of ${record.name}`, ["#", "Outcome", "Reason", "Exit code", "Started", "Finished", "Message"], attempts, "attempts"),
    ),
    section("Params", h("pre.json", {}, json((record.spec || {}).params ?? record.paramsDigest ?? null))),
    section("Result", h("pre.json", {}, record.resultRef ? record.resultRef : json(record.result ?? null))),
    section("Last log lines", log ? h("pre.log", { tabindex: "0" }, log) : h("p.muted", {}, "No log kept.")),
    section("Output", outputOf(record.output)),
  );
}

// The start of the task's output, as the history keeps it.
function outputOf(output) {
  if (!output) return h("p.muted", {}, "No output kept.");
  const size = `${output.chunks} chunks, ${output.bytes.toLocaleString()} bytes`;
  return h(
    "div",
    {},
    h("p.muted", {}, output.truncated ? `The start of the output (${size} in all).` : size),
    h("pre.output#history-output", { tabindex: "0", "aria-label": "Output" }, output.text),
  );
}

export default {
  id: "history",
  title: "History",
  nav: true,
  async render(ctx) {
    const uid = ctx.path[0];
    if (uid) await showRecord(ctx, uid);
    else await showList(ctx);
  },
};
