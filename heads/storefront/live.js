// Live updates: the gateway's event stream through EventSource.
//
// EventSource reconnects by itself after a dropped connection and then sends the browser's
// Last-Event-ID, so the gateway resumes with nothing missed. It gives up only when the gateway
// answers with an error (an expired token is a 401): then `refused` is dispatched (the app asks
// the API whether the sign-in still holds) and, unless stopped, a new EventSource resumes after
// the last event seen with `?after=` (a new EventSource cannot send Last-Event-ID).
//
// A stream that drops before its first event has no point to resume from: the gateway then
// starts from "now" and whatever happened while it was down is not sent. So when a connection
// opens again after such a drop, `resync` is dispatched and the views fetch what they show
// afresh (their updates are versioned, so an event and a fetch of the same change agree).

import { url } from "./api.js";

/** Event types the shop reacts to; a customer's stream carries only its own orders and invoices. */
export const TYPES = [
  "erp.availability.changed",
  "erp.product.updated",
  "erp.product.archived",
  "erp.sales_order.confirmed",
  "erp.sales_order.picking",
  "erp.sales_order.shipped",
  "erp.sales_order.invoiced",
  "erp.sales_order.paid",
  "erp.sales_order.cancelled",
  "erp.sales_order.short",
  "erp.invoice.issued",
  "erp.invoice.payment_recorded",
  "erp.invoice.paid",
];
const ASKED = "erp.availability.changed,erp.product.,erp.sales_order.,erp.invoice.";
const RETRY_MS = [2000, 5000, 15000, 30000, 60000];

/**
 * The stream as an EventTarget: listen for an event type (`erp.availability.changed`) to get
 * a CustomEvent whose `detail` is the CloudEvent; `state` events say "connecting", "open" or
 * "closed"; `refused` when the gateway turned the stream down; `resync` when events may have
 * been missed (fetch afresh what is shown).
 */
export class Live extends EventTarget {
  #source = null;
  #token = null;
  #last = null; // the sequence of the last event received
  #failures = 0;
  #timer = null;
  #opened = false; // a connection of this session has been open
  #gap = false; // one dropped with no event to resume after: the next open must resync
  state = "closed";

  /** Open the stream for a token (closing any earlier one). */
  start(token) {
    this.stop();
    this.#token = token;
    this.#opened = false;
    this.#gap = false;
    this.#open();
  }

  /** Close the stream and forget the token. */
  stop() {
    clearTimeout(this.#timer);
    this.#source?.close();
    this.#source = null;
    this.#token = null;
    this.#setState("closed");
  }

  #open() {
    const query = { types: ASKED, access_token: this.#token, after: this.#last };
    const source = new EventSource(url("/events/stream", query));
    this.#source = source;
    this.#setState("connecting");
    source.addEventListener("open", () => {
      this.#failures = 0;
      this.#opened = true;
      this.#setState("open");
      if (this.#gap) {
        this.#gap = false;
        this.dispatchEvent(new Event("resync"));
      }
    });
    source.addEventListener("error", () => this.#failed(source));
    for (const type of TYPES) source.addEventListener(type, (message) => this.#receive(message));
  }

  #failed(source) {
    if (source !== this.#source) return;
    if (this.#opened && this.#last === null) this.#gap = true;
    if (source.readyState !== EventSource.CLOSED) {
      this.#setState("connecting"); // EventSource retries by itself, with Last-Event-ID
      return;
    }
    this.#source = null;
    this.#setState("closed");
    this.dispatchEvent(new Event("refused"));
    const delay = RETRY_MS[Math.min(this.#failures++, RETRY_MS.length - 1)];
    this.#timer = setTimeout(() => this.#token && this.#open(), delay);
  }

  #receive(message) {
    const sequence = Number(message.lastEventId);
    if (this.#last !== null && sequence <= this.#last) return; // seen already
    this.#last = sequence;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    this.dispatchEvent(new CustomEvent(message.type, { detail: event }));
  }

  #setState(state) {
    if (state === this.state) return;
    this.state = state;
    document.documentElement.dataset.live = state;
    this.dispatchEvent(new Event("state"));
  }
}
