// The schedules of a namespace (LongTaskSchedules): each with its cron and time zone, when it
// runs next, whether it is ready or suspended, its active runs and the outcomes of its last runs
// (each a link to the run's task page); "Run now" triggers a run, Suspend and Resume toggle it.
// Refreshed when one of the schedules' runs changes (the namespace stream, runs only) and every
// 15 seconds (next slots move on without any run changing).

import * as api from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { busy, errorBox, phaseBadge, section, suspendButton, table, throttle } from "../lib/widgets.js";

const LAST_RUNS = 5;
const REFRESH_MS = 15_000;
const RUNS_SELECTOR = "longtask.io/schedule";
// Ready reasons of a schedule the operator refuses: it cannot be run by hand either.
const REFUSED = new Set(["InvalidSchedule", "SecondsNotEnabled"]);

function schedulesPath(namespace) {
  return `/v1/namespaces/${encodeURIComponent(namespace)}/schedules`;
}

function status(item) {
  if (item.suspend) return h("span.badge.phase-Cancelled", { dataset: { state: "suspended" } }, item.reason === "TooManyFailures" ? "Paused after failures" : "Suspended");
  if (item.ready === false) return h("span.badge.phase-Failed", { title: item.message || "", dataset: { state: "invalid" } }, item.reason || "Not ready");
  if (item.ready === true) return h("span.badge.phase-Succeeded", { dataset: { state: "ready" } }, "Ready");
  return h("span.muted", { dataset: { state: "unknown" } }, "–");
}

// How long until a moment: "in 42s", "in 7m", "in 5h", "in 3d"; "due" once it passed.
function until(value) {
  const seconds = (new Date(value) - Date.now()) / 1000;
  if (!(seconds > 0)) return "due";
  if (seconds < 60) return `in ${Math.round(seconds)}s`;
  if (seconds < 3600) return `in ${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `in ${Math.round(seconds / 3600)}h`;
  return `in ${Math.round(seconds / 86400)}d`;
}

function nextRun(item) {
  if (!item.nextScheduleTime) return h("span.muted", {}, "–");
  return h("span.next", { title: item.nextScheduleTime }, dateTime(item.nextScheduleTime), " ", h("span.muted", {}, `(${until(item.nextScheduleTime)})`));
}

// The last finished runs, oldest first, each a badge linking to its task page; then the active.
function lastRuns(ctx, item) {
  const finished = item.runs.filter((r) => ["Succeeded", "Failed", "Cancelled"].includes(r.phase)).slice(0, LAST_RUNS).reverse();
  const active = item.runs.filter((r) => !["Succeeded", "Failed", "Cancelled"].includes(r.phase));
  const link = (run) =>
    h(
      "a.run",
      { href: ctx.link("task", ctx.namespace, [run.name]), title: `${run.name} (${run.trigger || "schedule"})`, dataset: { run: run.name, phase: run.phase } },
      phaseBadge(run.phase),
    );
  if (!finished.length && !active.length) return h("span.muted", {}, "none yet");
  return h("span.runs", {}, finished.map(link), active.map(link));
}

function actions(ctx, item, reload) {
  const base = `${schedulesPath(ctx.namespace)}/${encodeURIComponent(item.name)}`;
  const refused = item.ready === false && REFUSED.has(item.reason);
  const run = h(
    "button",
    { type: "button", dataset: { action: "trigger" }, "aria-label": `Run now: ${item.name}`, disabled: refused, title: refused ? item.message : undefined },
    "Run now",
  );
  const trigger = async () => {
    const started = await api.post(`${base}/trigger`, undefined, { signal: ctx.signal });
    location.hash = ctx.link("task", ctx.namespace, [started.name]);
  };
  run.addEventListener("click", busy(ctx, run, trigger, reload));
  return h("span.actions", {}, run, suspendButton(ctx, "schedules", item, reload));
}

function rows(ctx, items, reload) {
  return items.map((item) => [
    h("span.name", { dataset: { schedule: item.name } }, item.name),
    h("code", {}, item.schedule),
    item.timeZone,
    nextRun(item),
    status(item),
    String(item.activeRuns),
    lastRuns(ctx, item),
    actions(ctx, item, reload),
  ]);
}

export default {
  id: "schedules",
  title: "Schedules",
  nav: true,
  async render(ctx) {
    const list = h("div", { "aria-live": "polite" });
    const note = h("p.muted");
    fill(ctx.root, h("h1", {}, "Schedules in ", h("span.nsname", {}, ctx.namespace)), note, section("Schedules", list));

    async function load() {
      try {
        const found = await api.get(schedulesPath(ctx.namespace), { signal: ctx.signal });
        if (!found.items.length) {
          fill(list, h("p.muted", {}, "No schedules in this namespace (kubectl apply -f deploy/samples/nightly-refresh-schedule.yaml makes one)."));
        } else {
          fill(list, table("Schedules", ["Name", "Schedule", "Time zone", "Next run", "Status", "Active", "Last runs", ""], rows(ctx, found.items, load), "schedules"));
        }
        fill(note, `${found.items.length} schedules; the last ${LAST_RUNS} finished runs of each, oldest first.`);
        return true;
      } catch (err) {
        if (err.name === "AbortError") return false;
        fill(list, errorBox(err));
        return false;
      }
    }

    if (!(await load())) return;
    const refresh = throttle(load, 2000);
    const timer = setInterval(refresh, REFRESH_MS);
    ctx.signal.addEventListener("abort", () => clearInterval(timer));
    api.follow({
      path: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/events`,
      tokenPath: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/stream-token`,
      query: { snapshot: "false", labelSelector: RUNS_SELECTOR },
      // Read again once the watch has listed (`ready`), then on every change.
      on: { ready: refresh, task: refresh, deleted: refresh },
      onLive: ctx.live,
      onError: (err) => fill(note, errorBox(err)),
      signal: ctx.signal,
    });
  },
};
