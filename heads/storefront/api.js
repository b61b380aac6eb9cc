// The shop's HTTP client: fetch with the bearer token and a request id, every failure one
// `ApiError` (from the gateway's application/problem+json, or a network failure), keyset pages.

import { GATEWAY_URL } from "./config.js";

export const API = `${GATEWAY_URL.replace(/\/+$/, "")}/api/v1`;

/** Anything that went wrong with a call: a problem from the API, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor({ status, code, title, detail = "", errors = [], problem = {}, requestId, retryAfter }) {
    super(detail || title);
    this.name = "ApiError";
    this.status = status; // 0 when the request got no answer (network, CORS, offline)
    this.code = code; // the problem's stable `code`, e.g. "insufficient_stock"
    this.title = title;
    this.detail = detail;
    this.errors = errors; // [{field: "lines[0].quantity", message}]
    this.problem = problem; // the whole problem document (e.g. its `short_lines`)
    this.requestId = requestId;
    this.retryAfter = retryAfter; // seconds, from Retry-After, when the API sent one
  }

  /** Whether the same request may succeed later: no answer, rate limited, or a fault. */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

let token = null;
let unauthorized = () => {};

/** The bearer token sent from now on (null: none). */
export function useToken(value) {
  token = value;
}

/** Called with the ApiError when the API refuses the token (expired, revoked). */
export function whenUnauthorized(callback) {
  unauthorized = callback;
}

/** A random UUID (v4) for request ids and idempotency keys; works outside secure contexts too. */
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The URL of an API path with its query (empty values left out). */
export function url(path, query = {}) {
  const target = new URL(API + path, location.href);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

/**
 * One call: the decoded JSON answer, or an ApiError.
 * `idempotencyKey` makes a POST safe to repeat: the API replays the first answer.
 */
export async function request(method, path, { query, body, idempotencyKey, auth = true } = {}) {
  const requestId = newId();
  const headers = { Accept: "application/json", "X-Request-ID": requestId };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError({
      status: 0,
      code: "network",
      title: "The shop could not be reached",
      detail: "Check your connection and try again.",
      requestId,
    });
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  const error = await problemOf(response, requestId);
  if (response.status === 401 && auth) unauthorized(error);
  throw error;
}

async function problemOf(response, requestId) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // not JSON (a proxy's page): the status alone says what happened
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || undefined;
  return new ApiError({
    status: response.status,
    code: problem.code ?? `http_${response.status}`,
    title: problem.title ?? response.statusText ?? "Request failed",
    detail: problem.detail ?? "",
    errors: Array.isArray(problem.errors) ? problem.errors : [],
    problem,
    requestId: response.headers.get("X-Request-ID") ?? requestId,
    retryAfter,
  });
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, options = {}) => request("POST", path, { ...options, body });

/** One keyset page: `{items, next_cursor}`; pass the previous page's `next_cursor` as `cursor`. */
export function page(path, { limit = 20, cursor = null, ...filters } = {}) {
  return get(path, { ...filters, limit, cursor });
}

/** A token for a username and password: `{access_token, expires_in, role}`. */
export function signIn(username, password) {
  return request("POST", "/auth/token", { body: { username, password }, auth: false });
}
