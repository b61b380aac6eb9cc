// The cart: lines with quantities to change or remove, estimated totals per currency, and a
// warning where a line asks for more than is available (kept current by the live stream).

import * as api from "../api.js";
import * as cart from "../cart-store.js";
import { fill, h, hidden, money, total } from "../dom.js";

export default function cartView({ root, signal, app }) {
  const told = app.told();
  const body = h("div", { class: "cart" });
  fill(
    root,
    h("h1", { tabindex: "-1" }, "Your cart"),
    told ? h("p", { class: "notice", role: "status" }, told) : null,
    body,
  );
  const available = new Map(); // product id → available units, as last heard
  let editing = false; // our own quantity edits update totals in place, keeping focus
  const lines = new Map(); // product id → the line's parts

  function build() {
    const current = cart.lines();
    lines.clear();
    if (!current.length) {
      fill(body, h("p", {}, "Your cart is empty."),
        h("p", {}, h("a", { href: "#/catalogue" }, "Browse the catalogue")));
      return;
    }
    fill(
      body,
      h("ul", { class: "cart-lines" }, current.map((line) => lineItem(line, lines, available, edit))),
      h("div", { class: "totals", id: "cart-totals" }),
      h("p", { class: "note" }, "Prices and tax are confirmed when you place the order."),
      h("p", {}, h("a", { class: "button primary", href: "#/checkout" }, "Go to checkout")),
    );
    totals(current);
    for (const line of current) stock(line.product_id, available, lines, signal);
  }

  function edit(productId, quantity) {
    editing = true;
    cart.setQuantity(productId, quantity);
    editing = false;
    if (quantity === 0) {
      build();
      app.announce("Removed from your cart.");
      root.querySelector("h1").focus();
    } else {
      totals(cart.lines());
      warn(lines.get(productId), available.get(productId), quantity);
    }
  }

  cart.onChange(() => editing || build(), signal);
  app.live.addEventListener("resync", () => {
    available.clear();
    for (const id of lines.keys()) stock(id, available, lines, signal);
  }, { signal });
  app.live.addEventListener("erp.availability.changed", ({ detail }) => {
    const { product_id: id, available: units } = detail.data;
    available.set(id, units);
    const line = lines.get(id);
    if (line) warn(line, units, Number(line.quantity.value));
  }, { signal });
  build();
}

function lineItem(line, lines, available, edit) {
  const id = line.product_id;
  const parts = {
    quantity: h("input", {
      id: `cart-quantity-${id}`, type: "number", min: "1", step: "1", value: String(line.quantity),
      inputmode: "numeric", required: true,
    }),
    lineTotal: h("p", { class: "line-total" }, money(total([[line.unit_price, line.quantity]], line.currency), line.currency)),
    warning: h("p", { class: "warning", "data-testid": "stock-warning" }),
    line,
  };
  parts.quantity.addEventListener("change", () => {
    const quantity = Number(parts.quantity.value);
    if (!Number.isInteger(quantity) || quantity < 1) {
      parts.quantity.setAttribute("aria-invalid", "true");
      parts.warning.textContent = "Enter a whole number of at least 1, or remove the line.";
      return;
    }
    parts.quantity.removeAttribute("aria-invalid");
    parts.lineTotal.textContent = money(total([[line.unit_price, quantity]], line.currency), line.currency);
    edit(id, quantity);
  });
  lines.set(id, parts);
  const remove = h("button", { type: "button", class: "secondary", onclick: () => edit(id, 0) },
    "Remove", hidden(`: ${line.name}`));
  return h(
    "li",
    { class: "cart-line", "aria-labelledby": `line-${id}`, dataset: { productId: id } },
    h("h2", { id: `line-${id}` }, line.name),
    h("p", { class: "sku" }, `SKU ${line.sku}`),
    h("p", { class: "unit" }, `${money(line.unit_price, line.currency)} each`),
    h("div", { class: "field quantity" },
      h("label", { for: `cart-quantity-${id}` }, "Quantity", hidden(` of ${line.name}`)),
      parts.quantity),
    parts.lineTotal,
    parts.warning,
    remove,
  );
}

function totals(current) {
  const box = document.getElementById("cart-totals");
  if (!box) return;
  const currencies = [...new Set(current.map((l) => l.currency))];
  fill(box, currencies.map((currency) => {
    const sum = total(current.filter((l) => l.currency === currency)
      .map((l) => [l.unit_price, l.quantity]), currency);
    return h("p", { class: "total" }, "Estimated total: ", h("strong", {}, money(sum, currency)));
  }));
}

async function stock(productId, available, lines, signal) {
  try {
    const level = await api.get(`/products/${encodeURIComponent(productId)}/availability`);
    if (signal.aborted || available.has(productId)) return;
    available.set(productId, level.available);
    const line = lines.get(productId);
    if (line) warn(line, level.available, Number(line.quantity.value));
  } catch {
    // the warning is a courtesy; checkout has the last word
  }
}

function warn(line, units, quantity) {
  if (!line || units === undefined) return;
  line.warning.textContent =
    units <= 0 ? "Out of stock at the moment." : quantity > units ? `Only ${units} available.` : "";
}
