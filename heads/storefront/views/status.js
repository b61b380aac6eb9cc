// An order's status in words, and the timeline of the steps it goes through.

import { fill, h, hidden, time } from "../dom.js";

export const STATUS = {
  draft: "Not yet confirmed",
  confirmed: "Confirmed",
  picking: "Being picked",
  shipped: "Shipped",
  invoiced: "Invoiced",
  paid: "Paid",
  cancelled: "Cancelled",
};

const STEPS = ["confirmed", "picking", "shipped", "invoiced", "paid"];

/** A status as a badge: words for people, the status name for styling and tests. */
export function badge(status) {
  return h("span", { class: `badge status-${status}`, dataset: { status } }, STATUS[status] ?? status);
}

/**
 * Fill `list` (an <ol>) with the steps: done, the current one (aria-current="step"), to come.
 * `reached` maps a status to when it was reached, as far as it is known.
 */
export function timeline(list, status, reached) {
  list.dataset.status = status;
  if (status === "cancelled" || status === "draft") {
    fill(list, h("li", { class: "current", "aria-current": "step" }, STATUS[status], time(reached[status])));
    return list;
  }
  const at = STEPS.indexOf(status);
  fill(list, STEPS.map((step, index) => {
    const state = index < at ? "done" : index === at ? "current" : "todo";
    const words = { done: "done", current: "current step", todo: "not yet" }[state];
    return h(
      "li",
      { class: state, "aria-current": state === "current" ? "step" : null, dataset: { step } },
      h("span", { class: "step" }, STATUS[step]),
      " ",
      time(reached[step]),
      hidden(` (${words})`),
    );
  }));
  return list;
}
