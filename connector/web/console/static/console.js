// Shared helpers of the admin console: API calls with the session's CSRF token,
// small DOM builders, error display next to what caused it. Paged tables are in
// table.js; the confirm step, busy buttons and job progress in actions.js.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
export const csrf = csrfMeta ? csrfMeta.content : "";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.field = body && body.field;
  }
}

export async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") options.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch("/api/v1" + path, options);
  } catch (error) {
    throw new ApiError(0, { message: "the connector does not answer: " + error.message });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401) {
    const next = location.pathname + location.search;
    location.assign("/admin/sign-in?next=" + encodeURIComponent(next));
  }
  if (!response.ok) throw new ApiError(response.status, data || { message: response.statusText });
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? "?" + text : "";
}

/** h("tag", {attr: value, onclick: fn, class: "x"}, ...children); children may be nested arrays. */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function profileIcon(label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "profile-icon");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const title = document.createElementNS(SVG, "title");
  title.textContent = label;
  const circle = document.createElementNS(SVG, "circle");
  circle.setAttribute("cx", "12");
  circle.setAttribute("cy", "8");
  circle.setAttribute("r", "4");
  circle.setAttribute("fill", "currentColor");
  const body = document.createElementNS(SVG, "path");
  body.setAttribute("d", "M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7z");
  body.setAttribute("fill", "currentColor");
  svg.append(title, circle, body);
  return svg;
}

/** Show a message in an error element (or hide it when message is empty). */
export function setError(element, message) {
  if (!element) return;
  if (message && !element.hasAttribute("role")) element.setAttribute("role", "alert");
  element.textContent = message || "";
  element.hidden = !message;
}

/** Put an API error next to the input it names (data-error-for), else into fallback. */
export function showFieldError(scope, error, fallback) {
  clearErrors(scope);
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  let slot = null;
  if (error && error.field) {
    const root = error.field.split(/[.[]/)[0];
    slot =
      scope.querySelector(`[data-error-for="${CSS.escape(error.field)}"]`) ||
      scope.querySelector(`[data-error-for="${CSS.escape(root)}"]`);
  }
  const target = slot || fallback;
  setError(target, message);
  const input = slot && slot.parentElement && slot.parentElement.querySelector("input, select, textarea");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    if (!slot.id) slot.id = "err-" + Math.random().toString(36).slice(2);
    input.setAttribute("aria-describedby", slot.id);
    input.focus();
  }
  return target;
}

export function clearErrors(scope) {
  for (const slot of scope.querySelectorAll("[data-error-for]")) setError(slot, "");
  for (const input of scope.querySelectorAll('[aria-invalid="true"]')) input.removeAttribute("aria-invalid");
}

export function announce(text) {
  const live = document.getElementById("live");
  if (live) live.textContent = text;
}

export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function sourceBadge(name, kind) {
  const label = kind === "scim" ? `SCIM: ${name}` : kind === "ldap" ? `LDAP: ${name}` : name || "local";
  const title = kind === "scim" ? "SCIM client" : kind === "ldap" ? "LDAP source" : "created in the console";
  return h("span", { class: `badge ${kind || "local"}`, title }, label);
}

/** "1 user", "2 users": a count with its noun; plural defaults to noun + "s". */
export function plural(count, noun, pluralNoun = noun + "s") {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}

/** Value at a SCIM path such as name.givenName or urn:...:User:department. */
export function getPath(resource, path) {
  const urn = path.match(/^(urn:.*):([^:]+)$/);
  if (urn) return (resource[urn[1]] || {})[urn[2]];
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), resource);
}

/** The page has its data: tests wait for this, the benchmark reads the time it took. */
export function markReady() {
  document.body.dataset.readyAt = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
}

/**
 * The banner on every page while a source is blocked: a SCIM source whose deletion
 * guard holds deletions, or an LDAP source whose last run the guard stopped. Both
 * wait for an admin on the Sources page.
 */
export async function showBlockedSources() {
  const banner = document.getElementById("blocked-banner");
  if (!banner) return;
  let sources;
  try {
    sources = (await api("GET", "/sources")).items;
  } catch {
    return; // the page itself shows what is wrong with the connector
  }
  const blocked = sources.filter((s) => s.blocked || (s.lastRun && s.lastRun.state === "blocked"));
  banner.replaceChildren(...blocked.map((s) => h("p", { dataset: { blockedSource: s.name } },
    h("strong", {}, `Source ${s.name} is blocked: `),
    s.kind === "scim"
      ? `its deletion guard holds ${plural(s.heldDeletions, "deletion")}; the contacts stay until an admin confirms or rejects them. `
      : `its last run would delete ${plural(s.lastRun.wouldDelete, "user")} and waits for an admin. `,
    h("a", { href: "/admin/sources" }, "Review on the Sources page"))));
  banner.hidden = !blocked.length;
}

showBlockedSources();

// ---------------------------------------------------------------- keyboard and small screens

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), ' +
  'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]") && el.getClientRects().length);
}

/**
 * Tab and Shift-Tab go round inside an open dialog instead of leaving it for the
 * browser's own controls. Escape (the browser closes a modal <dialog>) and the
 * return of focus to the control that opened it are the browser's.
 */
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || !dialog.open) return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items.at(-1);
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

/**
 * A table box that scrolls sideways (a narrow window) becomes a named, focusable
 * region, so the keyboard can scroll it too; it leaves the tab order again when
 * everything fits.
 */
export function watchScrollRegion(box) {
  const update = () => {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      const caption = box.querySelector("caption");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", caption ? `${caption.textContent.trim()} (scrolls sideways)` : "Table (scrolls sideways)");
    } else if (!scrolls && box.hasAttribute("tabindex")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  };
  new ResizeObserver(update).observe(box);
  const table = box.querySelector("table");
  if (table) new ResizeObserver(update).observe(table);
  update();
}

for (const dialog of document.querySelectorAll("dialog")) trapFocus(dialog);
// Every table box, those of the page and those a script adds later (an LDAP source's runs).
const watched = new WeakSet();
function watchAll() {
  for (const box of document.querySelectorAll(".table-wrap")) {
    if (!watched.has(box)) {
      watched.add(box);
      watchScrollRegion(box);
    }
  }
}
new MutationObserver(watchAll).observe(document.body, { childList: true, subtree: true });
watchAll();
