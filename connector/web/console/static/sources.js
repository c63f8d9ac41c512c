// Sources: SCIM clients and LDAP sources with their runs, a chart of recent runs, sync
// actions, blocked deletion runs to confirm; SCIM tokens (create, list, revoke).
import { api, h, setError, announce, formatTime, markReady, plural, showBlockedSources } from "./console.js";
import { confirmInPlace, whileBusy } from "./actions.js";

const container = document.getElementById("sources");
const sourcesError = document.getElementById("sources-error");
let tokens = [];

// The LDAP runs API may name things in several ways; read what is there.
const pick = (obj, ...keys) => {
  for (const key of keys) {
    const value = key.split(".").reduce((node, k) => (node == null ? undefined : node[k]), obj);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
};
const COUNTS = ["read", "created", "updated", "deleted", "unchanged", "errors"];
const count = (run, key) => {
  const value = pick(run, key, `counts.${key}`, `stats.${key}`, `${key}Count`, key === "read" ? "entriesRead" : "_", key === "read" ? "entries_read" : "_");
  return typeof value === "number" ? value : Array.isArray(value) ? value.length : undefined;
};
const started = (run) => pick(run, "startedAt", "started_at", "start", "started");
const finished = (run) => pick(run, "finishedAt", "finished_at", "endedAt", "end", "ended");
function duration(run) {
  const explicit = pick(run, "durationSeconds", "duration_seconds", "duration");
  if (typeof explicit === "number") return explicit;
  const a = Date.parse(started(run));
  const b = Date.parse(finished(run));
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, (b - a) / 1000) : undefined;
}
const runState = (run) => String(pick(run, "state", "status") ?? "unknown");
const runId = (run) => pick(run, "id", "runId");
function runMessage(run) {
  const parts = [pick(run, "message", "reason")];
  const messages = pick(run, "errorMessages");
  if (Array.isArray(messages) && messages.length) parts.push(messages.slice(0, 3).join("; "));
  return parts.filter(Boolean).join(" — ");
}

