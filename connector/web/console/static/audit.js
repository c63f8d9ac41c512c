// Audit log: newest first, filters by object, actor and action, before/after of each change.
// The actions the filter offers come from the server (the page's datalist).
import { api, query, h, formatTime, markReady, plural } from "./console.js";
import { pagedTable } from "./table.js";

const form = document.getElementById("audit-filter");
const KEYS = ["objectType", "objectId", "actor", "action"];

function filters() {
  return Object.fromEntries(KEYS.map((k) => [k, form.elements[k].value.trim()]));
}

function show(value) {
  if (value === undefined || value === null) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The event's changes (rows the API made: field, before, after) as a table under a summary. */
function changes(event) {
  const rows = event.changes || [];
  if (!rows.length) return event.message || "";
  const table = h("table", { class: "diff" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Before"), h("th", { scope: "col" }, "After"))),
    h("tbody", {}, rows.map((r) => h("tr", {},
      h("th", { scope: "row" }, r.field),
      h("td", { class: "before" }, show(r.before)),
      h("td", { class: "after" }, show(r.after))))));
  return h("details", { class: "change" },
    h("summary", {}, plural(rows.length, "field") + (event.message ? " — " + event.message : "")), table);
}

function objectCell(event) {
  const id = event.objectId || "";
  const link = h("a", {
    href: "?" + new URLSearchParams({ objectType: event.objectType, objectId: id }),
    title: `Show this object's history (id ${id})`,
  }, event.objectName || id);
  return h("td", { class: "object" }, h("span", { class: "badge local" }, event.objectType), " ", id ? link : "");
}

function row(e) {
  return h("tr", { dataset: { action: e.action } },
    h("td", {}, h("time", { datetime: e.at }, formatTime(e.at))),
    h("td", {}, e.actor),
    h("td", {}, e.action),
    objectCell(e),
    h("td", {}, h("span", { class: `badge ${e.outcome}` }, e.outcome)),
    h("td", { class: "changes" }, changes(e)),
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
