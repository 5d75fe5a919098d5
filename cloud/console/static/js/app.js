// The shell: hash routes, the login page, the navigation by role, and focus on each new page.

import { ApiError, atLeast, login, logout, resume, session } from "./api.js";
import { auditPage } from "./audit.js";
import { dailyPage } from "./daily.js";
import { homePage } from "./home.js";
import { searchPage } from "./search.js";
import { selfPage } from "./self.js";
import { teamPage } from "./team.js";
import { field, h } from "./ui.js";

const ROUTES = [
  [/^#\/search(?:\?.*)?$/, (me) => searchPage(me), "staff"],
  [/^#\/home\/([A-Za-z0-9_-]+)$/, (me, id) => homePage(me, id), "staff"],
  [/^#\/daily(?:\?.*)?$/, (me) => dailyPage(me), "staff"],
  [/^#\/audit$/, (me) => auditPage(me), "supervisor"],
  [/^#\/team(?:\?.*)?$/, (me) => teamPage(me), "supervisor"],
  [/^#\/self$/, (me) => selfPage(me), "subscriber"],
];

function allowed(me, need) {
  if (need === "subscriber") return me.role === "subscriber";
  if (need === "staff") return me.role !== "subscriber";
  return atLeast(me, need);
}

function landing(me) {
  return me.role === "subscriber" ? "#/self" : "#/search";
}

function loginPage() {
  const error = h("p", { class: "error", role: "alert" });
  const input = (name, text, type = "text", autocomplete = undefined) =>
    field(text, h("input", { name, type, required: true, autocomplete }));
  const form = h("form", { "aria-label": "Log in" },
    input("tenant", "Operator", "text", "organization"),
    input("username", "Username", "text", "username"),
    input("password", "Password", "password", "current-password"),
    h("button", { type: "submit" }, "Log in"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector("button");
    button.disabled = true;
    error.textContent = "";
    try {
      const me = await login(data.get("tenant"), data.get("username"), data.get("password"));
      location.hash = landing(me);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 429) error.textContent = `Too many attempts: ${exc.message}`;
      else if (exc instanceof ApiError && exc.status === 400) error.textContent = "Wrong operator, username or password.";
      else error.textContent = `Could not log in: ${exc.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "login card" }, h("h1", {}, "Log in to homediag"), form);
}

function showNav(me) {
  const nav = document.getElementById("nav");
  nav.hidden = !me;
  document.getElementById("logout").hidden = !me;
  document.getElementById("who").textContent = me ? `${me.username} · ${me.role}${me.tenant_id ? ` · ${me.tenant_id}` : ""}` : "";
  if (!me) return;
  for (const link of nav.querySelectorAll("a")) {
    const need = link.dataset.role || (link.hasAttribute("data-staff") ? "staff" : "subscriber");
    link.hidden = !allowed(me, need);
    const current = location.hash.startsWith(link.getAttribute("href"));
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

let generation = 0;

async function render() {
  const main = document.getElementById("main");
  const me = session()?.me;
  const mine = ++generation;
  if (!me) {
    showNav(null);
    if (location.hash !== "#/login") { location.hash = "#/login"; return; }
    main.replaceChildren(loginPage());
    main.querySelector("input")?.focus();
    document.title = "Log in · homediag";
    return;
  }
  const route = ROUTES.find(([pattern]) => pattern.test(location.hash));
  if (!route || !allowed(me, route[2])) { location.hash = landing(me); return; }
  showNav(me);
  const [, page] = route;
  const args = location.hash.match(route[0]).slice(1);
  main.replaceChildren(h("p", { class: "muted", "aria-busy": "true" }, "Loading…"));
  try {
    const content = await page(me, ...args);
    if (mine !== generation) return; // the user moved on while this page loaded
    main.replaceChildren(content);
  } catch (exc) {
    if (mine !== generation) return;
    main.replaceChildren(h("div", { class: "card" }, h("h1", {}, "Could not load this page"),
      h("p", { class: "error", role: "alert" }, exc.message)));
  }
  const heading = main.querySelector("h1");
  document.title = `${heading ? heading.textContent : "homediag"} · homediag`;
  main.focus();
}

document.getElementById("logout").addEventListener("click", async () => {
  await logout();
  location.hash = "#/login";
});
window.addEventListener("hashchange", render);
resume().finally(render);
