// A task's output on its page (what it wrote with ctx.output or ::output lines), growing as the
// task writes it. The task's event stream is followed from its start, so every chunk is here
// once and in order; chunks are kept by their place (`seq`), as core's fold does: a retraction
// (a new attempt resuming from a checkpoint, or starting over) removes the failed attempt's
// later chunks and says so. When the stream missed entries (a `gap`) or a chunk arrives past a
// hole, the whole output is read again (`GET …/output`).

import * as api from "../lib/api.js";
import { h } from "../lib/dom.js";
import { errorBox } from "../lib/widgets.js";

function chunkText(chunk) {
  return chunk.json ? `${JSON.stringify(chunk.chunk)}\n` : String(chunk.chunk);
}

export function outputView(ctx, name) {
  const path = api.taskPath(ctx.namespace, name);
  const text = h("pre.output#output", { role: "log", tabindex: "0", "aria-label": `Output of ${name}` });
  const state = h("p.muted.output-state", { role: "status" }, "No output yet.");
  const notes = h("div.output-notes");
  // Each chunk is one text node of `text`, at its place: chunks[i] is {attempt, node}.
  const chunks = [];
  let reading = null;

  function truncate(seq) {
    for (const gone of chunks.splice(seq)) gone.node.remove();
  }

  function add(chunk) {
    const node = document.createTextNode(chunkText(chunk));
    text.append(node);
    chunks.push({ attempt: chunk.attempt, node });
  }

  function settle() {
    state.textContent = `${chunks.length} chunk${chunks.length === 1 ? "" : "s"}`;
    text.scrollTop = text.scrollHeight;
  }

  function note(message) {
    notes.append(h("p.output-note", { role: "note" }, message));
  }

  async function readAll() {
    reading ??= (async () => {
      try {
        const whole = await api.get(`${path}/output`, { signal: ctx.signal });
        truncate(0);
        for (const chunk of whole.chunks) add(chunk);
        settle();
      } catch (err) {
        if (err.name !== "AbortError") state.replaceWith(errorBox(err));
      } finally {
        reading = null;
      }
    })();
    return reading;
  }

  const stream = api.follow({
    path: `${path}/events`,
    tokenPath: `${path}/stream-token`,
    on: {
      output: (chunk) => {
        if (reading) return; // the whole output being read has it
        if (chunk.seq < chunks.length) {
          if (chunk.attempt <= chunks[chunk.seq].attempt) return; // a repeat
          truncate(chunk.seq);
        }
        if (chunk.seq > chunks.length) {
          readAll();
          return;
        }
        add(chunk);
        settle();
      },
      retract: (event) => {
        if (event.seq < chunks.length && chunks[event.seq].attempt >= event.attempt) return;
        const count = Math.max(0, chunks.length - event.seq);
        truncate(event.seq);
        if (count) {
          note(
            event.resumed
              ? `Attempt ${event.attempt} resumed from its checkpoint at chunk ${event.seq}: the ${count} chunks the failed attempt wrote after it were withdrawn.`
              : `Attempt ${event.attempt} started a new output: the ${count} chunks of the failed attempt were withdrawn.`,
          );
        }
        settle();
      },
      gap: () => readAll(),
      end: () => {
        stream.close();
        state.textContent = `${chunks.length} chunk${chunks.length === 1 ? "" : "s"}; the task ended.`;
      },
    },
    onError: (err) => state.replaceWith(errorBox(err)),
    signal: ctx.signal,
  });
  return h("div.output-box", {}, state, notes, text);
}
