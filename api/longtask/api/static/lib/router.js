// The dashboard's navigation: a registry of views and one small hash router.
//
// A route is  #/<view>/<namespace>/<more/path>?<query>, e.g. #/tasks/default?phase=Running or
// #/task/default/embed-x7k2q: every URL is a deep link. A view is a module whose default export
// is {id, title, nav, section?, render(ctx)}; `register` adds it, and views with `nav: true`
// appear in the navigation bar in the order they were registered. A view that is a page of
// another (a task, of the task list) names it as its `section`: its nav entry shows as current,
// and switching namespaces there opens the section. See api/README.md, "Adding a view".
//
// render(ctx) fills ctx.root. ctx holds the route (namespace, path, query), `signal` (aborted
// when the user leaves the view: pass it to fetches and streams, and they stop by themselves),
// `link(view, namespace, path, query)` to build hrefs, `setQuery(query)` to record a view's own
// state (filters, page) in the address without rendering again, and `live(bool)` for the
// header's live indicator.

import { setKey } from "./api.js";
import { $, fill, h } from "./dom.js";

const views = new Map();
const NAMESPACE = "longtask.namespace";
let current = null;

export function register(view) {
  if (!/^[a-z][a-z0-9-]*$/.test(view.id)) throw new Error(`bad view id ${view.id}`);
  views.set(view.id, view);
}

export function link(view, namespace, path = [], query = {}) {
  const segments = [view, namespace, ...path].map((s) => encodeURIComponent(s));
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v));
  const search = params.toString();
  return `#/${segments.join("/")}${search ? `?${search}` : ""}`;
}

function defaultNamespace() {
  return sessionStorage.getItem(NAMESPACE) || "default";
}

// {view, namespace, path, query} of a location hash.
export function parse(hash) {
  const [rawPath, search = ""] = hash.replace(/^#\/?/, "").split("?");
  const segments = rawPath.split("/").filter(Boolean).map(decodeURIComponent);
  const [view = "overview", namespace = defaultNamespace(), ...path] = segments;
  return { view, namespace, path, query: new URLSearchParams(search) };
}

function setLive(on) {
  const live = $("#live");
  if (on === null) {
    live.textContent = "";
    live.className = "live";
    return;
  }
  live.textContent = on ? "live" : "reconnecting…";
  live.className = on ? "live on" : "live";
}

function renderNav(route) {
  const items = [...views.values()].filter((v) => v.nav);
  fill(
    $("#nav"),
    h(
      "ul",
      {},
      items.map((view) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: link(view.id, route.namespace),
              "aria-current": [route.view, views.get(route.view)?.section].includes(view.id)
                ? "page"
                : false,
            },
            view.title,
          ),
        ),
      ),
    ),
  );
}

function show(moveFocus) {
  const route = parse(location.hash);
  // A key in the address (the link `make run` prints) is kept for the tab, not in history.
  if (route.query.has("token")) {
    setKey(route.query.get("token"));
    route.query.delete("token");
    const query = Object.fromEntries(route.query);
    history.replaceState(null, "", link(route.view, route.namespace, route.path, query));
  }
  const view = views.get(route.view);
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller, route };
  sessionStorage.setItem(NAMESPACE, route.namespace);
  $("#namespace").value = route.namespace;
  renderNav(route);
  setLive(null);
  const root = $("#view");
  root.replaceChildren();
  if (!view) {
    document.title = "Not found · longtask";
    fill(root, h("h1", {}, "Not found"), h("p", {}, `There is no view "${route.view}".`));
    return;
  }
  document.title = `${view.title} · ${route.namespace} · longtask`;
  const ctx = {
    ...route,
    root,
    signal: controller.signal,
    link,
    live: (on) => current?.controller === controller && setLive(on),
    setTitle: (title) => {
      document.title = `${title} · longtask`;
    },
    setQuery: (query) => {
      ctx.query = new URLSearchParams(Object.entries(query).filter(([, v]) => v));
      history.replaceState(null, "", link(route.view, route.namespace, route.path, query));
    },
  };
  Promise.resolve(view.render(ctx)).catch((err) => {
    if (err.name === "AbortError") return;
    fill(root, h("p.error", { role: "alert" }, String(err.message || err)));
  });
  if (moveFocus) root.focus({ preventScroll: true });
}

export function start() {
  $("#ns-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const route = parse(location.hash);
    const namespace = $("#namespace").value.trim();
    // A page inside a section (a task) belongs to its namespace: another one opens the section.
    location.hash = link(views.get(route.view)?.section || route.view, namespace);
  });
  // The first dashboards linked ?namespace=NS: keep those links working.
  const legacy = new URLSearchParams(location.search).get("namespace");
  if (legacy && !location.hash) {
    history.replaceState(null, "", `/${link("tasks", legacy)}`);
  }
  window.addEventListener("hashchange", () => show(true));
  show(false);
}
