// Who is signed in: the token, when it expires, and whose customer account it is. Kept in
// localStorage so a reload or a second tab stays signed in; removed on sign-out or expiry.

const KEY = "erp-shop.session";

/** The session `{token, expiresAt, username, customerId}`, or null when none or expired. */
export function current() {
  let session;
  try {
    session = JSON.parse(localStorage.getItem(KEY));
  } catch {
    return null;
  }
  if (!session?.token || !(session.expiresAt > Date.now())) return null;
  return session;
}

/** Keep a new sign-in: the token answer of `POST /auth/token` and the `/me` answer. */
export function save(grant, me) {
  const session = {
    token: grant.access_token,
    expiresAt: Date.now() + grant.expires_in * 1000,
    username: me.username,
    customerId: me.customer_id,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

/** Forget the sign-in (the cart stays: it is kept per username). */
export function clear() {
  localStorage.removeItem(KEY);
}

/** Call back when another tab signs in or out. */
export function watch(callback) {
  addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) callback();
  });
}
