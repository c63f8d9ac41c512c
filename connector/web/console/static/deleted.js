// Recently deleted: users and contacts pending deletion (restorable until their purge
// date), and the users an admin deleted that their directory must not bring back.
import { api, query, h, formatTime, announce, setError, markReady } from "./console.js";
import { pagedTable } from "./table.js";
import { whileBusy } from "./actions.js";

const form = document.getElementById("deleted-filter");
const status = document.getElementById("deleted-status");

function filters() {
  return { source: form.elements.source.value.trim(), kind: form.elements.kind.value };
}

async function liftSuppression(id, button, errorSlot) {
  await whileBusy(button, errorSlot, async () => {
    await api("DELETE", `/deleted/suppressions/${encodeURIComponent(id)}`);
    status.textContent = "Suppression lifted: the source may bring the user back.";
    announce(status.textContent);
    await Promise.all([list.load(), loadSuppressions()]);
  });
}

function row(item) {
  const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
  const restore = h("button", {
    type: "button", class: "btn primary", "aria-label": `Restore ${item.name}`,
    onclick: (event) => whileBusy(event.target, errorSlot, async () => {
      await api("POST", `/deleted/${encodeURIComponent(item.id)}/restore`);
      status.textContent = `${item.name} restored${item.contactId ? " with its contact" : ""}.`;
      announce(status.textContent);
      await Promise.all([list.load(), loadSuppressions()]);
    }),
  }, "Restore");
  const lift = item.suppressionId == null ? "" : h("button", {
    type: "button", class: "btn", "aria-label": `Lift the suppression of ${item.name}`,
    onclick: (event) => liftSuppression(item.suppressionId, event.target, errorSlot),
  }, "Lift suppression");
  const held = item.state === "held";
  return h("tr", { dataset: { deleted: item.id, state: item.state } },
    h("td", {}, item.name, item.reason ? h("span", { class: "reason" }, item.reason) : ""),
    h("td", {}, item.kind === "user" ? (item.contactDeleted ? "user and contact" : "user") : "contact"),
    h("td", {}, item.source || "—"),
    h("td", {}, h("time", { datetime: item.deletedAt }, formatTime(item.deletedAt))),
    h("td", {}, item.deletedBy),
    h("td", {}, held ? "held: never, until confirmed" : formatTime(item.purgeAfter)),
    h("td", {}, h("span", { class: `badge ${held ? "blocked" : "local"}` }, held ? "held by the guard" : "pending"),
      item.suppressionId == null ? "" : h("span", { class: "badge local" }, "suppressed")),
    h("td", {}, restore, " ", lift, errorSlot),
  );
}

const list = pagedTable({
  table: document.getElementById("deleted-table"),
  fetchPage: (page) => api("GET", "/deleted" + query({ ...filters(), ...page })),
  renderRow: row,
  emptyText: "Nothing deleted is waiting for its purge.",
  errorSlot: document.getElementById("deleted-error"),
  searchForm: form,
});

async function loadSuppressions() {
  const slot = document.getElementById("suppressions-error");
  const body = document.querySelector("#suppressions-table tbody");
  setError(slot, "");
  let page;
  try {
    page = await api("GET", "/deleted/suppressions" + query({ source: filters().source, count: 200 }));
  } catch (error) {
    setError(slot, error.message);
    return;
  }
  body.replaceChildren(...(page.items.length ? page.items.map((s) => {
    const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
    return h("tr", { dataset: { suppression: s.id } },
      h("td", {}, s.userName), h("td", {}, s.source || "—"), h("td", {}, h("code", {}, s.key)),
      h("td", {}, formatTime(s.deletedAt)), h("td", {}, s.deletedBy),
      h("td", {}, h("button", {
        type: "button", class: "btn", "aria-label": `Lift the suppression of ${s.userName}`,
        onclick: (event) => liftSuppression(s.id, event.target, errorSlot),
      }, "Lift"), errorSlot));
  }) : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No suppressed users."))]));
}

Promise.all([list.load(), loadSuppressions()]).then(() => { markReady(); });
