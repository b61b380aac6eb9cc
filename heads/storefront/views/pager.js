// Keyset pages for a list view: "Next page" follows `next_cursor`; the cursors of earlier pages
// ride in the history entry's state, so Back, Forward, "Previous page" and a reload all work.
// The filters (a search) and the cursor are in the address, e.g. `#/catalogue?q=tea&cursor=…`.

import * as api from "../api.js";
import { fill, h } from "../dom.js";

/**
 * A pager over `path`. `render(page, number)` shows a page and returns `{summary, nav}`: the
 * element to focus after a page change and where the buttons go. `failed(error)` shows an error.
 * Call `start()` once; `search(filters)` starts over at the first page with other filters;
 * `refresh()` fetches the page shown again.
 */
export function pager({ path, route, query, signal, render, failed, size = 20, filterNames = [] }) {
  let filters = Object.fromEntries(filterNames.map((name) => [name, query.get(name) ?? ""]));
  let at = [query.get("cursor"), history.state?.pages ?? []]; // the page shown: cursor, earlier

  async function load(cursor, earlier, focus) {
    let page;
    try {
      page = await api.page(path, { ...filters, cursor, limit: size });
    } catch (error) {
      if (error instanceof api.ApiError && error.status !== 401 && !signal.aborted) failed(error);
      return;
    }
    if (signal.aborted) return;
    at = [cursor, earlier];
    const { summary, nav } = render(page, earlier.length + 1, filters);
    fill(
      nav,
      earlier.length
        ? h("button", { type: "button", onclick: () => go(earlier.at(-1), earlier.slice(0, -1)) }, "Previous page")
        : null,
      page.next_cursor
        ? h("button", { type: "button", onclick: () => go(page.next_cursor, [...earlier, cursor ?? ""]) }, "Next page")
        : null,
    );
    if (focus) summary.focus();
  }

  function go(cursor, earlier) {
    const params = new URLSearchParams(Object.entries(filters).filter(([, value]) => value));
    if (cursor) params.set("cursor", cursor);
    const search = params.toString();
    history.pushState({ pages: earlier }, "", search ? `${route}?${search}` : route);
    return load(cursor || null, earlier, true);
  }

  return {
    start: () => load(...at, false),
    /** The page shown, fetched again (focus stays where it is). */
    refresh: () => load(...at, false),
    search(next) {
      filters = next;
      return go(null, []);
    },
  };
}
