// Synchronized users: direction and delete toggles, the field mapping, "Update all synchronized users".
import { api, h, setError, announce, clearErrors, markReady, plural } from "./console.js";
import { confirmInPlace, jobProgress, whileBusy } from "./actions.js";

const body = document.querySelector("#mapping-table tbody");
const mappingError = document.getElementById("mapping-error");
const mappingStatus = document.getElementById("mapping-status");
const settingsStatus = document.getElementById("settings-status");
const staleCount = document.getElementById("stale-count");
let fields = { user: [], contact: [] };
let rows = []; // [{userField, contactField}] being edited
let loadedVersion = null; // the mapping version the rows were loaded from
let settings = {};

// ---------------------------------------------------------------- settings

function showSettings() {
  document.getElementById("dir-user").checked = settings.direction === "user_to_contact";
  document.getElementById("dir-contact").checked = settings.direction === "contact_to_user";
  document.getElementById("deleteContactWithUser").checked = Boolean(settings.deleteContactWithUser);
  document.getElementById("deleteUserWithContact").checked = Boolean(settings.deleteUserWithContact);
  const reversed = settings.direction === "contact_to_user";
  document.getElementById("deleteUserWithContact-row").hidden = !reversed;
  document.getElementById("direction-warning").classList.toggle("strong", reversed);
}

async function saveSetting(key, value, control) {
  const slot = document.querySelector(`[data-error-for="${key}"]`);
  setError(slot, "");
  settingsStatus.textContent = "";
  try {
    settings = await api("PATCH", "/settings", { [key]: value });
    settingsStatus.textContent = "Setting saved.";
    announce("Setting saved.");
  } catch (error) {
    setError(slot, error.message);
    control.focus();
  }
  showSettings();
}

// Reversing the direction can delete users: it is asked for under the warning first.
const directionConfirm = document.getElementById("direction-confirm");
for (const radio of document.querySelectorAll('input[name="direction"]')) {
  radio.addEventListener("change", () => {
    directionConfirm.hidden = true;
    if (radio.value !== "contact_to_user") {
      saveSetting("direction", radio.value, radio);
      return;
    }
    confirmInPlace(directionConfirm, {
      question: "Reverse the direction? Contacts become the data source: deleting a contact can delete its user.",
      yes: "Reverse the direction",
      no: "Keep user → contact",
      ids: "direction-confirm",
      errorSlot: document.querySelector('[data-error-for="direction"]'),
      onYes: async () => {
        directionConfirm.hidden = true;
        await saveSetting("direction", radio.value, radio);
      },
      onNo: () => {
        directionConfirm.hidden = true;
        showSettings();
        document.getElementById("dir-user").focus();
      },
    });
  });
}
for (const key of ["deleteContactWithUser", "deleteUserWithContact"]) {
  const control = document.getElementById(key);
  control.addEventListener("change", () => saveSetting(key, control.checked, control));
}

// ---------------------------------------------------------------- mapping rows

function labelOf(side, id) {
  const field = fields[side].find((f) => f.id === id);
  return field ? field.label : id;
}

function select(side, index) {
  const key = side === "user" ? "userField" : "contactField";
  const usedElsewhere = new Set(rows.filter((_, i) => i !== index).map((r) => r[key]));
  const value = rows[index][key];
  const control = h("select", {
    id: `row-${index}-${side}`,
    "aria-label": `${side === "user" ? "User field" : "Contact field"}, row ${index + 1}`,
    onchange: (event) => {
      rows[index][key] = event.target.value;
      render(`row-${index}-${side}`);
    },
  },
  h("option", { value: "" }, "— choose a field —"),
  fields[side].map((f) => h("option", {
    value: f.id, selected: f.id === value, disabled: usedElsewhere.has(f.id),
  }, f.label + (usedElsewhere.has(f.id) ? " (used in another row)" : ""))));
  if (value && !fields[side].some((f) => f.id === value)) {
    control.append(h("option", { value, selected: true }, `${value} (unknown field)`));
  }
  return control;
}

function render(focusId) {
  hidePreview();
  if (!rows.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "empty" },
      "No mappings: nothing is transferred to contacts. Add a row or reset to default.")));
  } else {
    body.replaceChildren(...rows.map((r, index) => h("tr", { dataset: { row: index } },
      h("td", {}, select("user", index)),
      h("td", {}, select("contact", index), h("p", { class: "error", "data-error-for": `row-${index}`, hidden: true })),
      h("td", {}, h("button", {
        type: "button", class: "icon-btn delete-row",
        "aria-label": `Delete mapping row ${index + 1}: ${labelOf("user", r.userField) || "empty"} → ${labelOf("contact", r.contactField) || "empty"}`,
        title: "Delete this mapping",
        onclick: () => {
          rows.splice(index, 1);
          mappingStatus.textContent = "Row deleted; Save to apply.";
          render(rows.length ? `row-${Math.min(index, rows.length - 1)}-user` : "mapping-add");
        },
      }, trashIcon())),
    )));
  }
  if (focusId) document.getElementById(focusId)?.focus();
}

function trashIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6");
  svg.append(path);
  return svg;
}

function showMapping(mapping) {
  loadedVersion = mapping.version;
  rows = mapping.rows.map((r) => ({ userField: r.userField, contactField: r.contactField }));
  savedRows = JSON.stringify(rows);
  render();
  showStale(mapping);
}

// ---------------------------------------------------------------- unsaved edits

let savedRows = "[]"; // the rows as last loaded or saved
let leaving = false; // the admin chose to leave without saving
const unsaved = () => !leaving && JSON.stringify(rows) !== savedRows;

window.addEventListener("beforeunload", (event) => {
  if (!unsaved()) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers ask only when this is set
});

// A link inside the console (the navigation, a link in a message) asks in place first.
const leaveConfirm = document.getElementById("leave-confirm");
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href]");
  if (!link || !unsaved() || link.hasAttribute("download") || link.target) return;
  if (new URL(link.href, location.href).origin !== location.origin) return;
  event.preventDefault();
  confirmInPlace(leaveConfirm, {
    question: "The field mapping has edits that are not saved. Leave this page and lose them?",
    yes: "Leave without saving",
    no: "Stay",
    ids: "leave",
    onYes: async () => {
      leaving = true;
      location.assign(link.href);
    },
    onNo: () => {
      leaveConfirm.hidden = true;
      document.getElementById("mapping-save").focus();
    },
  });
  leaveConfirm.scrollIntoView({ block: "center" });
}, true);

function showStale(mapping) {
  const n = mapping.staleContacts;
  staleCount.textContent = n
    ? `${n} synchronized contact${n === 1 ? " was" : "s were"} built with an older mapping (version ${mapping.version} is current).`
    : `All synchronized contacts use the current mapping (version ${mapping.version}).`;
  staleCount.dataset.stale = String(n);
}

document.getElementById("mapping-add").addEventListener("click", () => {
  rows.push({ userField: "", contactField: "" });
  render(`row-${rows.length - 1}-user`);
});

document.getElementById("mapping-clear").addEventListener("click", () => {
  rows = [];
  mappingStatus.textContent = "All mappings deleted; Save to apply.";
  render("mapping-save");
});

/** True when every row has both fields; else the first incomplete row says so. */
function rowsComplete() {
  setError(mappingError, "");
  clearErrors(body);
  mappingStatus.textContent = "";
  const incomplete = rows.findIndex((r) => !r.userField || !r.contactField);
  if (incomplete < 0) return true;
  const slot = body.querySelector(`[data-error-for="row-${incomplete}"]`);
  setError(slot, "Choose a field on both sides, or delete the row.");
  document.getElementById(`row-${incomplete}-${rows[incomplete].userField ? "contact" : "user"}`).focus();
  return false;
}

function showRequestError(error) {
  const index = error.field ? rows.findIndex((r) => r.userField === error.field || r.contactField === error.field) : -1;
  const slot = index >= 0 ? body.querySelector(`[data-error-for="row-${index}"]`) : mappingError;
  setError(slot, error.message);
}

// ---------------------------------------------------------------- preview before saving

const preview = document.getElementById("mapping-preview");

function hidePreview() {
  preview.hidden = true;
}

