// Users: search and paging over all sources, create/edit, sync switch, "Synchronize users".
import {
  api, query, h, setError, showFieldError, clearErrors, announce, sourceBadge, getPath, profileIcon, markReady,
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
      ? `; ${result.skipped.length} skipped (their synchronization is switched off)` : "";
    status.textContent = `${result.synced.length} users synchronized${skipped}.`;
  } else {
    syncProgress.open();
    const job = await api("POST", "/users/sync", { all: true });
    const done = await syncProgress.follow(job, (j) => `${j.done}/${j.total} users, ${j.changed} contacts changed`);
    status.textContent = `Synchronization ${done.state}: ${done.done} users, ${done.changed} contacts changed, ${done.errors} errors.`;
  }
  announce(status.textContent);
  await list.load();
}));

// ---------------------------------------------------------------- the user dialog

const inputs = [...form.querySelectorAll("input[data-path], input[data-multi]")];
const syncSwitch = document.getElementById("u-sync");
const direction = document.getElementById("u-direction");
const readonlyNote = document.getElementById("user-readonly-note");
const deleteButton = document.getElementById("user-delete");
const deleteConfirm = document.getElementById("user-delete-confirm");

function multiValue(user, input) {
  const list = user[input.dataset.multi] || [];
  const item = list.find((e) => e.type === input.dataset.type);
  return item ? item.value : "";
}

function fillForm(user) {
  clearErrors(form);
  setError(formError, "");
  deleteConfirm.hidden = true;
  const local = !user || (kinds[user.source] || "local") === "local";
  for (const input of inputs) {
    input.value = !user ? "" : input.dataset.path ? (getPath(user, input.dataset.path) ?? "") : multiValue(user, input);
    input.readOnly = !local;
    input.toggleAttribute("aria-readonly", !local);
  }
  readonlyNote.hidden = local;
  readonlyNote.textContent = local ? "" :
    `This user comes from ${kinds[user.source] === "ldap" ? "LDAP source" : "SCIM client"} "${user.source}": ` +
    "its fields belong to that source and are read-only here. You can change its synchronization.";
  syncSwitch.checked = Boolean(user && user.syncToContact);
  direction.value = (user && user.syncDirection) || "";
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
  dialog.showModal();
  (inputs.find((i) => !i.readOnly) || syncSwitch).focus();
}

document.getElementById("create-user").addEventListener("click", () => {
  current = null;
  fillForm(null);
  dialog.showModal();
  inputs[0].focus();
});

document.getElementById("user-cancel").addEventListener("click", () => dialog.close());

function setPath(target, path, value) {
  const urn = path.match(/^(urn:.*):([^:]+)$/);
  if (urn) {
    target[urn[1]] = { ...(target[urn[1]] || {}), [urn[2]]: value };
    return;
  }
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    node[key] = { ...(node[key] || {}) };
    node = node[key];
  }
  node[keys.at(-1)] = value;
}

function attributesFromForm(base) {
  const out = {};
  for (const input of inputs.filter((i) => i.dataset.path)) {
    setPath(out, input.dataset.path, input.value.trim() || null);
  }
  for (const attr of ["emails", "phoneNumbers"]) {
    let list = [...((base && base[attr]) || [])];
    for (const input of inputs.filter((i) => i.dataset.multi === attr)) {
      const value = input.value.trim();
      const index = list.findIndex((e) => e.type === input.dataset.type);
      if (index >= 0 && !value) list.splice(index, 1);
      else if (index >= 0) list[index] = { ...list[index], value };
      else if (value) list.push({ type: input.dataset.type, value });
    }
    out[attr] = list.length ? list : null;
  }
  return out;
}

function stripNulls(value) {
  if (Array.isArray(value)) return value;
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, v] of Object.entries(value)) {
      const cleaned = stripNulls(v);
      if (cleaned !== null && !(typeof cleaned === "object" && !Array.isArray(cleaned) && !Object.keys(cleaned).length)) out[key] = cleaned;
    }
    return out;
  }
  return value;
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
      saved = await api("POST", "/users", { ...stripNulls(attributesFromForm(null)), ...sync });
    } else {
      const local = (kinds[current.source] || "local") === "local";
      const body = local ? { ...attributesFromForm(current), ...sync } : sync;
      saved = await api("PATCH", `/users/${encodeURIComponent(current.id)}`, body);
    }
    dialog.close();
    const status = document.getElementById("sync-status");
    status.textContent = `Saved user ${saved.userName}.`;
    announce(status.textContent);
    await list.load();
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
    document.getElementById("sync-status").textContent = `Deleted user ${current.userName}.`;
    selected.delete(current.id);
    await list.load();
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
    const [sources, settings] = await Promise.all([api("GET", "/sources"), api("GET", "/settings")]);
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
