// My orders: the customer's orders (the API shows a customer only its own), a page at a time,
// their statuses following the live stream.

import { fill, h, money, time } from "../dom.js";
import { pager } from "./pager.js";
import { badge } from "./status.js";

function orderCard(order) {
  const units = order.lines.reduce((sum, line) => sum + line.quantity, 0);
  const fact = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h(
    "article",
    { class: "card", "aria-labelledby": `order-${order.id}`, dataset: { orderId: order.id } },
    h("h2", { id: `order-${order.id}` },
      h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order ${order.number}`)),
    h("dl", { class: "facts" },
      fact("Status", badge(order.status)),
      fact("Placed", time(order.created_at)),
      fact("Items", String(units)),
      fact("Total", money(order.total, order.currency))),
  );
}

export default async function ordersView({ root, query, signal, app }) {
  const told = app.told();
  const summary = h("p", { id: "results", class: "summary", tabindex: "-1" }, "Loading your orders…");
  const list = h("ul", { class: "cards" });
  const nav = h("nav", { class: "pager", "aria-label": "Pages of orders" });
  fill(root, h("h1", { tabindex: "-1" }, "My orders"),
    told ? h("p", { class: "notice", role: "status" }, told) : null, summary, list, nav);
  const shown = new Map(); // order id → [its list item, the order]

  const update = ({ detail }) => {
    const [item, order] = shown.get(detail.data.id) ?? [];
    if (!item || detail.data.version < order.version) return;
    shown.set(detail.data.id, [item, detail.data]);
    fill(item, orderCard(detail.data));
  };
  for (const status of ["confirmed", "picking", "shipped", "invoiced", "paid", "cancelled"]) {
    app.live.addEventListener(`erp.sales_order.${status}`, update, { signal });
  }

  const browse = pager({
    path: "/sales-orders",
    route: "#/orders",
    query,
    signal,
    render(page, number) {
      shown.clear();
      fill(list, page.items.map((order) => {
        const item = h("li", {}, orderCard(order));
        shown.set(order.id, [item, order]);
        return item;
      }));
      summary.textContent = page.items.length
        ? `Page ${number}: ${page.items.length} order${page.items.length === 1 ? "" : "s"}, oldest first.`
        : "You have no orders yet.";
      return { summary, nav };
    },
    failed: (error) => (summary.textContent = `Your orders could not be loaded: ${error.detail || error.title}`),
  });
  app.live.addEventListener("resync", () => browse.refresh(), { signal });
  await browse.start();
}
