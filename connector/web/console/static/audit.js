// Audit log: newest first, filters by object, actor and action, before/after of each change.
import { api, query, h, setError, pager, formatTime, markReady } from "./console.js";

const table = document.querySelector("#audit-table tbody");
const form = document.getElementById("audit-filter");
const errorSlot = document.getElementById("audit-error");
const KEYS = ["objectType", "objectId", "actor", "action"];
const ACTIONS = [
  "user.create", "user.update", "user.delete", "user.sync", "user.direction",
  "contact.create", "contact.update", "contact.delete", "link.pause", "link.resume", "link.remove",
  "mapping.save", "mapping.clear", "mapping.reset", "settings.update", "source.scope",
  "group.create", "group.update", "group.delete", "token.create", "token.revoke",
  "job.resync_contacts", "job.sync_users", "admin.signin", "admin.signout", "admin.create",
];

const paging = pager(document, () => load());

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

async function load() {
  setError(errorSlot, "");
  let page;
  try {
    page = await api("GET", "/audit" + query({ ...filters(), startIndex: paging.start, count: paging.count }));
  } catch (error) {
    setError(errorSlot, error.message);
    return;
  }
  table.replaceChildren(...(page.items.length ? page.items.map((e) => h("tr", { dataset: { action: e.action } },
    h("td", {}, h("time", { datetime: e.at }, formatTime(e.at))),
    h("td", {}, e.actor),
    h("td", {}, e.action),
    objectCell(e),
    h("td", {}, h("span", { class: `badge ${e.outcome}` }, e.outcome)),
    h("td", {}, changes(e)),
  )) : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No events match."))]));
  paging.update(page.total, page.items.length);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  paging.start = 1;
  const params = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
  history.replaceState(null, "", params.toString() ? "?" + params : location.pathname);
  load();
});
form.addEventListener("reset", () => {
  setTimeout(() => {
    paging.start = 1;
    history.replaceState(null, "", location.pathname);
    load();
  });
});

const params = new URLSearchParams(location.search);
for (const key of KEYS) if (params.get(key)) form.elements[key].value = params.get(key);
document.getElementById("actions").replaceChildren(...ACTIONS.map((a) => h("option", { value: a })));
load().then(() => { markReady(); });
