// The task list: filters (phase, label selector, a name search), pages in name order, and live
// rows. The page comes from the list API (the gateway fills exact pages whatever the filters),
// read once the namespace stream (changes only, by the same label selector) is ready; the stream
// keeps the rows up to date: a changed task is redrawn, a deleted one removed, and a task that
// appears or starts matching is inserted when its name falls on this page.

import * as api from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { ago, PHASES } from "../lib/format.js";
import { errorBox, phaseBadge, progressBar } from "../lib/widgets.js";

const PAGE = 50;
const TYPING_MS = 400;

function filtersOf(query) {
  return {
    phase: query.get("phase") || "",
    labelSelector: query.get("labelSelector") || "",
    nameContains: query.get("nameContains") || "",
    continue: query.get("continue") || "",
    limit: query.get("limit") || "",
  };
}

function matches(task, filters) {
  return (
    (!filters.phase || task.phase === filters.phase) &&
    (!filters.nameContains || task.name.includes(filters.nameContains))
  );
}

function filterForm(filters, onChange) {
  const phase = h(
    "select#f-phase",
    { name: "phase" },
    h("option", { value: "" }, "All phases"),
    PHASES.map((p) => h("option", { value: p, selected: p === filters.phase }, p)),
  );
  const labels = h("input#f-labels", {
    name: "labelSelector",
    value: filters.labelSelector,
    placeholder: "team=a,tier in (batch)",
    autocomplete: "off",
    spellcheck: "false",
  });
  const search = h("input#f-search", {
    name: "nameContains",
    type: "search",
    value: filters.nameContains,
    placeholder: "part of a name",
    autocomplete: "off",
    spellcheck: "false",
    "aria-keyshortcuts": "/",
  });
  const form = h(
    "form.filters",
    { role: "search", "aria-label": "Filter tasks" },
    h("label", { for: "f-phase" }, "Phase"),
    phase,
    h("label", { for: "f-labels" }, "Labels"),
    labels,
    h("label", { for: "f-search" }, "Name"),
    search,
  );
  const read = () => ({
    phase: phase.value,
    labelSelector: labels.value.trim(),
    nameContains: search.value.trim().toLowerCase(),
  });
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(read()), TYPING_MS);
  };
  phase.addEventListener("change", () => onChange(read()));
  labels.addEventListener("input", soon);
  search.addEventListener("input", soon);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    onChange(read());
  });
  form.focusSearch = () => search.focus();
  return form;
}

class Rows {
  constructor(ctx, body) {
    this.ctx = ctx;
    this.body = body;
    this.rows = new Map();
  }

  draw(task) {
    let row = this.rows.get(task.name);
    if (!row) {
      const bar = progressBar(`Progress of ${task.name}`);
      row = h(
        "tr",
        { dataset: { task: task.name } },
        h("td.name", {}, h("a", { href: this.ctx.link("task", this.ctx.namespace, [task.name]) }, task.name)),
        h("td.phase"),
        h("td.progress", {}, bar),
        h("td.message"),
        h("td.attempt.narrow-hide"),
        h("td.created.narrow-hide.muted"),
      );
      row.bar = bar;
      this.rows.set(task.name, row);
      const after = [...this.rows.keys()].filter((n) => n !== task.name && n > task.name).sort()[0];
      this.body.insertBefore(row, after ? this.rows.get(after) : null);
    }
    fill(row.querySelector(".phase"), phaseBadge(task.phase));
    row.bar.update(task);
    const message = row.querySelector(".message");
    message.textContent = task.message || "";
    message.title = task.message || "";
    row.querySelector(".attempt").textContent = task.attempt ?? "";
    row.querySelector(".created").textContent = ago(task.createdAt);
    row.querySelector(".created").title = task.createdAt || "";
  }

  remove(name) {
    this.rows.get(name)?.remove();
    this.rows.delete(name);
  }
}

