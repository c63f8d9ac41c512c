// Paged tables of the console (users, contacts, audit log): a page of rows from
// the admin API, the pager under the table, a search that starts again at the
// first page, and the API's error next to the table.
import { h, setError } from "./console.js";

/**
 * A pager over {total, startIndex} pages: the #prev-page, #next-page and #page-info under root.
 *
 * When the API answers with nextCursor (keyset paging: the contacts), "Next" asks for
 * the page after the last row shown and "Previous" goes back to the cursor it came
 * from; a listing without cursors pages by startIndex.
 */
export function pager(root, onPage) {
  const prev = root.querySelector("#prev-page");
  const next = root.querySelector("#next-page");
  const info = root.querySelector("#page-info");
  const state = { start: 1, count: 50, total: 0, cursor: null, nextCursor: undefined, back: [] };
  prev.addEventListener("click", () => {
    if (state.nextCursor !== undefined && state.back.length) {
      state.cursor = state.back.pop();
    }
    state.start = Math.max(1, state.start - state.count);
    onPage(state);
  });
  next.addEventListener("click", () => {
    if (state.nextCursor) {
      state.back.push(state.cursor);
      state.cursor = state.nextCursor;
      state.start += state.count;
      onPage(state);
    } else if (state.nextCursor === undefined && state.start + state.count <= state.total) {
      state.start += state.count;
      onPage(state);
    }
  });
  state.reset = () => {
    state.start = 1;
    state.cursor = null;
    state.back = [];
  };
  state.update = (total, shown, nextCursor, startIndex) => {
    state.total = total;
    state.nextCursor = nextCursor;
    if (startIndex) state.start = startIndex;
    const last = state.start + shown - 1;
    info.textContent = total ? `${state.start}–${last} of ${total}` : "nothing found";
    prev.disabled = state.start <= 1;
    next.disabled = nextCursor === undefined ? state.start + state.count > total : !nextCursor;
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
 * fetchPage({startIndex or cursor, count}) answers {items, total, nextCursor?}; renderRow(item, index) makes
 * a <tr>; a page without items shows emptyText across every column. The API's error
 * goes to errorSlot, and marks searchInput invalid when there is one (a search the
 * server refused); the rows, the pager and statusSlot's message, which answered an
 * earlier search, are cleared then. Submitting searchForm searches. onLoaded(items)
 * runs after each page is shown. Returns {load, search, paging}: load() shows the
 * current page again, search() the first page.
 */
export function pagedTable({
  table, fetchPage, renderRow, emptyText, errorSlot, searchForm, searchInput, statusSlot, onLoaded,
}) {
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  const paging = pager(document, () => load());

  async function load() {
    setError(errorSlot, "");
    let page;
    try {
      const where = paging.cursor ? { cursor: paging.cursor } : { startIndex: paging.start };
      page = await fetchPage({ ...where, count: paging.count });
    } catch (error) {
      setError(errorSlot, error.message);
      if (searchInput) searchInput.setAttribute("aria-invalid", "true");
      if (statusSlot) statusSlot.textContent = "";
      body.replaceChildren(h("tr", {}, h("td", { colspan: columns, class: "empty" }, "No results: the search failed.")));
      paging.update(0, 0);
      if (onLoaded) onLoaded([]);
      return;
    }
    if (searchInput) searchInput.removeAttribute("aria-invalid");
    body.replaceChildren(...(page.items.length ? page.items.map((item, index) => renderRow(item, index)) : [
      h("tr", {}, h("td", { colspan: columns, class: "empty" }, emptyText)),
    ]));
    paging.update(page.total, page.items.length, page.nextCursor, page.startIndex);
    if (onLoaded) onLoaded(page.items);
  }

  function search() {
    paging.reset();
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