function showPreview(p) {
  const changed = p.changed === 1 ? "1 contact" : `${p.changed} contacts`;
  const parts = [`Of ${p.contacts} synchronized contact${p.contacts === 1 ? "" : "s"}, "Update all synchronized users" would change ${changed}`];
  if (p.changed) parts.push(` (${p.updated} updated, ${p.deleted} deleted)`);
  parts.push(`; ${p.unchanged} would stay as they are`);
  if (p.errors) parts.push(`; ${p.errors} could not be mapped`);
  document.getElementById("mapping-preview-summary").textContent = parts.join("") + ". Nothing has been saved yet.";
  const fieldRows = Object.entries(p.fields).map(([id, c]) => h("tr", {},
    h("td", {}, labelOf("contact", id)), h("td", {}, c.set), h("td", {}, c.changed), h("td", {}, c.emptied)));
  document.querySelector("#mapping-preview-fields tbody").replaceChildren(...(fieldRows.length ? fieldRows
    : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No field value would change."))]));
  const sampleRows = [];
  for (const sample of p.samples) {
    const before = sample.before.fields;
    if (!sample.after) {
      sampleRows.push(h("tr", {}, h("td", {}, sample.userName), h("td", { colspan: 3 }, "The contact would be deleted (the user is deactivated).")));
      continue;
    }
    const after = sample.after.fields;
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((n) => before[n] !== after[n]);
    if (sample.before.active !== sample.after.active) names.push("(active)");
    names.forEach((name, i) => {
      const now = name === "(active)" ? String(sample.before.active) : before[name];
      const next = name === "(active)" ? String(sample.after.active) : after[name];
      sampleRows.push(h("tr", {},
        h("td", {}, i === 0 ? sample.userName : ""),
        h("td", {}, name === "(active)" ? "Active" : labelOf("contact", name)),
        h("td", {}, now === undefined ? h("em", {}, "empty") : now),
        h("td", {}, next === undefined ? h("em", {}, "empty") : next)));
    });
  }
  document.querySelector("#mapping-preview-samples tbody").replaceChildren(...(sampleRows.length ? sampleRows
    : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No contact would change."))]));
  preview.hidden = false;
  announce(document.getElementById("mapping-preview-summary").textContent);
}

const previewButton = document.getElementById("mapping-preview-button");
previewButton.addEventListener("click", () => {
  if (!rowsComplete()) return;
  whileBusy(previewButton, mappingError, async () => {
    try {
      showPreview(await api("POST", "/mapping/preview", { rows, version: loadedVersion }));
    } catch (error) {
      hidePreview();
      showRequestError(error);
    }
  });
});

document.getElementById("mapping-save").addEventListener("click", async () => {
  if (!rowsComplete()) return;
  try {
    const saved = await api("PUT", "/mapping", { rows, version: loadedVersion });
    showMapping(saved);
    mappingStatus.textContent = `Mapping saved (version ${saved.version}). Run "Update all synchronized users" to apply it to existing contacts.`;
    announce(mappingStatus.textContent);
  } catch (error) {
    if (error.status === 409 && error.code === "conflict") {
      // Another admin saved meanwhile: keep these edits on screen, say what happened.
      setError(mappingError, `Not saved: ${error.message}. Your edits are still shown.`);
      return;
    }
    showRequestError(error);
  }
});

const resetConfirm = document.getElementById("mapping-reset-confirm");
document.getElementById("mapping-reset").addEventListener("click", () => {
  setError(mappingError, "");
  confirmInPlace(resetConfirm, {
    question: "Replace the whole mapping with the default and save it now?",
    yes: "Reset to default",
    ids: "mapping-reset",
    errorSlot: mappingError,
    onYes: async () => {
      const saved = await api("POST", "/mapping/reset");
      resetConfirm.hidden = true;
      showMapping(saved);
      mappingStatus.textContent = `Default mapping restored and saved (version ${saved.version}).`;
      announce(mappingStatus.textContent);
    },
    onNo: () => {
      resetConfirm.hidden = true;
      document.getElementById("mapping-reset").focus();
    },
  });
});

// ---------------------------------------------------------------- "Update all synchronized users"

const resyncButton = document.getElementById("resync");
const resyncError = document.getElementById("resync-error");
const resyncProgress = jobProgress(document.getElementById("resync-job"), resyncError);

resyncButton.addEventListener("click", () => whileBusy(resyncButton, resyncError, async () => {
  resyncProgress.open();
  const job = await api("POST", "/contacts/resync");
  const running = (j) => `${j.done}/${plural(j.total, "contact")}, ${j.changed} changed`;
  const summary = (j) => `${j.state}: ${j.done}/${plural(j.total, "contact")} checked, ${j.changed} changed, ${plural(j.errors, "error")}`;
  announce(summary(await resyncProgress.follow(job, running, summary)));
  // "Mapping saved … run Update all" has been done now: the job's summary replaces it.
  mappingStatus.textContent = "";
  showStale(await api("GET", "/mapping"));
}));

// ---------------------------------------------------------------- start

async function start() {
  try {
    const [f, mapping, s] = await Promise.all([
      api("GET", "/fields"), api("GET", "/mapping"), api("GET", "/settings"),
    ]);
    fields = f;
    settings = s;
    showSettings();
    showMapping(mapping);
  } catch (error) {
    setError(mappingError, error.message);
  }
  markReady();
}

start();
