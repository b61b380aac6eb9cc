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
  fill(root, h("h1", { tabindex: "-1" }, "Order"), h("p", { class: "summary" }, "Loading the order…"));
  const order = await load(params[0]);
  if (signal.aborted) return;
  if (!order) return notFound(root);
  const page = new OrderPage(root, order, told);
  page.follow(app, signal);
  await page.showInvoice();
}

/** The order named in the address, or null when there is none for this customer. */
async function load(raw) {
  try {
    return await api.get(`/sales-orders/${encodeURIComponent(decodeURIComponent(raw))}`);
  } catch (error) {
    if (error instanceof URIError) return null; // not even a well-formed address
    if (error instanceof api.ApiError && [400, 404, 422].includes(error.status)) return null;
    throw error;
  }
}

/** The order's page: built once, then its parts refilled as events arrive. */
class OrderPage {
  reached = {}; // status → when it was reached, as far as it is known

  constructor(root, order, told) {
    this.order = order;
    this.steps = h("ol", { class: "timeline", "aria-labelledby": "status-title" });
    this.status = h("p", { class: "current-status" });
    this.lines = h("div", { class: "lines" });
    this.invoice = h("div", { class: "invoice" });
    this.short = h("p", { class: "warning", hidden: true },
      "Some items of this order are short in the warehouse: it ships once they are back.");
    const section = (id, title, ...parts) =>
      h("section", { "aria-labelledby": id }, h("h2", { id }, title), ...parts);
    fill(
      root,
      h("h1", { tabindex: "-1" }, `Order ${order.number}`),
      told ? h("p", { class: "notice", role: "status" }, told) : null,
      h("p", {}, "Placed ", time(order.created_at)),
      section("status-title", "Status", this.status, this.steps, this.short),
      section("items-title", "Items", this.lines),
      section("invoice-title", "Invoice", this.invoice),
      h("p", {}, h("a", { href: "#/orders" }, "All my orders")),
    );
    this.show(order);
  }

  show(order) {
    this.order = order;
    this.reached.confirmed ??= order.confirmed_at;
    this.reached.shipped ??= order.shipped_at;
    fill(this.status, "Status: ", badge(order.status));
    timeline(this.steps, order.status, this.reached);
    fill(this.lines, lineTable(order));
  }

  /** The invoice as given (from an event), else as the API has it, else why there is none. */
  async showInvoice(data) {
    if (data) {
      this.reached.invoiced ??= data.issued_at;
      if (data.paid_at) this.reached.paid ??= data.paid_at;
      timeline(this.steps, this.order.status, this.reached);
      fill(this.invoice, h("p", {}, `Invoice ${data.number}`), invoiceFacts(data));
    } else if (!this.order.invoice_id) {
      fill(this.invoice, h("p", {}, "The invoice is issued when your order ships."));
    } else {
      try {
        await this.showInvoice(await api.get(`/invoices/${encodeURIComponent(this.order.invoice_id)}`));
      } catch (error) {
        if (error instanceof api.ApiError && error.status !== 401) {
          fill(this.invoice, h("p", {}, "The invoice could not be loaded."));
        }
      }
    }
  }

  /** Move with the live stream: the order's status, a shortage, its invoice. */
  follow(app, signal) {
    app.live.addEventListener("resync", () => this.refresh(app, signal), { signal });
    const on = (type, handler) => app.live.addEventListener(type, ({ detail }) => handler(detail), { signal });
    for (const name of ORDER_EVENTS) on(`erp.sales_order.${name}`, (event) => this.changed(event, app));
    on("erp.sales_order.short", (event) => {
      if (event.data.id === this.order.id) this.short.hidden = false;
    });
    for (const name of ["issued", "payment_recorded", "paid"]) {
      on(`erp.invoice.${name}`, (event) => {
        if (event.data.sales_order_id === this.order.id) this.showInvoice(event.data);
      });
    }
  }

  /** The order and its invoice fetched afresh (the stream may have missed changes). */
  async refresh(app, signal) {
    const order = await load(this.order.id).catch(() => null);
    if (!order || signal.aborted || order.version < this.order.version) return;
    const before = this.order.status;
    this.show(order);
    if (order.status !== before) app.announce(`Order ${order.number}: ${STATUS[order.status] ?? order.status}.`);
    if (order.invoice_id) await this.showInvoice();
  }

  changed(event, app) {
    const data = event.data;
    if (data.id !== this.order.id || data.version < this.order.version) return;
    const before = this.order.status;
    this.reached[data.status] ??= event.time;
    this.show(data);
    if (data.status !== before) app.announce(`Order ${data.number}: ${STATUS[data.status] ?? data.status}.`);
    if (data.invoice_id && !this.invoice.querySelector("dl")) this.showInvoice();
  }
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
