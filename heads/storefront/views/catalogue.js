// The catalogue: search, keyset pages, prices in each product's currency, and availability that
// follows `erp.availability.changed` on screen. Out-of-stock products cannot be added.

import * as api from "../api.js";
import * as cart from "../cart-store.js";
import { fill, h, hidden, money } from "../dom.js";
import { pager } from "./pager.js";

const PAGE_SIZE = 12;

export default async function catalogueView({ root, query, signal, app }) {
  const shown = new Map(); // product id → the card's parts
  const search = h("input", { id: "search", type: "search", name: "q", value: query.get("q") ?? "" });
  const form = h(
    "form",
    { role: "search", class: "search", "aria-label": "Products" },
    h("label", { for: "search" }, "Search products"),
    h("div", { class: "search-row" }, search, h("button", { type: "submit" }, "Search")),
  );
  const summary = h("p", { id: "results", class: "summary", tabindex: "-1" }, "Loading products…");
  const list = h("ul", { class: "products", "aria-describedby": "results" });
  const nav = h("nav", { class: "pager", "aria-label": "Pages of products" });
  fill(root, h("h1", { tabindex: "-1" }, "Catalogue"), form, summary, list, nav);

  const pages = pager({
    path: "/products",
    route: "#/catalogue",
    query,
    signal,
    size: PAGE_SIZE,
    filterNames: ["q"],
    render(page, number, filters) {
      shown.clear();
      fill(list, page.items.map((product) => card(product, shown, app)));
      summary.textContent = describe(page.items.length, filters.q, number);
      for (const entry of shown.values()) fetchAvailability(entry, signal);
      return { summary, nav };
    },
    failed: (error) =>
      (summary.textContent = `The catalogue could not be loaded: ${error.detail || error.title}`),
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    pages.search({ q: search.value.trim() });
  });
  follow(app.live, shown, signal);
  app.live.addEventListener("resync", () => {
    for (const entry of shown.values()) {
      entry.fresh = false;
      fetchAvailability(entry, signal);
    }
  }, { signal });
  await pages.start();
}

function describe(count, q, pageNumber) {
  if (!count) return q ? `No products match “${q}”.` : "There are no products yet.";
  const what = `${count} product${count === 1 ? "" : "s"}${q ? ` matching “${q}”` : ""}`;
  return `Page ${pageNumber}: ${what}.`;
}

function card(product, shown, app) {
  const id = product.id;
  const entry = {
    product,
    fresh: false, // set once an event has told the availability: a slower fetch must not undo it
    title: h("h2", { id: `product-${id}` }, product.name),
    description: h("p", { class: "description" }, product.description),
    price: h("p", { class: "price" }, money(product.unit_price, product.currency)),
    availability: h("p", { class: "availability", "data-testid": "availability" }, "Checking stock…"),
    added: h("p", { class: "added" }),
  };
  entry.article = h(
    "article",
    { class: "product", "aria-labelledby": `product-${id}`, dataset: { productId: id } },
    entry.title,
    h("p", { class: "sku" }, `SKU ${product.sku}`),
    entry.description,
    entry.price,
    entry.availability,
    addForm(entry, app),
    entry.added,
  );
  shown.set(id, entry);
  return h("li", {}, entry.article);
}

/** Quantity and "Add to cart", both disabled until the product is known to be in stock. */
function addForm(entry, app) {
  const { id, name } = entry.product;
  entry.quantity = h("input", {
    id: `quantity-${id}`, name: "quantity", type: "number", min: "1", step: "1", value: "1",
    inputmode: "numeric", required: true, disabled: true,
  });
  entry.add = h("button", { type: "submit", disabled: true }, "Add to cart", hidden(`: ${name}`));
  const form = h(
    "form",
    { class: "add" },
    h("label", { for: `quantity-${id}` }, "Quantity", hidden(` of ${name}`)),
    entry.quantity,
    entry.add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const quantity = Number(entry.quantity.value);
    cart.add(entry.product, quantity);
    entry.added.textContent = `Added ${quantity} to your cart.`;
    app.announce(`Added ${quantity} × ${entry.product.name} to your cart.`);
  });
  return form;
}

async function fetchAvailability(entry, signal) {
  try {
    const level = await api.get(`/products/${encodeURIComponent(entry.product.id)}/availability`);
    if (!signal.aborted && !entry.fresh) showAvailability(entry, level.available);
  } catch (error) {
    if (!entry.fresh && error instanceof api.ApiError) entry.availability.textContent = "Stock unknown";
  }
}

/** Availability on the card: a number in stock, or out of stock and not addable. */
function showAvailability(entry, available) {
  const inStock = available > 0 && entry.product.active !== false;
  entry.article.dataset.available = String(available);
  entry.availability.textContent = inStock ? `${available} in stock` : "Out of stock";
  entry.availability.className = `availability ${inStock ? "in-stock" : "out-of-stock"}`;
  entry.quantity.disabled = !inStock;
  entry.add.disabled = !inStock;
  if (inStock) entry.quantity.max = String(available);
  if (inStock && Number(entry.quantity.value) > available) entry.quantity.value = String(available);
}

/** Keep the cards current: availability, names and prices, products leaving the catalogue. */
function follow(live, shown, signal) {
  live.addEventListener("erp.availability.changed", ({ detail }) => {
    const entry = shown.get(detail.data.product_id);
    if (!entry) return;
    entry.fresh = true;
    showAvailability(entry, detail.data.available);
  }, { signal });
  const product = ({ detail }) => {
    const entry = shown.get(detail.data.id);
    if (!entry) return;
    entry.product = detail.data;
    entry.title.textContent = detail.data.name;
    entry.description.textContent = detail.data.description;
    entry.price.textContent = money(detail.data.unit_price, detail.data.currency);
    if (!detail.data.active) showAvailability(entry, 0);
  };
  live.addEventListener("erp.product.updated", product, { signal });
  live.addEventListener("erp.product.archived", product, { signal });
}
