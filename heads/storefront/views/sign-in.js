// Sign-in: a customer's username and password; afterwards back to where they were going.

import * as api from "../api.js";
import { fill, h } from "../dom.js";

export default function signInView({ root, query, app }) {
  const told = app.told();
  const error = h("p", { id: "sign-in-error", class: "error", role: "alert" });
  const username = h("input", {
    id: "username", name: "username", autocomplete: "username", required: true,
    autocapitalize: "none", spellcheck: "false",
  });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true,
  });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-title", "aria-describedby": "sign-in-error" },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    button,
    error,
  );
  fill(
    root,
    h("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in"),
    told ? h("p", { class: "notice", role: "status" }, told) : null,
    h("p", {}, "Sign in with your customer account to see the catalogue and your orders."),
    form,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.textContent = "";
    try {
      const grant = await api.signIn(username.value.trim(), password.value);
      api.useToken(grant.access_token);
      const me = await api.get("/me");
      if (me.role !== "customer" || !me.customer_id) {
        api.useToken(null);
        throw new Error("This shop is for customer accounts; staff use the portal.");
      }
      app.begin(grant, me);
      app.navigate(nextPage(query));
    } catch (failure) {
      error.textContent = reason(failure);
      password.value = "";
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
}

function nextPage(query) {
  const next = query.get("next") ?? "";
  return next.startsWith("#/") && !next.startsWith("#/sign-in") ? next : "#/catalogue";
}

function reason(failure) {
  if (!(failure instanceof api.ApiError)) return failure.message;
  if (failure.status === 401) return "That username and password do not match an account.";
  if (failure.status === 429) {
    const wait = failure.retryAfter ? ` in ${failure.retryAfter} seconds` : " later";
    return `Too many attempts. Try again${wait}.`;
  }
  if (failure.status === 0) return "The shop could not be reached. Check your connection.";
  return failure.detail || failure.title;
}