function formatDuration(seconds) {
  if (seconds === undefined) return "—";
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`;
}

function runsTable(runs) {
  return h("div", { class: "table-wrap" }, h("table", { class: "grid runs" },
    h("caption", {}, "Last runs"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Started"), h("th", { scope: "col" }, "Kind"), h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Duration"),
      COUNTS.map((c) => h("th", { scope: "col" }, c[0].toUpperCase() + c.slice(1))))),
    h("tbody", {}, runs.slice(0, 10).map((run) => h("tr", { dataset: { state: runState(run) } },
      h("td", {}, formatTime(started(run))),
      h("td", {}, String(pick(run, "kind", "mode", "type") ?? "")),
      h("td", {}, h("span", { class: `badge ${runState(run)}` }, runState(run)),
        runMessage(run) ? h("span", { class: "reason" }, runMessage(run)) : ""),
      h("td", {}, formatDuration(duration(run))),
      COUNTS.map((c) => h("td", {}, count(run, c) ?? "—")),
    )))));
}

function chart(runs, name) {
  const box = h("div", { class: "chart", role: "img", "aria-label": `Chart of the last ${runs.length} runs of ${name}: duration and changes` });
  const points = runs.filter((r) => Number.isFinite(Date.parse(started(r))))
    .sort((a, b) => Date.parse(started(a)) - Date.parse(started(b))).slice(-30);
  if (!points.length || typeof window.uPlot !== "function") return box;
  const xs = points.map((r) => Date.parse(started(r)) / 1000);
  const durations = points.map((r) => duration(r) ?? null);
  const changes = points.map((r) => ["created", "updated", "deleted"].reduce((sum, c) => sum + (count(r, c) || 0), 0));
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max(300, (hi - lo) * 0.05);
  requestAnimationFrame(() => {
    const width = Math.max(320, Math.min(900, box.clientWidth || 520));
    const plot = new window.uPlot({
      width, height: 160,
      series: [
        {},
        { label: "Duration (s)", stroke: "#1f5fa8", width: 2, points: { show: true } },
        { label: "Changes", stroke: "#1a7f37", width: 2, scale: "n", points: { show: true } },
      ],
      axes: [{}, { label: "s" }, { side: 1, scale: "n", label: "changes", grid: { show: false } }],
      scales: { x: { time: true, range: [lo - pad, hi + pad] } },
    }, [xs, durations, changes], box);
    // The chart follows its card's width (a window made narrower, a phone turned).
    new ResizeObserver(() => {
      const now = Math.max(280, Math.min(900, box.clientWidth || 520));
      if (now !== plot.width) plot.setSize({ width: now, height: 160 });
    }).observe(box);
  });
  return box;
}

function blockedRuns(source, runs) {
  return runs.filter((r) => runState(r) === "blocked").map((run) => {
    const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
    const wouldDelete = pick(run, "wouldDelete", "pendingDeletes", "blockedDeletes", "counts.wouldDelete", "deletions") ?? count(run, "deleted");
    const total = pick(run, "sourceUsers", "totalUsers", "users", "counts.users");
    const reason = pick(run, "message", "reason", "blockedReason");
    return h("div", { class: "blocked-run", dataset: { run: runId(run) } },
      h("strong", {}, "Deletion run blocked. "),
      `Run ${runId(run)} of ${formatTime(started(run))} would delete ${wouldDelete == null ? "? users" : plural(wouldDelete, "user")}`,
      total !== undefined ? ` of ${total}` : "", ". ", reason ? h("span", {}, String(reason), " ") : "",
      h("button", {
        type: "button", class: "btn danger", onclick: (event) => whileBusy(event.target, errorSlot, async () => {
          await api("POST", `/sources/${encodeURIComponent(source.name)}/runs/${encodeURIComponent(runId(run))}/confirm`);
          announce("Deletions confirmed: the reconciliation is running.");
          await load();
        }),
      }, "Confirm deletions"),
      errorSlot);
  });
}

function guardLine(source) {
  const guard = source.deleteGuard;
  return h("p", { class: "hint guard" }, "Deletion guard: ", guard
    ? `at most ${guard.maxCount} deletions or deactivations, and ${guard.maxPercent}% of the users, within ${guard.window}.`
    : "off.");
}

function heldDeletions(source) {
  if (!source.blocked) return [];
  const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
  const decide = (verb, message) => (event) => whileBusy(event.target, errorSlot, async () => {
    await api("POST", `/sources/${encodeURIComponent(source.name)}/held/${verb}`);
    announce(message);
    await load();
    await showBlockedSources();
  });
  return [h("div", { class: "blocked-run held", dataset: { heldSource: source.name } },
    h("strong", {}, "Deletions held. "),
    `The deletion guard holds ${plural(source.heldDeletions, "deletion")} from ${source.name}; their contacts stay in the address book. `,
    h("button", { type: "button", class: "btn danger", id: `held-confirm-${source.name}`, onclick: decide("confirm", "Held deletions confirmed.") }, "Confirm deletions"),
    " ",
    h("button", { type: "button", class: "btn", id: `held-reject-${source.name}`, onclick: decide("reject", "Held deletions rejected: the users are back.") }, "Reject: restore the users"),
    errorSlot)];
}

function syncButtons(source, statusSlot, errorSlot) {
  const run = (full, button) => whileBusy(button, errorSlot, async () => {
    statusSlot.textContent = "";
    const result = await api("POST", `/sources/${encodeURIComponent(source.name)}/sync`, full ? { full: true } : {});
    statusSlot.textContent = `${full ? "Full reconciliation" : "Sync"} started${result && runState(result) !== "unknown" ? ": " + runState(result) : ""}.`;
    announce(statusSlot.textContent);
    setTimeout(load, 1000);
  });
  const syncNow = h("button", { type: "button", class: "btn primary", onclick: (e) => run(false, e.target) }, "Sync now");
  const full = h("button", { type: "button", class: "btn", onclick: (e) => run(true, e.target) }, "Full reconciliation");
  return h("div", { class: "toolbox" }, syncNow, full);
}

// ---------------------------------------------------------------- sync scope: preview, then apply

const scopeText = (scope) => (scope === true ? "true" : scope === false ? "false" : String(scope));
const scopeValue = (text) => (text.trim() === "true" ? true : text.trim() === "false" ? false : text.trim());

function scopePreviewText(p) {
  const users = (n) => (n === 1 ? "1 user" : `${n} users`);
  const lines = [`${users(p.gain)} would gain a contact, ${users(p.lose)} would lose theirs (the link pauses; the contact stays, no longer updated).`];
  if (p.setByAdmin) lines.push(`${users(p.setByAdmin)} keep${p.setByAdmin === 1 ? "s" : ""} the switch an admin set.`);
  if (p.setByIdentityProvider) lines.push(`${users(p.setByIdentityProvider)} keep${p.setByIdentityProvider === 1 ? "s" : ""} what the identity provider set.`);
  return lines.join(" ");
}

const EFFECTS = { create: "gains a new contact", resume: "gets its contact back", pause: "loses its contact (paused)", none: "switch turns, no contact change" };

function scopeEditor(source) {
  const id = `scope-${source.name}`;
  const input = h("input", { id, value: scopeText(source.syncScope), "aria-describedby": `${id}-hint`, size: 50 });
  const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
  const result = h("div", { class: "scope-preview", id: `${id}-preview`, hidden: true });
  const apply = h("button", { type: "button", class: "btn primary", id: `${id}-apply`, disabled: true }, "Apply");
  const previewButton = h("button", { type: "button", class: "btn", id: `${id}-preview-button` }, "Preview");
  let previewed = null; // the text whose preview is shown: Apply applies exactly that
  input.addEventListener("input", () => {
    previewed = null;
    apply.disabled = true;
    result.hidden = true;
  });
  previewButton.addEventListener("click", () => whileBusy(previewButton, errorSlot, async () => {
    const text = input.value;
    const p = await api("POST", `/sources/${encodeURIComponent(source.name)}/scope/preview`, { syncScope: scopeValue(text) });
    const rows = p.samples.map((s) => h("li", {}, `${s.userName}: ${EFFECTS[s.contact]}`));
    result.replaceChildren(h("p", { role: "status" }, scopePreviewText(p)), rows.length ? h("ul", {}, rows) : "");
    result.hidden = false;
    previewed = text;
    apply.disabled = false;
  }));
  apply.addEventListener("click", () => whileBusy(apply, errorSlot, async () => {
    if (previewed === null) return;
    const saved = await api("PATCH", `/sources/${encodeURIComponent(source.name)}`, { syncScope: scopeValue(previewed) });
    result.replaceChildren(h("p", { role: "status" }, `Sync scope set to ${scopeText(saved.syncScope)}.`));
    announce(`Sync scope of ${source.name} set.`);
    previewed = null;
    apply.disabled = true;
  }));
  return h("div", { class: "scope-editor" },
    h("label", { for: id }, "Sync scope"), " ", input, " ", previewButton, " ", apply,
    h("p", { class: "hint", id: `${id}-hint` }, "true (every user), false (switch per user) or a SCIM filter. Preview shows who would gain or lose a contact; Apply makes the change."),
    errorSlot, result);
}

async function sourceCard(source) {
  const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
  const statusSlot = h("p", { class: "status", role: "status" });
  const headingId = `source-${source.name}`;
  const card = h("section", { class: "card source", "aria-labelledby": headingId, dataset: { source: source.name, kind: source.kind } });
  const head = h("div", { class: "source-head" },
    h("h2", { id: headingId }, source.name),
    h("span", { class: `badge ${source.kind}` },
      source.kind === "ldap" ? "LDAP source" : source.kind === "scim" ? "SCIM client" : "local"));
  card.append(head);
  const scope = source.syncScope;
  card.append(h("p", { class: "hint" }, "New and changed users get a contact: ",
    h("code", {}, scope === true ? "always" : scope === false ? "never (switch per user)" : String(scope))));
  if (source.kind === "local") {
    card.append(h("p", { class: "hint" }, "Users created in the console."));
    return card;
  }
  card.append(scopeEditor(source));
  if (source.kind === "scim") {
    const mine = tokens.filter((t) => t.source === source.name);
    const last = mine.map((t) => t.lastUsedAt).filter(Boolean).sort().at(-1);
    card.append(h("p", {}, `${plural(mine.filter((t) => !t.revokedAt).length, "active token")}; last request: ${last ? formatTime(last) : "never"}.`));
    card.append(guardLine(source), ...heldDeletions(source));
    return card;
  }
  // LDAP (and any other polled kind): runs, chart, actions.
  head.append(syncButtons(source, statusSlot, errorSlot));
  card.append(statusSlot, errorSlot);
  let runs = [];
  try {
    const answer = await api("GET", `/sources/${encodeURIComponent(source.name)}/runs`);
    runs = Array.isArray(answer) ? answer : (answer && (answer.items || answer.runs || answer.Resources)) || [];
  } catch (error) {
    card.append(h("p", { class: "error", role: "alert" }, `Runs cannot be shown: ${error.message}`));
    return card;
  }
  runs.sort((a, b) => (Date.parse(started(b)) || 0) - (Date.parse(started(a)) || 0));
  card.append(...blockedRuns(source, runs));
  if (!runs.length) {
    card.append(h("p", { class: "hint" }, "No runs yet."));
  } else {
    card.append(chart(runs, source.name), runsTable(runs));
  }
  return card;
}

async function load() {
  setError(sourcesError, "");
  let sources;
  try {
    const [s, t] = await Promise.all([api("GET", "/sources"), api("GET", "/tokens?kind=scim")]);
    sources = s.items;
    tokens = t.items;
  } catch (error) {
    setError(sourcesError, error.message);
    return;
  }
  const cards = await Promise.all(sources.map(sourceCard));
  container.replaceChildren(h("div", { class: "sources-grid" }, cards));
  document.getElementById("scim-sources").replaceChildren(
    ...sources.filter((s) => s.kind === "scim").map((s) => h("option", { value: s.name })));
  renderTokens();
}

/** Revoking cuts the identity provider off at once: asked for in the row first. */
function confirmRevoke(token, cell) {
  confirmInPlace(cell, {
    question: `Revoke ${token.name}? Its client can no longer call the connector.`,
    yes: "Revoke token",
    ids: `revoke-${token.id}`,
    onYes: async () => {
      await api("DELETE", `/tokens/${token.id}`);
      announce(`Token ${token.name} revoked.`);
      await load();
    },
    onNo: () => {
      renderTokens();
      document.querySelector(`tr[data-token="${token.id}"] button.revoke`)?.focus();
    },
  });
}

function renderTokens() {
  const body = document.querySelector("#tokens-table tbody");
  body.replaceChildren(...(tokens.length ? tokens.map((t) => {
    const errorSlot = h("p", { class: "error", role: "alert", hidden: true });
    return h("tr", { dataset: { token: t.id } },
      h("td", {}, t.name), h("td", {}, t.source || ""), h("td", {}, formatTime(t.createdAt)),
      h("td", {}, t.lastUsedAt ? formatTime(t.lastUsedAt) : "never"),
      h("td", {}, h("span", { class: `badge ${t.revokedAt ? "revoked" : "ok"}` }, t.revokedAt ? "revoked" : "active")),
      h("td", { class: "actions" }, t.revokedAt ? "" : h("button", {
        type: "button", class: "btn danger revoke", "aria-label": `Revoke token ${t.name}`,
        onclick: (event) => confirmRevoke(t, event.target.closest("td")),
      }, "Revoke"), errorSlot));
  }) : [h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No SCIM tokens yet."))]));
}

document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  for (const slot of form.querySelectorAll("[data-error-for]")) setError(slot, "");
  setError(document.getElementById("token-error"), "");
  const source = document.getElementById("token-source").value.trim();
  const name = document.getElementById("token-name").value.trim();
  if (!source) {
    setError(document.getElementById("token-source-error"), "Name the SCIM client (source) this token is for.");
    document.getElementById("token-source").focus();
    return;
  }
  try {
    const created = await api("POST", "/tokens", { kind: "scim", source, name: name || source });
    const box = document.getElementById("token-secret");
    box.hidden = false;
    const value = document.getElementById("token-secret-value");
    value.value = created.secret;
    form.reset();
    await load();
    value.focus();
    value.select();
  } catch (error) {
    const slot = error.field && form.querySelector(`[data-error-for="${error.field}"]`);
    setError(slot || document.getElementById("token-error"), error.message);
  }
});

document.getElementById("token-copy").addEventListener("click", async () => {
  const value = document.getElementById("token-secret-value");
  value.select();
  try {
    await navigator.clipboard.writeText(value.value);
    announce("Token copied.");
  } catch {
    announce("Select the token and copy it with Ctrl+C.");
  }
});

load().then(() => { markReady(); });
