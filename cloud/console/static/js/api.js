// The console's only way to data: the public API with the user's bearer token.
// The short-lived access token lives in sessionStorage (gone with the tab). The refresh token is an
// HttpOnly cookie the API sets (session_cookie): no script here can read it, and the browser's
// tabs share it, so a duplicated or new tab renews the same login instead of spending a copy.
// The access token is renewed once, on the first 401; the login page follows if that fails.

const KEY = "homediag.session";
export const API = "/api/v1";

// Every error answer is a problem document (RFC 9457, docs/errors.md): ``detail`` is the sentence
// for people; a 422 also lists each field's ``sentence`` in ``errors``; ``type`` is for programs.
export class ApiError extends Error {
  constructor(status, problem) {
    super(sentence(problem) || `The service answered ${status}; try again.`);
    this.status = status;
    this.type = problem?.type;
    this.title = problem?.title;
  }
}

function sentence(problem) {
  if (typeof problem === "string") return problem;
  if (typeof problem?.detail === "string" && problem.detail) return problem.detail;
  if (typeof problem?.errors?.[0]?.sentence === "string") return problem.errors[0].sentence;
  return typeof problem?.title === "string" ? problem.title : "";
}

// The problem document of a failed reply, or what stands in for one (a proxy's HTML page).
async function problemOf(reply) {
  const body = await reply.json().catch(() => null);
  return body && typeof body === "object" ? body : reply.statusText;
}

const RANK = { csr: 1, technician: 2, supervisor: 3, admin: 4, platform: 5 };

// Only to hide what the API would refuse anyway; the API checks every request itself.
export function atLeast(me, role) {
  return (RANK[me?.role] || 0) >= RANK[role];
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function save(value) {
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
}

// Every call that sets, spends or clears the refresh cookie says it comes from the console: a page
// of another site cannot add this header (no CORS), so it cannot log this browser in or out.
const CLIENT = { "X-Homediag-Client": "console" };

async function tokenRequest(fields) {
  const reply = await fetch(`${API}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...CLIENT },
    body: new URLSearchParams(fields),
  });
  if (!reply.ok) throw new ApiError(reply.status, await problemOf(reply));
  return reply.json().catch(() => ({}));
}

// Renew through the cookie, one tab at a time where the browser offers locks (secure contexts):
// the tabs share the cookie, and a token presented twice ends the login.
function renew() {
  const grant = () => tokenRequest({ grant_type: "refresh_token" });
  return navigator.locks ? navigator.locks.request("homediag-refresh", grant) : grant();
}

// Whose access token this is (its ``sub``), to notice that another tab logged in as someone else.
function subject(access) {
  try {
    return JSON.parse(atob(access.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub;
  } catch {
    return undefined;
  }
}

export async function login(tenant, username, password) {
  const tokens = await tokenRequest({ grant_type: "password", tenant, username, password, session_cookie: "true" });
  save({ access: tokens.access_token });
  const me = await get("/me");
  save({ ...session(), me });
  return me;
}

// A tab opened without a session of its own (new, duplicated, reloaded after the tab storage
// was cleared) continues the browser's login through the cookie, if there is one.
export async function resume() {
  if (session()?.me) return;
  try {
    save({ access: (await renew()).access_token });
    save({ ...session(), me: await get("/me", { retry: false }) });
  } catch {
    save(null);
  }
}

export async function logout() {
  save(null);
  // The cookie goes with the request (same origin, path /api/v1/auth); the answer clears it.
  await fetch(`${API}/auth/revoke`, { method: "POST", headers: CLIENT }).catch(() => {});
}

let refreshing = null;

async function refresh() {
  // One refresh at a time in this tab (a page fires requests in parallel), and across tabs (renew).
  refreshing ??= (async () => {
    const current = session();
    if (!current?.access) throw new ApiError(401, "not logged in");
    const tokens = await renew();
    // Logged out (or logged in anew) meanwhile: do not bring the old session back.
    if (session()?.access !== current.access) throw new ApiError(401, "the session changed");
    // Another tab logged this browser in as someone else: the cookie is theirs now.
    if (current.me && subject(tokens.access_token) !== current.me.user_id) throw new ApiError(401, "another login replaced this one");
    save({ ...current, access: tokens.access_token });
  })().finally(() => { refreshing = null; });
  return refreshing;
}

export async function request(method, path, body, { raw = false, retry = true, signal } = {}) {
  const current = session();
  const headers = { Accept: "application/json" };
  if (current?.access) headers.Authorization = `Bearer ${current.access}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(API + path, {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (reply.status === 401 && retry && current?.access) {
    try {
      await refresh();
    } catch {
      save(null);
      location.hash = "#/login";
      throw new ApiError(401, "your session ended: log in again");
    }
    return request(method, path, body, { raw, retry: false, signal });
  }
  if (raw) return reply;
  if (reply.status === 204) return null;
  if (!reply.ok) throw new ApiError(reply.status, await problemOf(reply));
  return reply.json().catch(() => null);
}

export const get = (path, options) => request("GET", path, undefined, options);
export const post = (path, body) => request("POST", path, body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

// Server-sent events through fetch (EventSource cannot send an Authorization header).
export async function follow(path, onEvent, signal) {
  const reply = await request("GET", path, undefined, { raw: true, signal });
  if (!reply.ok) throw new ApiError(reply.status, await problemOf(reply));
  const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) onEvent(event, JSON.parse(data));
    }
  }
}
