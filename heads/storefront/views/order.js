// One order: its status timeline, which moves live as the warehouse picks and ships
// (`erp.sales_order.*` on the stream), its lines and totals, and its invoice. Another
// customer's order is "not found", exactly like an unknown one (the API answers 404 for both).

import * as api from "../api.js";
import { fill, h, money, time } from "../dom.js";
import { invoiceFacts } from "./invoices.js";
import { STATUS, badge, timeline } from "./status.js";

const ORDER_EVENTS = ["confirmed", "picking", "shipped", "invoiced", "paid", "cancelled"];

export default async function orderView({ root, params, signal, app }) {
  const told = app.told();
  let id;
  try {
    id = decodeURIComponent(params[0]);
  } catch {
    return notFound(root); // not even a well-formed address
  }
  fill(root, h("h1", { tabindex: "-1" }, "Order"), h("p", { class: "summary" }, "Loading the order…"));
  let order;
  try {
    order = await api.get(`/sales-orders/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof api.ApiError && [400, 404, 422].includes(error.status)) return notFound(root);
    throw error;
  }
  if (signal.aborted) return;
  const reached = {}; // status → when it was reached, as far as we know
  const steps = h("ol", { class: "timeline", "aria-labelledby": "status-title" });
  const status = h("p", { class: "current-status" });
  const lines = h("div", { class: "lines" });
  const invoice = h("div", { class: "invoice" });
  const shortNote = h("p", { class: "warning", hidden: true },
    "Some items of this order are short in the warehouse: it ships once they are back.");
  fill(
    root,
    h("h1", { tabindex: "-1" }, `Order ${order.number}`),
    told ? h("p", { class: "notice", role: "status" }, told) : null,
    h("p", {}, "Placed ", time(order.created_at)),
    h("section", { "aria-labelledby": "status-title" },
      h("h2", { id: "status-title" }, "Status"), status, steps, shortNote),
    h("section", { "aria-labelledby": "items-title" }, h("h2", { id: "items-title" }, "Items"), lines),
    h("section", { "aria-labelledby": "invoice-title" }, h("h2", { id: "invoice-title" }, "Invoice"), invoice),
    h("p", {}, h("a", { href: "#/orders" }, "All my orders")),
  );

  function show(next) {
    order = next;
    reached.confirmed ??= order.confirmed_at;
    reached.shipped ??= order.shipped_at;
    fill(status, "Status: ", badge(order.status));
    timeline(steps, order.status, reached);
    fill(lines, lineTable(order));
  }

  async function showInvoice(data) {
    if (data) {
      reached.invoiced ??= data.issued_at;
      if (data.paid_at) reached.paid ??= data.paid_at;
      timeline(steps, order.status, reached);
      return fill(invoice, h("p", {}, `Invoice ${data.number}`), invoiceFacts(data));
    }
    if (!order.invoice_id) return fill(invoice, h("p", {}, "The invoice is issued when your order ships."));
    try {
      await showInvoice(await api.get(`/invoices/${encodeURIComponent(order.invoice_id)}`));
    } catch (error) {
      if (error instanceof api.ApiError && error.status !== 401) fill(invoice, h("p", {}, "The invoice could not be loaded."));
    }
  }

  const changed = ({ detail }) => {
    const data = detail.data;
    if (data.id !== order.id || data.version < order.version) return;
    const before = order.status;
    reached[data.status] ??= detail.time;
    show(data);
    if (data.status !== before) app.announce(`Order ${order.number}: ${STATUS[data.status] ?? data.status}.`);
    if (data.invoice_id && !invoice.querySelector("dl")) showInvoice();
  };
  for (const name of ORDER_EVENTS) app.live.addEventListener(`erp.sales_order.${name}`, changed, { signal });
  app.live.addEventListener("erp.sales_order.short", ({ detail }) => {
    if (detail.data.id === order.id) shortNote.hidden = false;
  }, { signal });
  const invoiceChanged = ({ detail }) => {
    if (detail.data.sales_order_id === order.id) showInvoice(detail.data);
  };
  for (const name of ["issued", "payment_recorded", "paid"]) {
    app.live.addEventListener(`erp.invoice.${name}`, invoiceChanged, { signal });
  }
  show(order);
  await showInvoice();
}

function lineTable(order) {
  const amount = (value) => money(value, order.currency);
  const head = (...names) => h("tr", {}, names.map((name) => h("th", { scope: "col" }, name)));
  const foot = (label, value) =>
    h("tr", {}, h("th", { scope: "row", colspan: "3" }, label), h("td", { class: "num" }, amount(value)));
  return h(
    "table",
    { class: "lines" },
    h("caption", { class: "visually-hidden" }, `Items of order ${order.number}`),
    h("thead", {}, head("Product", "Quantity", "Price", "Total")),
    h("tbody", {}, order.lines.map((line) => h("tr", {},
      h("th", { scope: "row" }, line.name, h("span", { class: "sku" }, ` ${line.sku}`)),
      h("td", { class: "num" }, String(line.quantity)),
      h("td", { class: "num" }, amount(line.unit_price)),
      h("td", { class: "num" }, amount(line.subtotal))))),
    h("tfoot", {}, foot("Subtotal", order.subtotal), foot("Tax", order.tax), foot("Total", order.total)),
  );
}

function notFound(root) {
  fill(
    root,
    h("h1", { tabindex: "-1" }, "Order not found"),
    h("p", {}, "There is no order with this number in your account."),
    h("p", {}, h("a", { href: "#/orders" }, "See all my orders")),
  );
}
