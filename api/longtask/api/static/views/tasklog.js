// A task's log on its page: every line with its time, a separator where an attempt begins, live
// until the task ends. It follows new lines while the reader is at the bottom; scrolled up, it
// stays where the reader is and offers a button back to the latest line.

import * as api from "../lib/api.js";
import { h } from "../lib/dom.js";
import { clock } from "../lib/format.js";
import { errorBox } from "../lib/widgets.js";

// A reader within this many pixels of the bottom is following.
const BOTTOM_SLACK = 24;

export function logView(ctx, name) {
  const path = api.taskPath(ctx.namespace, name);
  const lines = h("div.log#log", {
    role: "log",
    tabindex: "0",
    "aria-label": `Log of ${name}`,
    dataset: { following: "true" },
  });
  const latest = h("button.jump#log-latest", { type: "button", hidden: true }, "Jump to the latest line ↓");
  const state = h("p.muted.log-state", { role: "status" }, "Waiting for output…");
  let attempt = null;
  let count = 0;
  let following = true;

  const atBottom = () => lines.scrollHeight - lines.scrollTop - lines.clientHeight <= BOTTOM_SLACK;
  const follow = (on) => {
    following = on;
    lines.dataset.following = String(on);
    if (on) {
      latest.hidden = true;
      lines.scrollTop = lines.scrollHeight;
    }
  };
  // From where the reader is now: also called before each new line, since a scroll's event
  // comes a frame later and a line arriving meanwhile would pull the reader back down.
  const track = () => {
    following = atBottom();
    lines.dataset.following = String(following);
    if (following) latest.hidden = true;
  };
  lines.addEventListener("scroll", track);
  latest.addEventListener("click", () => follow(true));

  function add(line) {
    if (line.attempt && line.attempt !== attempt) {
      attempt = line.attempt;
      lines.append(h("div.attempt-sep", { role: "separator" }, `Attempt ${attempt}`));
    }
    const when = line.ts ? clock(line.ts) : "";
    lines.append(
      h(
        `div.line${line.gap ? ".gap" : ""}`,
        {},
        h("time", { datetime: line.ts ? new Date(line.ts).toISOString() : undefined }, when),
        h("span", {}, line.line),
      ),
    );
    count += 1;
  }

  function settle() {
    state.textContent = `${count} line${count === 1 ? "" : "s"}`;
    if (following) lines.scrollTop = lines.scrollHeight;
    else latest.hidden = false;
  }

  const stream = api.follow({
    path: `${path}/logs`,
    tokenPath: `${path}/stream-token`,
    query: { follow: "true" },
    on: {
      log: (line) => {
        track();
        add(line);
        settle();
      },
      gap: (gap) => {
        track();
        const skipped = gap.skipped != null ? `${gap.skipped} earlier lines were` : "earlier lines were";
        add({ line: `[${skipped} trimmed from this log; it keeps only the newest lines]`, gap: true });
        settle();
      },
      end: () => {
        stream.close();
        state.textContent = `${count} line${count === 1 ? "" : "s"}; the task ended.`;
      },
    },
    onError: (err) => state.replaceWith(errorBox(err)),
    signal: ctx.signal,
  });
  return h("div.log-box", {}, state, lines, latest);
}
