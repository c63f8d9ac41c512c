// Users: search and paging over all sources, create/edit, sync switch, "Synchronize users".
import {
  api, query, h, setError, showFieldError, clearErrors, announce, sourceBadge, profileIcon, markReady, plural,
} from "./console.js";
import { pagedTable } from "./table.js";
import { confirmInPlace, jobProgress, whileBusy } from "./actions.js";

const table = document.querySelector("#users-table tbody");
const searchInput = document.getElementById("search");
const searchError = document.getElementById("search-error");
const syncButton = document.getElementById("sync-users");
const selectPage = document.getElementById("select-page");
const dialog = document.getElementById("user-dialog");
const form = document.getElementById("user-form");
const formError = document.getElementById("user-form-error");
const selected = new Set();
let kinds = {};
let globalDirection = "user_to_contact";
let current = null; // the user being edited, or null when creating
let rows = [];

function filterFor(text) {
  const q = text.trim();
  if (!q) return "";
  if (/\s(eq|ne|co|sw|ew|gt|ge|lt|le|pr)(\s|$)/i.test(q)) return q; // a SCIM filter as typed
  const quoted = JSON.stringify(q);
  return `userName co ${quoted} or displayName co ${quoted} or name.familyName co ${quoted} or emails.value co ${quoted}`;
}

function workEmail(user) {
  const emails = user.emails || [];
  const work = emails.find((e) => e.type === "work") || emails.find((e) => e.primary) || emails[0];
  return work ? work.value : "";
}

function nameOf(user) {
  if (user.displayName) return user.displayName;
  const n = user.name || {};
  return [n.givenName, n.familyName].filter(Boolean).join(" ");
}

function row(user, index) {
  const checkbox = h("input", {
    type: "checkbox", "aria-label": `Select ${user.userName}`, checked: selected.has(user.id),
    onchange: (event) => {
      if (event.target.checked) selected.add(user.id); else selected.delete(user.id);
      tr.classList.toggle("selected", event.target.checked);
      updateSyncLabel();
    },
    onclick: (event) => event.stopPropagation(),
    onkeydown: (event) => event.stopPropagation(),
  });
  // Roving focus: one row is in the tab order; the arrow keys move between rows.
  const tr = h("tr", {
    tabindex: index === 0 ? 0 : -1, dataset: { id: user.id }, class: selected.has(user.id) ? "selected" : null,
    onfocus: () => {
      for (const other of table.querySelectorAll("tr[tabindex]")) other.tabIndex = other === tr ? 0 : -1;
    },
    "aria-label": `${user.userName}: press Enter to open`,
    ondblclick: () => openUser(user.id),
    onkeydown: (event) => {
      if (event.key === "Enter") { event.preventDefault(); openUser(user.id); }
      if (event.key === "ArrowDown" && tr.nextElementSibling) tr.nextElementSibling.focus();
      if (event.key === "ArrowUp" && tr.previousElementSibling) tr.previousElementSibling.focus();
    },
  },
    h("td", { class: "check" }, checkbox),
    h("td", {}, user.userName),
    h("td", {}, nameOf(user)),
    h("td", {}, workEmail(user)),
    h("td", {}, sourceBadge(user.source, kinds[user.source])),
    h("td", { class: "sync-state" }, user.syncToContact ? "On" : "Off"),
    h("td", {}, user.contactId && user.syncToContact
      ? h("a", { href: `/admin/contacts?q=${encodeURIComponent(user.userName)}`, title: "Open the contact" },
        profileIcon(`Synchronized contact of ${user.userName}`))
      : ""),
  );
  return tr;
}

const list = pagedTable({
  table: document.getElementById("users-table"),
  fetchPage: (page) => api("GET", "/users" + query({ filter: filterFor(searchInput.value), ...page })),
  renderRow: row,
  emptyText: "No users found.",
  errorSlot: searchError,
  searchForm: document.getElementById("search-form"),
  searchInput,
  statusSlot: document.getElementById("sync-status"),
  onLoaded: (items) => {
    rows = items;
    selectPage.checked = rows.length > 0 && rows.every((u) => selected.has(u.id));
    updateSyncLabel();
  },
});

function updateSyncLabel() {
  syncButton.textContent = selected.size
    ? `Synchronize selected users (${selected.size})`
    : "Synchronize all users";
}

selectPage.addEventListener("change", () => {
  for (const user of rows) {
    if (selectPage.checked) selected.add(user.id); else selected.delete(user.id);
  }
  list.load();
});

// ---------------------------------------------------------------- "Synchronize users"

const syncError = document.getElementById("sync-error");
const syncProgress = jobProgress(document.getElementById("sync-job"), syncError);

