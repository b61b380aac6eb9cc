// Building the page from data without ever parsing data as HTML, and formatting for people.
//
// Every string a view passes to `h` becomes a text node (or an attribute value), so a product
// named `<img src=x onerror=alert(1)>` shows as typed and runs nothing. There is no innerHTML
// anywhere in this head, and no `style` attribute (the gateway's CSP forbids inline styles).

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "style", "srcdoc"]);

/** An element: `h("a", {href: "#/cart", class: "x"}, "text", child)`; `on*` props are listeners. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (FORBIDDEN.has(name)) throw new Error(`h(): ${name} is not allowed`);
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...nodes(children));
  return element;
}

/** Children as nodes: strings and numbers become text nodes, nulls and falses are skipped. */
export function nodes(children) {
  return children
    .flat(Infinity)
    .filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
}

/** Replace an element's children. */
export function fill(element, ...children) {
  element.replaceChildren(...nodes(children));
  return element;
}

/** Text for screen readers only. */
export function hidden(text) {
  return h("span", { class: "visually-hidden" }, text);
}

export const LOCALE = navigator.languages?.[0] ?? navigator.language ?? "en";

/** A decimal string (`"19.90"`) in its ISO 4217 currency, for the reader's locale. */
export function money(amount, currency) {
  try {
    const format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    // A string keeps the exact decimal (Intl.NumberFormat v3); no float rounding on the way.
    return format.format(String(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** The number of minor-unit digits of a currency (2 for EUR, 0 for JPY). */
function digits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** Sum `[amount, quantity]` pairs exactly (integer minor units); a decimal string back. */
export function total(pairs, currency) {
  const places = digits(currency);
  const scale = 10n ** BigInt(places);
  let sum = 0n;
  for (const [amount, quantity] of pairs) sum += toMinor(String(amount), places) * BigInt(quantity);
  const sign = sum < 0n ? "-" : "";
  const abs = sum < 0n ? -sum : sum;
  const whole = (abs / scale).toString();
  if (places === 0) return sign + whole;
  return `${sign}${whole}.${(abs % scale).toString().padStart(places, "0")}`;
}

function toMinor(amount, places) {
  const negative = amount.startsWith("-");
  const [whole, fraction = ""] = amount.replace(/^[-+]/, "").split(".");
  const minor = BigInt(whole || "0") * 10n ** BigInt(places) +
    BigInt((fraction + "0".repeat(places)).slice(0, places) || "0");
  return negative ? -minor : minor;
}

/** An RFC 3339 time for people, in their locale and time zone. */
export function when(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

/** A `<time>` element for an RFC 3339 time. */
export function time(iso) {
  return iso ? h("time", { datetime: iso }, when(iso)) : null;
}
