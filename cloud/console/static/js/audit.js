// The tenant's audit log: every CSR action, who, when, on which home, and how it ended.

import { get } from "./api.js";
import { card, h, table, when } from "./ui.js";

export async function auditPage() {
  const rows = await get("/audit?limit=200");
  return h("div", {}, h("h1", {}, "Audit log"), card("The latest 200 actions", table("", [
    { title: "When", value: (e) => when(e.at) },
    { title: "Who", value: (e) => e.actor },
    { title: "Action", value: (e) => e.action },
    { title: "Home", value: (e) => (e.agent_id ? h("a", { href: `#/home/${e.agent_id}` }, e.agent_id.slice(0, 8)) : "–") },
    { title: "Outcome", value: (e) => e.outcome },
    { title: "Details", value: (e) => summary(e.details) },
  ], rows, { empty: "No action recorded yet.", label: "audit log" })));
}

function summary(details) {
  const text = Object.entries(details || {})
    .filter(([k]) => k !== "command_id")
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" ");
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
