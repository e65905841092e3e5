// Pieces every view shows the same way: phase badges, progress bars, tables, errors, the
// confirmation dialog, a throttle for refreshing on bursts of events, action buttons (busy while
// they work) and the Suspend/Resume button of queues and schedules.

import { post } from "./api.js";
import { $, fill, h } from "./dom.js";
import { percent } from "./format.js";

export function phaseBadge(phase) {
  const value = phase || "Pending";
  return h(`span.badge.phase-${value}`, { dataset: { phase: value } }, value);
}

// A progress bar; update(task) redraws it. `data-progress` holds the percent shown.
export function progressBar(label) {
  const fillBar = h("span.fill");
  const bar = h("span.bar", { role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": label }, fillBar);
  const text = h("span.pct");
  const node = h("span.progress", {}, bar, text);
  node.update = (task) => {
    const pct = percent(task);
    bar.className = `bar phase-${task.phase || "Pending"}`;
    bar.setAttribute("aria-valuenow", String(Math.round(pct)));
    bar.dataset.progress = String(pct);
    fillBar.style.width = `${pct}%`;
    text.textContent = `${Math.round(pct)} %`;
  };
  return node;
}

// A table with a caption (for screen readers) and column headers; rows are arrays of cells.
export function table(caption, headers, rows, className = "") {
  return h(
    `div.table-wrap${className ? `.${className}` : ""}`,
    {},
    h(
      "table",
      {},
      h("caption.sr-only", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))),
    ),
  );
}

export function errorBox(err) {
  let text = String(err?.message || err);
  if (err?.code === "namespace_not_found") text = `${text}. Pick another namespace above.`;
  return h("p.error", { role: "alert", dataset: { error: err?.code || "error" } }, text);
}

// Asks a yes/no question in the page's dialog; resolves true for yes.
export function confirm({ title, text, yes }) {
  const dialog = $("#confirm-dialog");
  fill($("#confirm-title"), title);
  fill($("#confirm-text"), text);
  fill($("#confirm-yes"), yes);
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

// Calls `fn` at most once per `ms`, the last call winning (for refreshes on bursts of events).
export function throttle(fn, ms) {
  let timer = null;
  let again = false;
  return () => {
    if (timer) {
      again = true;
      return;
    }
    fn();
    timer = setTimeout(function tick() {
      timer = null;
      if (again) {
        again = false;
        fn();
        timer = setTimeout(tick, ms);
      }
    }, ms);
  };
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section.card", { "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

// A click handler for an action button: the button is disabled while `work` and then `reload`
// run; an error is shown at the end of the view.
export function busy(ctx, button, work, reload) {
  return async () => {
    button.disabled = true;
    try {
      await work();
      await reload();
    } catch (err) {
      if (err.name !== "AbortError") ctx.root.append(errorBox(err));
    } finally {
      button.disabled = false;
    }
  };
}

// Suspend or Resume for a resource that has `suspend` (a queue, a schedule): `plural` is its
// collection in the API path; after the action the view reloads.
export function suspendButton(ctx, plural, item, reload) {
  const action = item.suspend ? "resume" : "suspend";
  const label = item.suspend ? "Resume" : "Suspend";
  const button = h("button", { type: "button", dataset: { action }, "aria-label": `${label}: ${item.name}` }, label);
  const path = `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/${plural}/${encodeURIComponent(item.name)}/${action}`;
  button.addEventListener("click", busy(ctx, button, () => post(path, undefined, { signal: ctx.signal }), reload));
  return button;
}