syncButton.addEventListener("click", () => whileBusy(syncButton, syncError, async () => {
  const status = document.getElementById("sync-status");
  status.textContent = "";
  if (selected.size) {
    const ids = [...selected];
    syncProgress.show(0, ids.length, `0/${ids.length}`);
    const result = await api("POST", "/users/sync", { ids });
    syncProgress.show(ids.length, ids.length, `${ids.length}/${ids.length}`);
    const skipped = result.skipped.length
      ? `; ${result.skipped.length} skipped (synchronization switched off)` : "";
    status.textContent = `${plural(result.synced.length, "user")} synchronized${skipped}.`;
  } else {
    syncProgress.open();
    const job = await api("POST", "/users/sync", { all: true });
    const done = await syncProgress.follow(job, (j) => `${j.done}/${plural(j.total, "user")}, ${plural(j.changed, "contact")} changed`);
    status.textContent = `Synchronization ${done.state}: ${plural(done.done, "user")}, ${plural(done.changed, "contact")} changed, ${plural(done.errors, "error")}.`;
  }
  announce(status.textContent);
  await list.load();
}));

// ---------------------------------------------------------------- the user dialog

// One input per catalogued user field, built from GET /fields (the catalogue is data,
// so a configured catalogue gets its own form); values go by path under "fields".
const fieldsBox = document.getElementById("user-fields");
let inputs = [];
const INPUT_TYPES = { email: "email", tel: "tel" };

function inputId(path) {
  const short = path.replace(/^urn:.*:User:/, "");
  return "u-" + short.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function buildFields(catalogue) {
  fieldsBox.replaceChildren(...catalogue.map((f) => h("div", { class: "field" },
    h("label", { for: inputId(f.id) }, f.label),
    h("input", {
      id: inputId(f.id), type: INPUT_TYPES[f.type] || "text", dataset: { field: f.id },
      required: f.id === "userName", autocomplete: "off",
    }),
    h("p", { class: "error", "data-error-for": f.id, hidden: true }),
  )));
  inputs = [...fieldsBox.querySelectorAll("input[data-field]")];
}

const syncSwitch = document.getElementById("u-sync");
const direction = document.getElementById("u-direction");
const readonlyNote = document.getElementById("user-readonly-note");
const deleteButton = document.getElementById("user-delete");
const deleteConfirm = document.getElementById("user-delete-confirm");

function fillForm(user) {
  clearErrors(form);
  setError(formError, "");
  deleteConfirm.hidden = true;
  const local = !user || (kinds[user.source] || "local") === "local";
  for (const input of inputs) {
    input.value = (user && user.fields && user.fields[input.dataset.field]) || "";
    input.readOnly = !local;
    input.toggleAttribute("aria-readonly", !local);
  }
  readonlyNote.hidden = local;
  readonlyNote.textContent = local ? "" :
    `This user comes from ${kinds[user.source] === "ldap" ? "LDAP source" : "SCIM client"} "${user.source}": ` +
    "its fields belong to that source and are read-only here. You can change its synchronization.";
  syncSwitch.checked = Boolean(user && user.syncToContact);
  showSyncOrigin(user, local);
  direction.value = (user && user.syncDirection) || "";
  // Reversal makes the contact the source for local users only (a source would
  // overwrite what flows back from the contact); the API refuses it for the others.
  const reversed = direction.querySelector('option[value="contact_to_user"]');
  reversed.disabled = !local;
  reversed.textContent = local ? "Contact → user (reversed)"
    : `Contact → user (not for users of source "${user.source}")`;
  direction.options[0].textContent = `Global setting (${globalDirection === "contact_to_user" ? "contact → user" : "user → contact"})`;
  deleteButton.hidden = !user;
  const link = document.getElementById("u-contact-link");
  link.replaceChildren();
  if (user && user.contactId) {
    link.append(user.syncToContact ? "Synchronized with " : "Paused link to ",
      h("a", { href: `/admin/contacts?q=${encodeURIComponent(user.userName)}` }, "its contact"), ".");
  }
  document.getElementById("user-dialog-title").textContent = user ? `User ${user.userName}` : "Create user";
}

// ---------------------------------------------------------------- why (not) synchronized

const explanation = document.getElementById("user-explanation");
const explanationText = document.getElementById("user-explanation-text");

async function explain(user) {
  explanation.hidden = true;
  explanationText.replaceChildren();
  if (!user) return;
  let said;
  try {
    said = await api("GET", `/users/${encodeURIComponent(user.id)}/explanation`);
  } catch (error) {
    explanationText.replaceChildren(h("p", { class: "error" }, `Cannot say: ${error.message}`));
    explanation.hidden = false;
    return;
  }
  if (!current || current.id !== user.id) return; // another user's dialog meanwhile
  const parts = said.summary.map((line) => h("p", {}, line));
  const differences = said.link.differences;
  if (differences.length) {
    const empty = () => h("em", {}, "empty");
    parts.push(h("table", { class: "grid", id: "user-explanation-fields" },
      h("caption", {}, "Contact fields the current mapping would change"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Contact field"),
        h("th", { scope: "col" }, "In the contact"), h("th", { scope: "col" }, "Would be"))),
      h("tbody", {}, differences.map((d) => h("tr", {}, h("td", {}, d.field),
        h("td", {}, d.current ?? empty()), h("td", {}, d.wouldBe ?? empty()))))));
  }
  explanationText.replaceChildren(...parts);
  explanation.hidden = false;
}

