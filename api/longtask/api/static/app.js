// longtask dashboard: the tasks of a namespace, live over EventSource (no build step, no CDN).
// Auth: API calls send the key kept in sessionStorage (asked once, on the first 401);
// EventSource cannot send headers, so it opens the namespace stream with a short-lived token.
"use strict";

const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);
const state = { ns: "", tasks: new Map(), source: null, logTimer: null, logTask: null, logAfter: null };
const $ = (sel) => document.querySelector(sel);

function key() { return sessionStorage.getItem("longtask.key") || ""; }

function askKey() {
  return new Promise((resolve) => {
    const dialog = $("#key-dialog");
    $("#key-form").onsubmit = () => {
      sessionStorage.setItem("longtask.key", $("#key").value.trim());
      $("#key").value = "";
      resolve();
    };
    dialog.showModal();
  });
}

async function api(path, options = {}) {
  for (let tries = 0; tries < 3; tries++) {
    const headers = { "Accept": "application/json", ...(options.headers || {}) };
    if (key()) headers["Authorization"] = `Bearer ${key()}`;
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401) { await askKey(); continue; }
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`);
    return body;
  }
  throw new Error("not authorised");
}

function showError(err) {
  const p = $("#error");
  p.textContent = err ? String(err.message || err) : "";
  p.hidden = !err;
}

function cell(tr, cls) { return tr.querySelector(`.${cls}`); }

function row(task) {
  let tr = document.querySelector(`tr[data-task="${CSS.escape(task.name)}"]`);
  if (!tr) {
    tr = document.createElement("tr");
    tr.dataset.task = task.name;
    tr.innerHTML = `<td class="name"></td><td><span class="badge phase"></span></td>
      <td><span class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><span></span></span><span class="pct"></span></td>
      <td class="message"></td><td class="attempt"></td><td class="created muted"></td>
      <td class="actions"><button type="button" class="cancel">Cancel</button>
      <button type="button" class="retry">Retry</button> <button type="button" class="logs">Log</button></td>`;
    cell(tr, "cancel").onclick = () => act(tr.dataset.task, "cancel");
    cell(tr, "retry").onclick = () => act(tr.dataset.task, "retry");
    cell(tr, "logs").onclick = () => openLog(tr.dataset.task);
    $("#tasks tbody").prepend(tr);
  }
  return tr;
}

function render(task) {
  state.tasks.set(task.name, task);
  const tr = row(task);
  const phase = task.phase || "Pending";
  const pct = Math.max(0, Math.min(100, Number(task.progress ?? (phase === "Succeeded" ? 100 : 0))));
  cell(tr, "name").textContent = task.name;
  const badge = cell(tr, "phase");
  badge.textContent = phase;
  badge.className = `badge phase ${phase}`;
  const bar = cell(tr, "bar");
  bar.className = `bar ${phase}`;
  bar.setAttribute("aria-valuenow", String(pct));
  bar.dataset.progress = String(pct);
  bar.firstElementChild.style.width = `${pct}%`;
  cell(tr, "pct").textContent = `${Math.round(pct)} %`;
  cell(tr, "message").textContent = task.message || "";
  cell(tr, "message").title = task.message || "";
  cell(tr, "attempt").textContent = task.attempt ?? "";
  cell(tr, "created").textContent = task.createdAt ? new Date(task.createdAt).toLocaleString() : "";
  cell(tr, "cancel").hidden = FINAL.has(phase) || task.cancelRequested;
  cell(tr, "retry").hidden = phase !== "Failed";
  $("#empty").hidden = state.tasks.size > 0;
}

function remove(name) {
  state.tasks.delete(name);
  document.querySelector(`tr[data-task="${CSS.escape(name)}"]`)?.remove();
  $("#empty").hidden = state.tasks.size > 0;
}

async function act(name, action) {
  try {
    showError(null);
    const task = await api(`/v1/namespaces/${state.ns}/tasks/${name}/${action}`, { method: "POST" });
    if (task) render(task);
  } catch (err) { showError(err); }
}

function setLive(on) {
  const live = $("#live");
  live.textContent = on ? "live" : "reconnecting…";
  live.className = on ? "live on" : "live";
}

async function follow() {
  if (state.source) state.source.close();
  const ns = state.ns;
  let token;
  try {
    token = await api(`/v1/namespaces/${ns}/stream-token`, { method: "POST" });
  } catch (err) { showError(err); setTimeout(follow, 5000); return; }
  if (ns !== state.ns) return;
  const source = new EventSource(token.url);
  state.source = source;
  source.addEventListener("open", () => setLive(true));
  source.addEventListener("snapshot", (e) => {
    const items = JSON.parse(e.data).items || [];
    const names = new Set(items.map((t) => t.name));
    for (const name of [...state.tasks.keys()]) if (!names.has(name)) remove(name);
    items.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt))).forEach(render);
    $("#empty").hidden = state.tasks.size > 0;
  });
  source.addEventListener("task", (e) => render(JSON.parse(e.data)));
  source.addEventListener("deleted", (e) => remove(JSON.parse(e.data).name));
  source.addEventListener("error", () => {
    setLive(false);
    // A closed source (token expired, gateway restarted) gets a fresh token.
    if (source.readyState === EventSource.CLOSED && state.source === source) setTimeout(follow, 2000);
  });
}

async function pollLog() {
  const name = state.logTask;
  if (!name) return;
  try {
    const after = state.logAfter ? `&after=${encodeURIComponent(state.logAfter)}` : "";
    const page = await api(`/v1/namespaces/${state.ns}/tasks/${name}/logs?limit=1000${after}`);
    if (name !== state.logTask) return;
    if (page.items.length) {
      $("#log").textContent += page.items.map((l) => l.line).join("\n") + "\n";
      state.logAfter = page.next;
    }
  } catch (err) { showError(err); }
  const task = state.tasks.get(name);
  if (!task || !FINAL.has(task.phase)) state.logTimer = setTimeout(pollLog, 2000);
}

function openLog(name) {
  clearTimeout(state.logTimer);
  state.logTask = name;
  state.logAfter = null;
  $("#log").textContent = "";
  $("#log-task").textContent = name;
  $("#log-panel").hidden = false;
  pollLog();
}

function show(ns) {
  state.ns = ns;
  state.tasks.clear();
  $("#tasks tbody").replaceChildren();
  $("#log-panel").hidden = true;
  state.logTask = null;
  sessionStorage.setItem("longtask.namespace", ns);
  history.replaceState(null, "", `?namespace=${encodeURIComponent(ns)}`);
  follow();
}

document.addEventListener("DOMContentLoaded", () => {
  const ns = new URLSearchParams(location.search).get("namespace")
    || sessionStorage.getItem("longtask.namespace") || "default";
  $("#namespace").value = ns;
  $("#ns-form").onsubmit = (e) => { e.preventDefault(); show($("#namespace").value.trim()); };
  $("#log-close").onclick = () => { state.logTask = null; $("#log-panel").hidden = true; };
  show(ns);
});
