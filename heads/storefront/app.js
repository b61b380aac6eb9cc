// The shop's frame: the router (`#/catalogue`, `#/orders/<id>` …, so any static server can
// serve it), the sign-in state, the header, the live stream, and what the views share.

import * as api from "./api.js";
import * as cart from "./cart-store.js";
import { fill, h } from "./dom.js";
import { Live } from "./live.js";
import * as session from "./session.js";
import cartView from "./views/cart.js";
import catalogueView from "./views/catalogue.js";
import checkoutView from "./views/checkout.js";
import invoicesView from "./views/invoices.js";
import orderView from "./views/order.js";
import ordersView from "./views/orders.js";
import signInView from "./views/sign-in.js";

const ROUTES = [
  { pattern: /^sign-in$/, view: signInView, public: true, nav: null },
  { pattern: /^catalogue$/, view: catalogueView, nav: "catalogue" },
  { pattern: /^cart$/, view: cartView, nav: "cart" },
  { pattern: /^checkout$/, view: checkoutView, nav: "cart" },
  { pattern: /^orders$/, view: ordersView, nav: "orders" },
  { pattern: /^orders\/([^/?]+)$/, view: orderView, nav: "orders" },
  { pattern: /^invoices$/, view: invoicesView, nav: "invoices" },
];

const main = document.getElementById("main");
const live = new Live();
let signedIn = null; // the session, when someone is signed in
let controller = null; // aborts the current view's listeners and requests when it is left
let expiry = null;
let message = null; // shown once by the next view (sign-in, order placed …)

/** What every view gets besides its own container. */
export const app = {
  live,
  get session() {
    return signedIn;
  },
  navigate(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },
  /** Say something to screen readers without moving focus. */
  announce(text) {
    const region = document.getElementById("announcer");
    region.textContent = "";
    setTimeout(() => (region.textContent = text), 50);
  },
  /** A message for the next view to show. */
  tell(text) {
    message = text;
  },
  /** The message left for this view, once. */
  told() {
    const text = message;
    message = null;
    return text;
  },
  /** Start a session from `POST /auth/token`'s grant and `GET /me`. */
  begin(grant, me) {
    start(session.save(grant, me));
  },
  signOut,
};

function start(current) {
  signedIn = current;
  api.useToken(current.token);
  cart.useCart(current.username);
  live.start(current.token);
  clearTimeout(expiry);
  expiry = setTimeout(() => end("Your session has ended. Sign in again; your cart is kept."),
    Math.min(current.expiresAt - Date.now(), 2 ** 31 - 1));
  header();
}

/** End the session and go to the sign-in page, coming back here afterwards. */
function end(text) {
  if (!signedIn) return;
  const back = location.hash;
  stop();
  message = text;
  location.hash = `#/sign-in?next=${encodeURIComponent(back)}`;
}

function stop() {
  session.clear();
  signedIn = null;
  api.useToken(null);
  live.stop();
  cart.useCart(null);
  clearTimeout(expiry);
  header();
}

function signOut() {
  stop();
  message = "You are signed out.";
  app.navigate("#/sign-in");
}

function route(hash) {
  const raw = hash.startsWith("#/") ? hash.slice(2) : "catalogue";
  const [path, search = ""] = raw.split("?");
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path || "catalogue");
    if (match) return { ...candidate, params: match.slice(1), query: new URLSearchParams(search) };
  }
  return { view: notFound, params: [], query: new URLSearchParams(), nav: null, public: true };
}

async function render({ focus = true } = {}) {
  if (location.hash && !location.hash.startsWith("#/")) return; // e.g. the skip link's #main
  controller?.abort();
  controller = new AbortController();
  const current = route(location.hash);
  if (!current.public && !signedIn) {
    location.replace(`#/sign-in?next=${encodeURIComponent(location.hash || "#/catalogue")}`);
    return;
  }
  if (current.view === signInView && signedIn) {
    location.replace("#/catalogue"); // signed in already
    return;
  }
  header(current.nav);
  const root = h("div", { class: "view" });
  main.replaceChildren(root);
  const context = { root, params: current.params, query: current.query, signal: controller.signal, app };
  try {
    await current.view(context);
  } catch (error) {
    if (!context.signal.aborted) failed(root, error);
  }
  const title = root.querySelector("h1");
  document.title = title ? `${title.textContent} · Shop` : "Shop";
  if (focus && title && context.signal === controller.signal) title.focus();
}

function failed(root, error) {
  if (error?.name === "AbortError") return;
  if (error instanceof api.ApiError && error.status === 401) return; // already at sign-in
  const detail = error instanceof api.ApiError ? error.detail || error.title : "Please reload.";
  fill(root, h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", { role: "alert" }, detail));
}

function notFound({ root }) {
  fill(
    root,
    h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, h("a", { href: "#/catalogue" }, "Back to the catalogue")),
  );
}

function header(active) {
  document.getElementById("site-nav").hidden = !signedIn;
  document.getElementById("account").hidden = !signedIn;
  document.getElementById("live-state").hidden = !signedIn;
  document.getElementById("account-name").textContent = signedIn?.username ?? "";
  if (active !== undefined) {
    for (const link of document.querySelectorAll("#site-nav a")) {
      if (link.dataset.nav === active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }
  cartCount();
}

function cartCount() {
  document.getElementById("cart-count").textContent = String(cart.count());
}

function liveState() {
  const words = { open: "on", connecting: "connecting…", closed: "off" };
  document.getElementById("live-state").textContent = `Live updates: ${words[live.state]}`;
}

function boot() {
  api.whenUnauthorized(() => end("Your session has ended. Sign in again; your cart is kept."));
  live.addEventListener("state", liveState);
  // The stream was turned down: ask the API whether the sign-in still holds (a 401 ends it).
  live.addEventListener("refused", () => signedIn && api.get("/me").catch(() => {}));
  cart.onChange(cartCount);
  session.watch(() => {
    const stored = session.current();
    if (!stored && signedIn) end("You were signed out in another tab.");
    else if (stored && stored.token !== signedIn?.token) {
      start(stored);
      render();
    }
  });
  document.getElementById("sign-out").addEventListener("click", signOut);
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  addEventListener("hashchange", () => render());
  const stored = session.current();
  if (stored) start(stored);
  else session.clear();
  liveState();
  render({ focus: false });
}

boot();