/**
 * Who decides the switch of a SCIM or LDAP user: its source's sync scope, or an admin
 * (an override the scope does not undo, until "Follow the source"). A local user's
 * switch is always the admin's, so nothing is said.
 */
function showSyncOrigin(user, local) {
  const origin = document.getElementById("u-sync-origin");
  const follow = document.getElementById("u-follow-source");
  origin.hidden = local;
  follow.hidden = local || user.syncToContactSetBy !== "admin";
  if (local) return;
  const changed = syncSwitch.checked !== Boolean(user.syncToContact);
  if (changed) {
    origin.textContent = "Saving makes this an admin's choice: the source's sync scope will not change it.";
  } else if (user.syncToContactSetBy === "admin") {
    origin.textContent = "Set by an admin: the source's sync scope does not change it.";
  } else {
    origin.textContent = `From the source's scope: source "${user.source}" decides, and may change it on its next update.`;
  }
  origin.dataset.setBy = changed ? "admin" : user.syncToContactSetBy;
}

syncSwitch.addEventListener("change", () => {
  if (current) showSyncOrigin(current, (kinds[current.source] || "local") === "local");
});

document.getElementById("u-follow-source").addEventListener("click", (event) => whileBusy(event.target, formError, async () => {
  clearErrors(form);
  const user = await api("PATCH", `/users/${encodeURIComponent(current.id)}`, { syncToContact: null });
  current = user;
  fillForm(user);
  const status = document.getElementById("sync-status");
  status.textContent = `User ${user.userName} follows its source's scope again (synchronization ${user.syncToContact ? "on" : "off"}).`;
  announce(status.textContent);
  syncSwitch.focus();
  await list.load();
}));

async function openUser(id) {
  let user;
  try {
    user = await api("GET", `/users/${encodeURIComponent(id)}`);
  } catch (error) {
    setError(searchError, error.message);
    return;
  }
  current = user;
  fillForm(user);
  explain(user);
  dialog.showModal();
  (inputs.find((i) => !i.readOnly) || syncSwitch).focus();
}

document.getElementById("create-user").addEventListener("click", () => {
  current = null;
  fillForm(null);
  explain(null);
  dialog.showModal();
  inputs[0].focus();
});

document.getElementById("user-cancel").addEventListener("click", () => dialog.close());

/** The form's values by field path: all of them (empty ones as null, which clears
 * them) for an edit, only the filled ones for a new user. */
function fieldsFromForm(all) {
  const out = {};
  for (const input of inputs) {
    const value = input.value.trim();
    if (value || all) out[input.dataset.field] = value || null;
  }
  return out;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  setError(formError, "");
  const save = document.getElementById("user-save");
  save.disabled = true;
  try {
    const sync = { syncToContact: syncSwitch.checked, syncDirection: direction.value || null };
    let saved;
    if (!current) {
      saved = await api("POST", "/users", { fields: fieldsFromForm(false), ...sync });
    } else {
      const local = (kinds[current.source] || "local") === "local";
      // An unchanged switch of a SCIM or LDAP user is not sent: sending it would make
      // the source's decision an admin's override.
      if (!local && syncSwitch.checked === Boolean(current.syncToContact)) delete sync.syncToContact;
      const body = local ? { fields: fieldsFromForm(true), ...sync } : sync;
      saved = await api("PATCH", `/users/${encodeURIComponent(current.id)}`, body);
    }
    dialog.close();
    await list.load(); // the table shows the saved user before the message says so
    const status = document.getElementById("sync-status");
    status.textContent = `Saved user ${saved.userName}.`;
    announce(status.textContent);
    const again = table.querySelector(`tr[data-id="${CSS.escape(saved.id)}"]`);
    if (again) again.focus();
  } catch (error) {
    showFieldError(form, error, formError);
  } finally {
    save.disabled = false;
  }
});

deleteButton.addEventListener("click", () => confirmInPlace(deleteConfirm, {
  question: "Delete this user for good?",
  yes: "Delete",
  ids: "user-delete",
  errorSlot: formError,
  onYes: async () => {
    await api("DELETE", `/users/${encodeURIComponent(current.id)}`);
    dialog.close();
    selected.delete(current.id);
    await list.load();
    document.getElementById("sync-status").textContent = `Deleted user ${current.userName}.`;
    // The opener's row is gone: focus the first user (or "Create user"), never nothing.
    (table.querySelector("tr[tabindex]") || document.getElementById("create-user")).focus();
  },
  onNo: () => {
    deleteConfirm.hidden = true;
    deleteButton.focus();
  },
}));

// ---------------------------------------------------------------- start

async function start() {
  try {
    const [sources, settings, catalogue] = await Promise.all([
      api("GET", "/sources"), api("GET", "/settings"), api("GET", "/fields"),
    ]);
    buildFields(catalogue.user);
    kinds = Object.fromEntries(sources.items.map((s) => [s.name, s.kind]));
    globalDirection = settings.direction;
  } catch (error) {
    setError(searchError, error.message);
  }
  const params = new URLSearchParams(location.search);
  if (params.get("q")) searchInput.value = params.get("q");
  await list.load();
  if (params.get("open")) await openUser(params.get("open"));
  markReady();
}

start();
