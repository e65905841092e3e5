// One task: its live state (phase, progress bar with ETA, message), cancel and retry, what it
// is (spec, params, labels, retry-of), its result (of any size), attempts, conditions, the
// Kubernetes Events about it, and its log.
//
// The task's event stream is followed as a tail (?tail=true): it starts from the current state
// and only newer events follow, so the bar never goes back. Phase changes and the end re-read
// the task (attempts, conditions, result) and its Kubernetes Events.

import * as api from "../lib/api.js";
import { fill, h } from "../lib/dom.js";
import { between, bytes, dateTime, duration, eta, FINAL, json, percent } from "../lib/format.js";
import { logView } from "./tasklog.js";
import { outputView } from "./taskoutput.js";
import { confirm, errorBox, phaseBadge, progressBar, section, table, throttle } from "../lib/widgets.js";

// Set by the operator on the runs of a LongTaskSchedule (core's schedule module).
const SCHEDULE_LABEL = "longtask.io/schedule";
const SCHEDULED_TIME = "longtask.io/scheduled-time";
// Results larger than this show their start; the whole one is a download.
const RESULT_SHOWN_CHARS = 64 * 1024;

function details(ctx, task) {
  const spec = task.spec || {};
  const rows = [
    ["Namespace", task.namespace],
    ["UID", h("code", {}, task.uid)],
    ["Runs", spec.task ? h("code", {}, spec.task) : h("code", {}, (spec.command || []).join(" "))],
    ["Created", dateTime(task.createdAt)],
    ["Started", dateTime(task.startTime)],
    ["Completed", dateTime(task.completionTime)],
    ["Reason", task.reason || "–"],
    ["Timeout", spec.timeoutSeconds ? `${spec.timeoutSeconds} s per attempt` : "none"],
    ["Attempts allowed", String(spec.retry?.maxAttempts ?? 3)],
  ];
  if (task.retryOf) {
    rows.push(["Retry of", h("a", { href: ctx.link("task", ctx.namespace, [task.retryOf]) }, task.retryOf)]);
  }
  // Who or what made it: a schedule's run carries the schedule and its slot.
  const schedule = task.labels?.[SCHEDULE_LABEL];
  if (schedule) {
    const slot = task.annotations?.[SCHEDULED_TIME];
    rows.push(["Schedule", slot ? `${schedule} (slot ${dateTime(slot)})` : schedule]);
  }
  if (spec.queue) rows.push(["Queue", spec.queue]);
  if (task.nextAttemptTime) rows.push(["Next attempt", dateTime(task.nextAttemptTime)]);
  const labels = Object.entries(task.labels || {});
  rows.push([
    "Labels",
    labels.length ? h("ul.labels", {}, labels.map(([k, v]) => h("li", {}, h("code", {}, `${k}=${v}`)))) : "none",
  ]);
  return h("dl.details", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function attemptsTable(task) {
  if (!task.attempts?.length) return h("p.muted", {}, "No attempt yet.");
  const rows = task.attempts.map((a) => [
    String(a.number ?? ""),
    a.outcome ? phaseBadge(a.outcome) : "–",
    a.reason || "–",
    a.exitCode ?? "–",
    dateTime(a.start),
    dateTime(a.finish),
    a.start ? duration(between(a.start, a.finish)) : "–",
    a.message || "",
  ]);
  const headers = ["#", "Outcome", "Reason", "Exit code", "Started", "Finished", "Took", "Message"];
  return table(`Attempts of ${task.name}`, headers, rows, "attempts");
}

function conditionsTable(task) {
  if (!task.conditions?.length) return h("p.muted", {}, "No condition yet.");
  const rows = task.conditions.map((c) => [
    c.type,
    c.status,
    c.reason || "",
    c.message || "",
    dateTime(c.lastTransitionTime),
  ]);
  return table(`Conditions of ${task.name}`, ["Type", "Status", "Reason", "Message", "Since"], rows, "conditions");
}

function eventsTable(name, items) {
  if (!items.length) return h("p.muted", {}, "No Kubernetes Events (they expire after an hour).");
  const rows = items.map((e) => [
    dateTime(e.lastTime),
    e.type === "Warning" ? h("span.warning", {}, "Warning") : e.type || "",
    e.reason || "",
    e.object,
    e.message || "",
    String(e.count ?? 1),
  ]);
  return table(`Kubernetes Events of ${name}`, ["Last seen", "Type", "Reason", "Object", "Message", "Count"], rows, "kube-events");
}

async function resultView(ctx, task) {
  if (task.result !== null && task.result !== undefined) return h("pre.json#result", {}, json(task.result));
  if (!task.resultRef) return h("p.muted", {}, FINAL.has(task.phase) ? "No result." : "No result yet.");
  let body;
  try {
    body = await api.text(`${api.taskPath(ctx.namespace, task.name)}/result`, { signal: ctx.signal });
  } catch (err) {
    return errorBox(err);
  }
  if (body === null) return h("p.muted", {}, "No result.");
  const size = new Blob([body]).size;
  let shown = body;
  try {
    shown = json(JSON.parse(body));
  } catch {
    // Shown as it came.
  }
  const download = h("button", { type: "button" }, `Download (${bytes(size)})`);
  download.addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    const a = h("a", { href: url, download: `${task.name}-result.json` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  const cut = shown.length > RESULT_SHOWN_CHARS;
  return h(
    "div",
    {},
    h("p.muted", {}, `A large result (${bytes(size)}), kept in Redis. `, download),
    h("pre.json#result", {}, cut ? `${shown.slice(0, RESULT_SHOWN_CHARS)}\n…` : shown),
    cut ? h("p.muted", {}, `The first ${bytes(RESULT_SHOWN_CHARS)} are shown.`) : null,
  );
}

// A queued task's place: the live `queue` event's words, else the status's coarse place.
function queuedText(state, task) {
  if (state.queueMessage) return state.queueMessage;
  const queue = task.spec?.queue || "its queue";
  return task.queuePosition ? `queued #${task.queuePosition} in ${queue}` : `queued in ${queue}`;
}

// The live part: phase, bar, ETA, message and the buttons.
function liveHeader(ctx, name) {
  const badge = h("span");
  const bar = progressBar(`Progress of ${name}`);
  const message = h("p.message#task-message");
  const timing = h("p.muted#task-timing");
  const cancel = h("button.danger#cancel", { type: "button" }, "Cancel…");
  const retry = h("button#retry", { type: "button" }, "Retry");
  const problem = h("div");
  const node = h(
    "div.live-header",
    {},
    h("div.title-row", {}, h("h1", {}, name), badge, h("div.actions", {}, cancel, retry)),
    h("div.big-progress", {}, bar),
    message,
    timing,
    problem,
  );
  node.show = (state, task) => {
    fill(badge, phaseBadge(state.phase));
    bar.update(state);
    message.textContent = state.message || "";
    const attempt = state.attempt ? `attempt ${state.attempt} of ${task.spec?.retry?.maxAttempts ?? 3}` : "";
    const started = task.attempts?.at(-1)?.start || task.startTime;
    const parts = [attempt];
    if (task.startTime) {
      const took = duration(between(task.startTime, task.completionTime));
      parts.push(task.completionTime ? `ran for ${took}` : `running for ${took}`);
    }
    const left = state.phase === "Running" ? eta(percent(state), started) : null;
    if (left !== null) parts.push(`ETA ${duration(left)}`);
    if (state.phase === "Queued") parts.push(queuedText(state, task));
    timing.textContent = parts.filter(Boolean).join(" · ");
    cancel.hidden = FINAL.has(state.phase) || task.cancelRequested;
    retry.hidden = !["Failed", "Cancelled"].includes(state.phase);
  };
  node.cancel = cancel;
  node.retry = retry;
  node.problem = problem;
  return node;
}

export default {
  id: "task",
  title: "Task",
  section: "tasks",
  nav: false,
  async render(ctx) {
    const name = ctx.path[0];
    ctx.setTitle(`${name} · ${ctx.namespace}`);
    const path = api.taskPath(ctx.namespace, name);
    const back = h("p.crumbs", {}, h("a", { href: ctx.link("tasks", ctx.namespace) }, `« Tasks in ${ctx.namespace}`));
    let task;
    try {
      task = await api.get(path, { signal: ctx.signal });
    } catch (err) {
      if (err.name !== "AbortError") fill(ctx.root, back, h("h1", {}, name), errorBox(err));
      return;
    }
    const header = liveHeader(ctx, name);
    const parts = {
      details: h("div"),
      params: h("div"),
      result: h("div"),
      attempts: h("div"),
      conditions: h("div"),
      events: h("div"),
    };
    const log = logView(ctx, name);
    const output = outputView(ctx, name);
    fill(
      ctx.root,
      back,
      header,
      h(
        "div.grid",
        {},
        section("Details", parts.details),
        section("Params", parts.params),
        section("Result", parts.result),
      ),
      section("Attempts", parts.attempts),
      section("Output", output),
      section("Log", log),
      section("Conditions", parts.conditions),
      section("Kubernetes Events", parts.events),
      h("details.card", {}, h("summary", {}, "Spec as stored"), h("pre.json#spec", {}, json(task.spec || {}))),
    );

    let state = task;
    const draw = async () => {
      header.show(state, task);
      fill(parts.details, details(ctx, task));
      fill(parts.params, h("pre.json#params", {}, json(task.spec?.params || {})));
      fill(parts.attempts, attemptsTable(task));
      fill(parts.conditions, conditionsTable(task));
      fill(parts.result, await resultView(ctx, task));
    };
    const loadEvents = async () => {
      try {
        const found = await api.get(`${path}/kube-events`, { signal: ctx.signal });
        fill(parts.events, eventsTable(name, found.items));
      } catch (err) {
        if (err.name !== "AbortError") fill(parts.events, errorBox(err));
      }
    };
    const reload = throttle(async () => {
      try {
        task = await api.get(path, { signal: ctx.signal });
      } catch (err) {
        if (err.name !== "AbortError") fill(header.problem, errorBox(err));
        return;
      }
      state = { ...task, ...pick(state) };
      if (FINAL.has(task.phase)) state = task;
      await draw();
      await loadEvents();
    }, 1000);
    await draw();
    loadEvents();

    header.cancel.addEventListener("click", async () => {
      const sure = await confirm({
        title: `Cancel ${name}?`,
        text: "Its running attempt is stopped and it will not be retried. Retry can re-run it later as a new task.",
        yes: "Cancel task",
      });
      if (!sure) return;
      try {
        task = await api.post(`${path}/cancel`);
        header.show(state, task);
      } catch (err) {
        fill(header.problem, errorBox(err));
      }
    });
    header.retry.addEventListener("click", async () => {
      try {
        const again = await api.post(`${path}/retry`);
        location.hash = ctx.link("task", ctx.namespace, [again.name]);
      } catch (err) {
        fill(header.problem, errorBox(err));
      }
    });

    const stream = api.follow({
      path: `${path}/events`,
      tokenPath: `${path}/stream-token`,
      query: { tail: "true" },
      on: {
        snapshot: (snap) => {
          state = snap;
          header.show(state, task);
        },
        progress: (event) => {
          state = { ...state, progress: event.progress, message: event.message, attempt: event.attempt };
          header.show(state, task);
        },
        queue: (event) => {
          state = { ...state, phase: "Queued", queueMessage: event.message, queuePosition: event.position };
          header.show(state, task);
        },
        status: (event) => {
          // A new attempt starts without the last one's message.
          const next = event.attempt > (state.attempt || 0) ? { message: null } : {};
          state = { ...state, ...next, phase: event.phase, attempt: event.attempt };
          header.show(state, task);
          reload();
        },
        end: (event) => {
          state = { ...state, phase: event.phase || state.phase };
          stream.close();
          ctx.live(null);
          reload();
        },
      },
      onLive: ctx.live,
      onError: (err) => fill(header.problem, errorBox(err)),
      signal: ctx.signal,
    });
  },
};

// What the stream knows better than a re-read task (the status lags the stream).
function pick(state) {
  const known = {};
  for (const field of ["progress", "message", "phase", "attempt"]) {
    if (state[field] !== undefined && state[field] !== null) known[field] = state[field];
  }
  return known;
}
