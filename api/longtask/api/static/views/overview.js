// The overview of a namespace: tasks per phase (each a link to the filtered task list) and a
// chart of the tasks finished per minute with their run times. Refreshed (at most every two
// seconds) when the namespace stream says a task changed.

import * as api from "../lib/api.js";
import { finishedChart } from "../lib/chart.js";
import { fill, h } from "../lib/dom.js";
import { PHASES } from "../lib/format.js";
import { errorBox, section, throttle } from "../lib/widgets.js";

const MINUTES = 60;

function phaseCards(ctx, summary) {
  return h(
    "ul.phase-cards",
    {},
    PHASES.map((phase) =>
      h(
        "li",
        {},
        h(
          `a.phase-card.phase-${phase}`,
          { href: ctx.link("tasks", ctx.namespace, [], { phase }), dataset: { phase } },
          h("span.count", {}, String(summary.phases[phase] ?? 0)),
          h("span.label", {}, phase),
        ),
      ),
    ),
  );
}

export default {
  id: "overview",
  title: "Overview",
  nav: true,
  async render(ctx) {
    const cards = h("div", { "aria-live": "polite" });
    const chart = h("div");
    const total = h("p.muted");
    fill(
      ctx.root,
      h("h1", {}, "Overview of ", h("span.nsname", {}, ctx.namespace)),
      total,
      section("Tasks by phase", cards),
      section(`Finished per minute, last ${MINUTES} minutes`, chart),
    );

    async function load() {
      try {
        const path = `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/summary?minutes=${MINUTES}`;
        const summary = await api.get(path, { signal: ctx.signal });
        fill(cards, phaseCards(ctx, summary));
        fill(chart, finishedChart(summary.minutes));
        fill(total, `${summary.total} tasks in namespace ${ctx.namespace}.`);
        return true;
      } catch (err) {
        if (err.name === "AbortError") return false;
        fill(ctx.root, h("h1", {}, "Overview of ", h("span.nsname", {}, ctx.namespace)), errorBox(err));
        return false;
      }
    }

    if (!(await load())) return;
    const refresh = throttle(load, 2000);
    // The minutes move on even when no task changes.
    const timer = setInterval(refresh, 30_000);
    ctx.signal.addEventListener("abort", () => clearInterval(timer));
    api.follow({
      path: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/events`,
      tokenPath: `/v1/namespaces/${encodeURIComponent(ctx.namespace)}/stream-token`,
      query: { snapshot: "false" },
      // Read again once the watch has listed (`ready`), then on every change.
      on: { ready: refresh, task: refresh, deleted: refresh },
      onLive: ctx.live,
      onError: (err) => fill(total, errorBox(err)),
      signal: ctx.signal,
    });
  },
};