// One page on screen: its rows, what it says, its pager; `task` and `deleted` apply a change.
function drawPage(ctx, filters, { status, body, pager }, page) {
  body.replaceChildren();
  const rows = new Rows(ctx, body);
  page.items.forEach((task) => rows.draw(task));
  const filtered = filters.phase || filters.labelSelector || filters.nameContains;
  const describe = () => {
    const count = rows.rows.size;
    status.textContent = count
      ? `${count} task${count === 1 ? "" : "s"} on this page.`
      : filtered
        ? "No tasks match these filters on this page."
        : `No tasks in namespace ${ctx.namespace} yet.`;
  };
  describe();

  const first = !filters.continue;
  const last = !page.continue;
  const here = (cursor) => ctx.link("tasks", ctx.namespace, [], { ...filters, continue: cursor });
  fill(
    pager,
    first ? null : h("a#first-page", { href: here("") }, "« First page"),
    last ? null : h("a#next-page", { href: here(page.continue) }, "Next page »"),
  );

  // Where a task that appears belongs: between this page's first and last names.
  const names = page.items.map((t) => t.name);
  const onPage = (name) =>
    (first || (names.length > 0 && name >= names[0])) &&
    (last || (names.length > 0 && name <= names[names.length - 1]));
  return {
    task(task) {
      if (rows.rows.has(task.name) || (matches(task, filters) && onPage(task.name))) {
        rows.draw(task);
        describe();
      }
    },
    deleted(name) {
      rows.remove(name);
      describe();
    },
  };
}

// Everything of one set of filters: the page, the pager and the live rows; stops with `signal`.
// The namespace stream (changes only, by the same label selector) opens first, and the page is
// read each time it says `ready` (its watch has listed: on connecting, reconnecting, or listing
// anew). Changes that arrive while the page loads wait and are applied after it: a page read
// before `ready` would miss what changed until the watch listed.
function showPage(ctx, filters, parts, signal) {
  const query = new URLSearchParams({ limit: String(PAGE) });
  for (const name of ["phase", "labelSelector", "nameContains", "continue", "limit"]) {
    if (filters[name]) query.set(name, filters[name]);
  }
  parts.body.replaceChildren();
  parts.pager.replaceChildren();
  parts.status.textContent = "Loading…";
  let shown = null; // the page on screen
  let waiting = null; // changes that arrived while a page loads (null: none loads)
  let loads = 0;
  const change = (apply) => {
    if (waiting) waiting.push(apply);
    else if (shown) apply(shown);
  };

  async function load() {
    const mine = ++loads;
    waiting = [];
    let page;
    try {
      page = await api.get(`${api.tasksPath(ctx.namespace)}?${query}`, { signal });
    } catch (err) {
      if (mine !== loads || err.name === "AbortError") return false;
      waiting = null;
      fill(parts.status, errorBox(err));
      return false;
    }
    if (mine !== loads) return false; // a later `ready` reads a newer page
    shown = drawPage(ctx, filters, parts, page);
    const changes = waiting;
    waiting = null;
    changes.forEach((apply) => apply(shown));
    return true;
  }

  const stream = { snapshot: "false" };
  if (filters.labelSelector) stream.labelSelector = filters.labelSelector;
  api.follow({
    path: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/events`,
    tokenPath: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/stream-token`,
    query: stream,
    on: {
      ready: load,
      task: (task) => change((view) => view.task(task)),
      deleted: ({ name }) => change((view) => view.deleted(name)),
    },
    onLive: ctx.live,
    onError: (err) => fill(parts.status, errorBox(err)),
    signal,
  });
}

export default {
  id: "tasks",
  title: "Tasks",
  nav: true,
  render(ctx) {
    const parts = { status: h("p.muted", { role: "status" }), body: h("tbody"), pager: h("nav.pager", { "aria-label": "Pages" }) };
    let current = null;
    const load = (filters) => {
      current?.abort();
      current = new AbortController();
      ctx.signal.addEventListener("abort", () => current.abort());
      return showPage(ctx, filters, parts, current.signal);
    };
    const form = filterForm(filtersOf(ctx.query), (next) => {
      // New filters start from the first page, recorded in the address (a deep link).
      ctx.setQuery({ ...next, limit: ctx.query.get("limit") });
      load(filtersOf(ctx.query));
    });
    const headers = ["Task", "Phase", "Progress", "Message"].map((t) => h("th", { scope: "col" }, t));
    fill(
      ctx.root,
      h("h1", {}, "Tasks in ", h("span.nsname", {}, ctx.namespace)),
      form,
      parts.status,
      h(
        "div.table-wrap",
        {},
        h(
          "table#tasks",
          {},
          h("caption.sr-only", {}, `Tasks in namespace ${ctx.namespace}, in name order`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              headers,
              h("th.narrow-hide", { scope: "col" }, "Attempt"),
              h("th.narrow-hide", { scope: "col" }, "Created"),
            ),
          ),
          parts.body,
        ),
      ),
      parts.pager,
    );
    const onSlash = (event) => {
      const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement?.tagName);
      if (event.key === "/" && !typing && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        form.focusSearch();
      }
    };
    document.addEventListener("keydown", onSlash);
    ctx.signal.addEventListener("abort", () => document.removeEventListener("keydown", onSlash));
    return load(filtersOf(ctx.query));
  },
};
