// Contacts: the address book; synchronized contacts are read-only while the user is the source.
import { api, query, h, setError, showFieldError, clearErrors, announce, profileIcon, markReady } from "./console.js";
import { pagedTable } from "./table.js";
import { confirmInPlace } from "./actions.js";

const listError = document.getElementById("list-error");
const status = document.getElementById("contacts-status");
const search = document.getElementById("search");
const managedFilter = document.getElementById("managed-filter");
const sortOrder = document.getElementById("sort-order");
const dialog = document.getElementById("contact-dialog");
const form = document.getElementById("contact-form");
const formError = document.getElementById("contact-form-error");
const fieldsBox = document.getElementById("contact-fields");
let catalogue = [];
let current = null;

function fullName(c) {
  const f = c.fields;
  return f.displayName || [f.title, f.firstName, f.lastName].filter(Boolean).join(" ") || f.email || "(no name)";
}

function isLocked(contact) {
  return Boolean(contact.managedBy) && contact.managedBy.readOnly;
}

// The API's reason, from the one rule in the services: a user of an identity provider
// or directory keeps its contact read-only even when the direction is reversed.
function lockReason(managedBy) {
  if (managedBy.source && managedBy.source !== "local") {
    const reason = managedBy.reason || "";
    return ["Read-only: synchronized from user ", userLink(managedBy), ". ",
      reason.charAt(0).toUpperCase() + reason.slice(1), "."];
  }
  return ["Read-only: synchronized from user ", userLink(managedBy),
    ", its data source. Edit the user instead, or switch off its synchronization."];
}

function userLink(managedBy) {
  return h("a", { href: `/admin/users?open=${encodeURIComponent(managedBy.userId)}` }, managedBy.userName);
}

function row(contact) {
  const locked = isLocked(contact);
  const reasonId = `reason-${contact.id}`;
  const name = fullName(contact);
  const actions = h("td", { class: "actions" },
    h("button", {
      type: "button", class: "btn edit", disabled: locked, "aria-describedby": locked ? reasonId : null,
      "aria-label": `Edit ${name}`, onclick: () => openContact(contact),
    }, "Edit"), " ",
    h("button", {
      type: "button", class: "btn danger delete", disabled: locked, "aria-describedby": locked ? reasonId : null,
      "aria-label": `Delete ${name}`, onclick: () => confirmDelete(contact, tr),
    }, "Delete"), " ",
    h("a", {
      class: "btn", href: `/api/v1/contacts/${encodeURIComponent(contact.id)}.vcf`, download: `${contact.id}.vcf`,
      "aria-label": `Download ${name} as vCard`,
    }, "vCard"),
  );
  // The badge goes into the name's cell: a row has as many cells as the table has columns.
  const nameCell = h("td", { class: "name" }, name,
    contact.active ? "" : [" ", h("span", { class: "badge error", title: "The contact is inactive" }, "inactive")]);
  if (contact.managedBy) {
    nameCell.append(locked
      ? h("span", { class: "reason", id: reasonId }, ...lockReason(contact.managedBy))
      : h("span", { class: "reason", id: reasonId },
        "Synchronized with user ", userLink(contact.managedBy),
        "; the direction is reversed, so edits here flow back to the user."));
  }
  const f = contact.fields;
  const tr = h("tr", {
    dataset: { id: contact.id, managed: contact.managedBy ? "true" : "false" },
    ondblclick: () => { if (!locked) openContact(contact); },
  },
    h("td", {}, contact.managedBy ? profileIcon(`Synchronized contact of user ${contact.managedBy.userName}`) : ""),
    nameCell,
    h("td", {}, f.email || ""),
    h("td", { class: "nowrap" }, f.phone || f.mobile || ""),
    h("td", {}, [f.company, f.department].filter(Boolean).join(" / ")),
    actions,
  );
  return tr;
}

function confirmDelete(contact, tr) {
  confirmInPlace(tr.querySelector(".actions"), {
    question: "Delete this contact? ",
    yes: "Delete for good",
    onYes: async () => {
      await api("DELETE", `/contacts/${encodeURIComponent(contact.id)}`);
      status.textContent = `Deleted contact ${fullName(contact)}.`;
      announce(status.textContent);
      await list.load();
      focusAfterReload(null);
    },
    onNo: async () => {
      await list.load();
      focusAfterReload(contact.id, "button.delete");
    },
  });
}

/** After the table was drawn again: focus that row's control, else "Create contact" (never nothing). */
function focusAfterReload(id, selector = "button.edit") {
  const row = id && document.querySelector(`#contacts-table tr[data-id="${CSS.escape(id)}"]`);
  const target = row && row.querySelector(`${selector}:not(:disabled)`);
  (target || document.getElementById("create-contact")).focus();
}

const list = pagedTable({
  table: document.getElementById("contacts-table"),
  fetchPage: (page) => {
    const [sortBy, order] = sortOrder.value.split(":");
    return api("GET", "/contacts" + query({
      q: search.value.trim(), managed: managedFilter.value, sortBy, sortOrder: order, ...page,
    }));
  },
  renderRow: row,
  emptyText: "No contacts found.",
  errorSlot: listError,
  searchForm: document.getElementById("search-form"),
  searchInput: search,
  statusSlot: status,
});

function buildFields() {
  fieldsBox.replaceChildren(...catalogue.map((f) => h("div", { class: "field" },
    h("label", { for: `c-${f.id}` }, f.label),
    h("input", {
      id: `c-${f.id}`, name: f.id, dataset: { field: f.id },
      type: { email: "email", tel: "tel" }[f.type] || "text",
    }),
    h("p", { class: "error", "data-error-for": f.id, hidden: true }),
  )));
}

function openContact(contact) {
  current = contact;
  clearErrors(form);
  setError(formError, "");
  for (const input of fieldsBox.querySelectorAll("input")) {
    input.value = contact ? contact.fields[input.dataset.field] || "" : "";
  }
  const note = document.getElementById("contact-note");
  note.hidden = !(contact && contact.managedBy);
  note.replaceChildren();
  if (contact && contact.managedBy) {
    note.append("Synchronized with user ", userLink(contact.managedBy),
      " (direction reversed): your changes are written back to the user's mapped fields.");
  }
  document.getElementById("contact-dialog-title").textContent = contact ? `Edit ${fullName(contact)}` : "Create contact";
  dialog.showModal();
  fieldsBox.querySelector("input").focus();
}

document.getElementById("create-contact").addEventListener("click", () => openContact(null));
document.getElementById("contact-cancel").addEventListener("click", () => dialog.close());

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  setError(formError, "");
  const fields = {};
  for (const input of fieldsBox.querySelectorAll("input")) {
    if (input.value.trim()) fields[input.dataset.field] = input.value.trim();
  }
  try {
    const saved = current
      ? await api("PUT", `/contacts/${encodeURIComponent(current.id)}`, { fields })
      : await api("POST", "/contacts", { fields });
    dialog.close();
    status.textContent = `Saved contact ${fullName(saved)}.`;
    announce(status.textContent);
    await list.load();
    focusAfterReload(saved.id);
  } catch (error) {
    showFieldError(form, error, formError);
  }
});

managedFilter.addEventListener("change", () => list.search());
sortOrder.addEventListener("change", () => list.search());

async function start() {
  try {
    catalogue = (await api("GET", "/fields")).contact;
    buildFields();
  } catch (error) {
    setError(listError, error.message);
  }
  const params = new URLSearchParams(location.search);
  if (params.get("q")) search.value = params.get("q");
  await list.load();
  markReady();
}

start();
