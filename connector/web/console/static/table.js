// Paged tables of the console (users, contacts, audit log): a page of rows from
// the admin API, the pager under the table, a search that starts again at the
// first page, and the API's error next to the table.
import { h, setError } from "./console.js";

/** A pager over {total, startIndex} pages: the #prev-page, #next-page and #page-info under root. */
export function pager(root, onPage) {
  const prev = root.querySelector("#prev-page");
  const next = root.querySelector("#next-page");
  const info = root.querySelector("#page-info");
  const state = { start: 1, count: 50, total: 0 };
  prev.addEventListener("click", () => {
    state.start = Math.max(1, state.start - state.count);
    onPage(state);
  });
  next.addEventListener("click", () => {
    if (state.start + state.count <= state.total) {
      state.start += state.count;
      onPage(state);
    }
  });
  state.update = (total, shown) => {
    state.total = total;
    const last = state.start + shown - 1;
    info.textContent = total ? `${state.start}–${last} of ${total}` : "nothing found";
    prev.disabled = state.start <= 1;
    next.disabled = state.start + state.count > total;
  };
  keepFocus(state, prev, next);
  return state;
}

/**
 * "Next" pressed onto the last page (or "Previous" onto the first) becomes disabled
 * under the keyboard's focus: after each update, hand that focus to the other button
 * rather than to nothing.
 */
function keepFocus(state, prev, next) {
  const update = state.update;
  state.update = (...args) => {
    update(...args);
    if (document.activeElement === next && next.disabled && !prev.disabled) prev.focus();
    if (document.activeElement === prev && prev.disabled && !next.disabled) next.focus();
  };
}

/**
 * A table filled a page at a time.
 *
 * fetchPage({startIndex, count}) answers {items, total}; renderRow(item, index) makes
 * a <tr>; a page without items shows emptyText across every column. The API's error
 * goes to errorSlot, and marks searchInput invalid when there is one (a search the
 * server refused). Submitting searchForm searches. onLoaded(items) runs after each
 * page is shown. Returns {load, search, paging}: load() shows the current page again,
 * search() the first page.
 */
export function pagedTable({
  table, fetchPage, renderRow, emptyText, errorSlot, searchForm, searchInput, onLoaded,
}) {
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  const paging = pager(document, () => load());

  async function load() {
    setError(errorSlot, "");
    let page;
    try {
      page = await fetchPage({ startIndex: paging.start, count: paging.count });
    } catch (error) {
      setError(errorSlot, error.message);
      if (searchInput) searchInput.setAttribute("aria-invalid", "true");
      return;
    }
    if (searchInput) searchInput.removeAttribute("aria-invalid");
    body.replaceChildren(...(page.items.length ? page.items.map((item, index) => renderRow(item, index)) : [
      h("tr", {}, h("td", { colspan: columns, class: "empty" }, emptyText)),
    ]));
    paging.update(page.total, page.items.length);
    if (onLoaded) onLoaded(page.items);
  }

  function search() {
    paging.start = 1;
    return load();
  }

  if (searchForm) {
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      search();
    });
  }
  return { load, search, paging };
}
