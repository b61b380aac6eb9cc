// Checkout: the cart as an order, placed with one Idempotency-Key per checkout (see
// cart-store.js), so double clicks, retries and a second tab place one order. A refusal for
// short stock names each short line with what is available and offers to adjust the cart.

import * as api from "../api.js";
import * as cart from "../cart-store.js";
import { fill, h, money, total } from "../dom.js";

export default function checkoutView({ root, signal, app }) {
  const body = h("div", { class: "checkout" });
  fill(root, h("h1", { tabindex: "-1" }, "Checkout"), body);
  let busy = false;

  function build() {
    const current = cart.lines();
    if (!current.length) {
      fill(body, h("p", {}, "Your cart is empty."),
        h("p", {}, h("a", { href: "#/catalogue" }, "Browse the catalogue")));
      return;
    }
    const place = h("button", { type: "button", class: "primary", id: "place-order" }, "Place order");
    const problem = h("div", { class: "problem", id: "checkout-problem", tabindex: "-1" });
    place.addEventListener("click", () => submit(place, problem));
    fill(
      body,
      h("h2", {}, "Your order"),
      h("ul", { class: "summary-lines" }, current.map((line) => h("li", {},
        h("span", { class: "what" }, `${line.quantity} × ${line.name}`),
        h("span", { class: "amount" },
          money(total([[line.unit_price, line.quantity]], line.currency), line.currency))))),
      estimate(current),
      h("p", { class: "note" }, "Prices and tax are confirmed when you place the order. ",
        "We deliver to the shipping address on your account."),
      h("p", {}, h("a", { href: "#/cart" }, "Change the cart")),
      place,
      problem,
    );
  }

  async function submit(place, problem) {
    if (busy) return; // a second click while the first is under way
    busy = true;
    place.disabled = true;
    place.textContent = "Placing your order…";
    fill(problem);
    const current = cart.lines(); // from storage: another tab may have placed this cart already
    try {
      if (!current.length) return build();
      const order = cart.orderBody(current);
      const key = await cart.checkoutIdempotencyKey(order);
      const placed = await api.post("/sales-orders", order, { idempotencyKey: key });
      cart.forgetCheckout();
      cart.clear();
      app.tell(`Thank you! Order ${placed.number} is placed.`);
      app.navigate(`#/orders/${encodeURIComponent(placed.id)}`);
    } catch (error) {
      if (!(error instanceof api.ApiError) || error.status === 401) return; // at sign-in now
      if (!error.retryable) cart.forgetCheckout(); // refused for good: a new attempt, a new key
      if (signal.aborted) return;
      explain(error, current, problem, adjusted);
      place.textContent = error.retryable ? "Try again" : "Place order";
      problem.focus();
    } finally {
      busy = false;
      place.disabled = false;
      if (place.textContent === "Placing your order…") place.textContent = "Place order";
    }
  }

  function adjusted() {
    build();
    app.announce("Your cart now holds what is available. Check it and place the order.");
    root.querySelector("h1").focus();
  }

  cart.onChange(() => busy || build(), signal);
  build();
}

function estimate(current) {
  const currencies = [...new Set(current.map((l) => l.currency))];
  return h("div", { class: "totals" }, currencies.map((currency) => {
    const sum = total(current.filter((l) => l.currency === currency)
      .map((l) => [l.unit_price, l.quantity]), currency);
    return h("p", { class: "total" }, "Estimated total: ", h("strong", {}, money(sum, currency)));
  }));
}

/** Say why the order was not placed, and what the customer can do about it. */
function explain(error, current, problem, adjusted) {
  const short = shortLines(error, current);
  if (short.length) {
    const adjust = h("button", { type: "button", class: "primary" }, "Adjust my cart to what is available");
    adjust.addEventListener("click", () => {
      for (const s of short) cart.setQuantity(s.line.product_id, Math.max(s.available, 0));
      adjusted();
    });
    fill(problem, h("h2", {}, "Not enough stock"),
      h("p", {}, "Your order is not placed: some items are not available in the quantity you asked for."),
      h("ul", { class: "short-lines" }, short.map((s) => h("li", { dataset: { productId: s.line.product_id } },
        h("strong", {}, s.line.name), `: you asked for ${s.requested}, `,
        s.available > 0 ? `only ${s.available} available.` : "none available."))),
      adjust);
    return;
  }
  const title = error.retryable ? "Your order could not be confirmed" : "Your order is not placed";
  const hint = error.retryable
    ? "Try again: the order is placed once, however often you press the button."
    : null;
  fill(problem, h("h2", {}, title),
    h("p", { role: "alert" }, error.detail || error.title),
    fieldErrors(error, current),
    hint ? h("p", {}, hint) : null);
}

/** The short lines of an insufficient-stock refusal, matched to the cart's lines. */
function shortLines(error, current) {
  if (error.code !== "insufficient_stock") return [];
  const listed = Array.isArray(error.problem.short_lines) ? error.problem.short_lines : [];
  return listed
    .map((s) => ({ ...s, line: current.find((l) => l.product_id === s.product_id) }))
    .filter((s) => s.line);
}

/** Validation errors (`lines[2].quantity`) named by the cart line they are about. */
function fieldErrors(error, current) {
  if (!error.errors.length) return null;
  return h("ul", {}, error.errors.map((e) => {
    const index = /^lines\[(\d+)\]/.exec(e.field)?.[1];
    const line = index === undefined ? null : current[Number(index)];
    return h("li", {}, line ? `${line.name}: ${e.message}` : e.message);
  }));
}
