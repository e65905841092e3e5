// The gateway's API as the dashboard uses it: requests with the key, errors as ApiError, and
// event streams that survive expired stream tokens and gateway restarts.
//
// The key (an API key or a bearer token) is kept in sessionStorage, for this tab only. The page
// knows from its own HTML whether the gateway wants one (`longtask-auth`), so it asks before the
// first call instead of after a refused one; a refused key asks again.

import { $ } from "./dom.js";

const KEY = "longtask.key";
const AUTH_MODE = document.querySelector('meta[name="longtask-auth"]')?.content || "apikey";
const RETRY_MS = 2000;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the gateway answered ${status}`);
    this.status = status;
    this.code = body?.error || "error";
    this.details = body?.details;
  }
}

export function key() {
  return sessionStorage.getItem(KEY) || "";
}

export function setKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

const needsKey = () => AUTH_MODE !== "none";
let asking = null;

// One dialog for every caller waiting for a key.
function askKey(refused) {
  asking ??= new Promise((resolve) => {
    const dialog = $("#key-dialog");
    $("#key-error").hidden = !refused;
    $("#key-form").onsubmit = () => {
      setKey($("#key").value.trim());
      $("#key").value = "";
      asking = null;
      resolve();
    };
    dialog.showModal();
  });
  return asking;
}

export async function request(path, { method = "GET", body, signal } = {}) {
  if (needsKey() && !key()) await askKey(false);
  for (let tries = 0; tries < 3; tries++) {
    const headers = { Accept: "application/json" };
    if (key()) headers.Authorization = `Bearer ${key()}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const init = { method, headers, signal };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    if (response.status === 401 && needsKey()) {
      await askKey(true);
      continue;
    }
    return response;
  }
  throw new ApiError(401, { error: "unauthorized", message: "the key was refused" });
}

async function failed(response) {
  const body = await response.json().catch(() => ({}));
  return new ApiError(response.status, body);
}

export async function get(path, options) {
  const response = await request(path, options);
  if (!response.ok) throw await failed(response);
  return response.status === 204 ? null : response.json();
}

export async function post(path, body, options = {}) {
  const response = await request(path, { ...options, method: "POST", body });
  if (!response.ok) throw await failed(response);
  return response.status === 204 ? null : response.json();
}

// The body as text (a result of any size), or null for a 404.
export async function text(path, options) {
  const response = await request(path, options);
  if (response.status === 404) return null;
  if (!response.ok) throw await failed(response);
  return response.text();
}

export function tasksPath(namespace) {
  return `/v1/namespaces/${encodeURIComponent(namespace)}/tasks`;
}

export function taskPath(namespace, name) {
  return `${tasksPath(namespace)}/${encodeURIComponent(name)}`;
}

// Follows an SSE endpoint with a stream token (EventSource sends no headers).
//   path: the stream; tokenPath: where to POST for its token; query: extra parameters;
//   on: {eventName: (data, event) => …}; onLive(bool); onError(ApiError) for what retrying
//   cannot fix (the task or namespace is gone, access refused). Stops when `signal` aborts or
//   when close() is called (a handler calls it after `end`).
// A stream that says `ready` (the namespace stream without a snapshot) is live once the `ready`
// handler has finished reading what the view shows (it returns false when that failed), not
// when it opens: only from then on is no change missed.
export function follow({ path, tokenPath, query = {}, on, onLive, onError, signal }) {
  let source = null;
  let lastId = null;
  let timer = null;
  let closed = false;

  function close() {
    closed = true;
    clearTimeout(timer);
    source?.close();
  }

  function later() {
    if (!closed) timer = setTimeout(open, RETRY_MS);
  }

  async function open() {
    if (closed) return;
    let token;
    try {
      token = await post(tokenPath, undefined, { signal });
    } catch (err) {
      if (closed || err.name === "AbortError") return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        onError?.(err);
        return;
      }
      later();
      return;
    }
    if (closed) return;
    const params = new URLSearchParams({ ...query, token: token.token });
    if (lastId) params.set("lastEventId", lastId);
    source = new EventSource(`${path}?${params}`);
    if (!on.ready) source.addEventListener("open", () => onLive?.(true));
    for (const [name, handler] of Object.entries(on)) {
      source.addEventListener(name, async (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
        const handled = handler(JSON.parse(event.data), event);
        if (name === "ready" && (await handled) !== false && !closed) onLive?.(true);
      });
    }
    source.addEventListener("error", () => {
      if (closed) return;
      onLive?.(false);
      // A closed source (token expired, gateway restarted) gets a fresh token; the browser
      // retries an open one by itself, sending the last event id.
      if (source.readyState === EventSource.CLOSED) later();
    });
  }

  signal?.addEventListener("abort", close);
  open();
  return { close };
}
