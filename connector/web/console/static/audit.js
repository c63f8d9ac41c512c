// Audit log: newest first, filters by object, actor and action, before/after of each change.
// The actions the filter offers come from the server (the page's datalist).
import { api, query, h, formatTime, markReady } from "./console.js";
import { pagedTable } from "./table.js";

const form = document.getElementById("audit-filter");
const KEYS = ["objectType", "objectId", "actor", "action"];

function filters() {
  return Object.fromEntries(KEYS.map((k) => [k, form.elements[k].value.trim()]));
}

function show(value) {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function changes(event) {
  const before = event.before || {};
  const after = event.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  if (!keys.length) return event.message || "";
  const list = h("dl", { class: "diff" },
    h("dt", {}, "field"), h("dd", {}, "before"), h("dd", {}, "after"),
    keys.map((k) => [
      h("dt", {}, k),
      h("dd", { class: "before" }, event.before ? show(before[k]) : "—"),
      h("dd", { class: "after" }, event.after ? show(after[k]) : "—"),
    ]));
  return h("details", { class: "change" },
    h("summary", {}, `${keys.length} field${keys.length === 1 ? "" : "s"}${event.message ? " — " + event.message : ""}`), list);
}

function objectCell(event) {
  const id = event.objectId || "";
  const link = h("a", {
    href: "?" + new URLSearchParams({ objectType: event.objectType, objectId: id }),
    title: "Show this object's history",
  }, id);
  return h("td", {}, h("span", { class: "badge local" }, event.objectType), " ", id ? link : "");
}

function row(e) {
  return h("tr", { dataset: { action: e.action } },
    h("td", {}, h("time", { datetime: e.at }, formatTime(e.at))),
    h("td", {}, e.actor),
    h("td", {}, e.action),
    objectCell(e),
    h("td", {}, h("span", { class: `badge ${e.outcome}` }, e.outcome)),
    h("td", {}, changes(e)),
  );
}

const list = pagedTable({
  table: document.getElementById("audit-table"),
  fetchPage: (page) => api("GET", "/audit" + query({ ...filters(), ...page })),
  renderRow: row,
  emptyText: "No events match.",
  errorSlot: document.getElementById("audit-error"),
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const params = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
  history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
  list.search();
});
form.addEventListener("reset", () => {
  setTimeout(() => {
    history.replaceState(null, "", location.pathname);
    list.search();
  });
});

const params = new URLSearchParams(location.search);
for (const key of KEYS) if (params.get(key)) form.elements[key].value = params.get(key);
list.load().then(() => { markReady(); });
