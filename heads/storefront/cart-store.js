// The cart, kept in localStorage per username so it survives a reload, an expired sign-in and a
// second tab, and the idempotency key of the checkout under way.
//
// The key is made once per checkout: the first "Place order" stores it beside the lines it was
// made for, and every retry of the same lines (a double click, a retry after a network error,
// the same cart placed from another tab) sends the same key, so the API places one order and
// replays its answer to the others. A changed cart gets a new key; a placed or refused order
// forgets it.

import { newId } from "./api.js";

const CHANGED = "cart-changed";
let user = null;

const cartKey = () => `erp-shop.cart.${user}`;
const checkoutKey = () => `erp-shop.checkout.${user}`;

function read(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function write(lines) {
  localStorage.setItem(cartKey(), JSON.stringify(lines));
  dispatchEvent(new Event(CHANGED));
}

/** Use the cart of this username (null: none). */
export function useCart(username) {
  user = username;
  dispatchEvent(new Event(CHANGED));
}

/** The lines, fresh from storage: `[{product_id, sku, name, unit_price, currency, quantity}]`. */
export function lines() {
  return user ? read(cartKey(), []) : [];
}

/** How many units the cart holds. */
export function count() {
  return lines().reduce((sum, line) => sum + line.quantity, 0);
}

/** Add `quantity` of a product (from the catalogue) to the cart. */
export function add(product, quantity) {
  const all = lines();
  const line = all.find((l) => l.product_id === product.id);
  if (line) line.quantity += quantity;
  else {
    const { id, sku, name, unit_price, currency } = product;
    all.push({ product_id: id, sku, name, unit_price, currency, quantity });
  }
  write(all);
}

/** Set a line's quantity; 0 removes it. */
export function setQuantity(productId, quantity) {
  const all = lines()
    .map((l) => (l.product_id === productId ? { ...l, quantity } : l))
    .filter((l) => l.quantity > 0);
  write(all);
}

/** Empty the cart. */
export function clear() {
  write([]);
}

/** Call back whenever the cart changes, in this tab or another. */
export function onChange(callback, signal) {
  addEventListener(CHANGED, callback, { signal });
  addEventListener(
    "storage",
    (event) => {
      if (event.key === cartKey() || event.key === null) callback();
    },
    { signal },
  );
}

/** The order body for these lines. */
export function orderBody(cartLines) {
  return { lines: cartLines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })) };
}

/**
 * The Idempotency-Key for placing this body: the stored one when it was made for the same body,
 * else a new one, stored. Tabs take turns (Web Locks where the browser has them), so two tabs
 * placing the same cart at once get the same key.
 */
export async function checkoutIdempotencyKey(body) {
  const wanted = JSON.stringify(body);
  const choose = () => {
    const stored = read(checkoutKey(), null);
    if (stored?.body === wanted) return stored.key;
    const key = newId();
    localStorage.setItem(checkoutKey(), JSON.stringify({ key, body: wanted }));
    return key;
  };
  return navigator.locks ? navigator.locks.request(checkoutKey(), choose) : choose();
}

/** Forget the checkout's key (the order was placed, or refused for good). */
export function forgetCheckout() {
  localStorage.removeItem(checkoutKey());
}
