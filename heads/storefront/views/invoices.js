// Invoices: each with its amounts, what is paid and what is still due, kept current by the
// live stream (`erp.invoice.*`). `invoiceFacts` is shared with the order page.

import { fill, h, money, time } from "../dom.js";
import { pager } from "./pager.js";

const STATUS = { issued: "Awaiting payment", paid: "Paid" };

/** An invoice's facts as a description list. */
export function invoiceFacts(invoice) {
  const amount = (value) => money(value, invoice.currency);
  const fact = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h(
    "dl",
    { class: "facts", dataset: { invoiceId: invoice.id, status: invoice.status } },
    fact("Status", h("span", { class: `badge status-${invoice.status}` }, STATUS[invoice.status] ?? invoice.status)),
    fact("Issued", time(invoice.issued_at)),
    fact("Subtotal", amount(invoice.subtotal)),
    fact("Tax", amount(invoice.tax)),
    fact("Total", amount(invoice.total)),
    fact("Paid", amount(invoice.paid_amount)),
    fact("Outstanding", amount(invoice.outstanding)),
    invoice.paid_at ? fact("Paid on", time(invoice.paid_at)) : null,
  );
}

function invoiceCard(invoice) {
  return h(
    "article",
    { class: "card", "aria-labelledby": `invoice-${invoice.id}` },
    h("h2", { id: `invoice-${invoice.id}` }, `Invoice ${invoice.number}`),
    invoiceFacts(invoice),
    h("p", {}, h("a", { href: `#/orders/${encodeURIComponent(invoice.sales_order_id)}` },
      "View the order", h("span", { class: "visually-hidden" }, ` of invoice ${invoice.number}`))),
  );
}

export default async function invoicesView({ root, query, signal, app }) {
  const summary = h("p", { id: "results", class: "summary", tabindex: "-1" }, "Loading invoices…");
  const list = h("ul", { class: "cards" });
  const pages = h("nav", { class: "pager", "aria-label": "Pages of invoices" });
  fill(root, h("h1", { tabindex: "-1" }, "Invoices"), summary, list, pages);
  const shown = new Map(); // invoice id → its list item

  app.live.addEventListener("erp.invoice.payment_recorded", update, { signal });
  app.live.addEventListener("erp.invoice.paid", update, { signal });
  function update({ detail }) {
    const item = shown.get(detail.data.id);
    if (item) fill(item, invoiceCard(detail.data));
  }

  const browse = pager({
    path: "/invoices",
    route: "#/invoices",
    query,
    signal,
    render(page, number) {
      shown.clear();
      fill(list, page.items.map((invoice) => {
        const item = h("li", {}, invoiceCard(invoice));
        shown.set(invoice.id, item);
        return item;
      }));
      summary.textContent = page.items.length
        ? `Page ${number}: ${page.items.length} invoice${page.items.length === 1 ? "" : "s"}.`
        : "You have no invoices yet. An invoice is issued when an order ships.";
      return { summary, nav: pages };
    },
    failed: (error) => (summary.textContent = `Your invoices could not be loaded: ${error.detail || error.title}`),
  });
  app.live.addEventListener("resync", () => browse.refresh(), { signal });
  await browse.start();
}
