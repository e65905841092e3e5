// The queues of a namespace (LongTaskQueues): each with its limits, how many of its tasks run and
// wait, how long the oldest has waited, and Suspend or Resume. Refreshed when a task of the
// namespace changes (the namespace stream, no snapshot) and every 5 seconds.

import * as api from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { errorBox, section, suspendButton, table, throttle } from "../lib/widgets.js";

const REFRESH_MS = 5_000;

function queuesPath(namespace) {
  return `/v1/namespaces/${encodeURIComponent(namespace)}/queues`;
}

// How long since a moment: "42s", "7m", "5h".
function since(value) {
  const seconds = Math.max(0, (Date.now() - new Date(value)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function limits(item) {
  const parts = [item.maxRunning == null ? "no limit" : `${item.maxRunning} at once`];
  if (item.maxRunningPerKey != null && item.concurrencyKey) {
    const [[source, field]] = Object.entries(item.concurrencyKey);
    parts.push(`${item.maxRunningPerKey} per ${source} ${field}`);
  }
  if (item.rateLimit) parts.push(`${item.rateLimit.starts} starts / ${item.rateLimit.periodSeconds}s`);
  return parts.join(" · ");
}

function state(item) {
  if (item.suspend) return h("span.badge.phase-Cancelled", { dataset: { state: "suspended" } }, "Suspended");
  return h("span.badge.phase-Running", { dataset: { state: "active" } }, "Admitting");
}

function rows(ctx, items, reload) {
  return items.map((item) => [
    h("span.name", { dataset: { queue: item.name } }, item.name),
    limits(item),
    h("span", { dataset: { running: String(item.running) } }, String(item.running)),
    h("span", { dataset: { queued: String(item.queued) } }, String(item.queued)),
    item.oldestQueuedTime ? h("span", { title: item.oldestQueuedTime }, since(item.oldestQueuedTime)) : h("span.muted", {}, "–"),
    state(item),
    suspendButton(ctx, "queues", item, reload),
  ]);
}

export default {
  id: "queues",
  title: "Queues",
  nav: true,
  async render(ctx) {
    const list = h("div", { "aria-live": "polite" });
    const note = h("p.muted");
    fill(ctx.root, h("h1", {}, "Queues in ", h("span.nsname", {}, ctx.namespace)), note, section("Queues", list));

    async function load() {
      try {
        const found = await api.get(queuesPath(ctx.namespace), { signal: ctx.signal });
        if (!found.items.length) {
          fill(list, h("p.muted", {}, "No queues in this namespace (kubectl apply -f deploy/samples/llm-calls-queue.yaml makes one)."));
        } else {
          fill(list, table("Queues", ["Name", "Limits", "Running", "Queued", "Oldest wait", "State", ""], rows(ctx, found.items, load), "queues"));
        }
        fill(note, `${found.items.length} queues; a task names its queue in spec.queue.`);
        return true;
      } catch (err) {
        if (err.name === "AbortError") return false;
        fill(list, errorBox(err));
        return false;
      }
    }

    if (!(await load())) return;
    const refresh = throttle(load, 1000);
    const timer = setInterval(refresh, REFRESH_MS);
    ctx.signal.addEventListener("abort", () => clearInterval(timer));
    api.follow({
      path: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/events`,
      tokenPath: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/stream-token`,
      query: { snapshot: "false" },
      // Read again once the watch has listed (`ready`), then on every change.
      on: { ready: refresh, task: refresh, deleted: refresh },
      onLive: ctx.live,
      onError: (err) => fill(note, errorBox(err)),
      signal: ctx.signal,
    });
  },
};
