// Self-care for subscribers: usage against the cap with the projection, their devices and alerts,
// remote-assistance consent, a pairing code for a new agent, and what support did on their home.

import { ApiError, del, get, post, put } from "./api.js";
import { ago, badge, bytes, card, dayBars, deviceNames, field, gauge, h, table, toast, when } from "./ui.js";

export async function selfPage(me) {
  const fresh = await get("/me"); // the homes may have changed since login
  const homes = fresh.agent_ids;
  const sections = [h("h1", {}, "My home")];
  if (!homes.length) {
    sections.push(card("No agent yet", h("p", {}, "Install the homediag agent on your gateway or PC and pair it with the code below.")));
  }
  sections.push(...(await Promise.all(homes.map((id) => homeSections(id, homes.length > 1)))));
  sections.push(h("div", { class: "grid" }, pairingCard(), await activityCard()));
  return h("div", {}, ...sections);
}

async function homeSections(agentId, several) {
  const base = `/agents/${encodeURIComponent(agentId)}`;
  // Each part on its own: one that fails says so and the rest still shows.
  const parts = await Promise.allSettled([
    get(base), get(`${base}/usage`), get(`${base}/devices`),
    get(`${base}/care/notifications?limit=10`), get(`${base}/consent`),
  ]);
  const [agent, usage, devices, alerts, consent] = parts.map((p) => (p.status === "fulfilled" ? p.value : p.reason));
  const failed = (title, exc) => card(title, h("p", { class: "error" }, `Could not load: ${exc.message}`));
  const names = deviceNames(devices);
  return h("div", { class: "grid", "data-home": agentId },
    several ? h("h2", { class: "span" }, agent instanceof Error ? agentId : agent.hostname || agentId) : null,
    usage instanceof Error ? failed("My usage this cycle", usage) : usageCard(usage, names),
    consent instanceof Error ? failed("Remote assistance", consent) : consentCard(agentId, consent),
    devices instanceof Error ? failed("My devices", devices) : card("My devices", table("", [
      { title: "Device", value: (d) => d.HostName || d.vendor || d.PhysAddress },
      { title: "Kind", value: (d) => d.kind },
      { title: "State", value: (d) => (d.Active ? badge("online", "ok") : badge("offline", "muted")) },
      { title: "Seen", value: (d) => ago(d.last_seen) },
    ], devices.devices, { empty: "No device found yet.", label: "my devices" })),
    alerts instanceof Error ? failed("My alerts", alerts) : card("My alerts", table("", [
      { title: "When", value: (a) => when(a.created_at) },
      { title: "Alert", value: (a) => a.subject },
    ], alerts, { empty: "No alert.", label: "my alerts" })));
}

function usageCard(usage, names) {
  const top = usage.top_devices.slice(0, 3);
  const tz = usage.timezone;
  const over = usage.cap_bytes !== null && usage.total_bytes >= usage.cap_bytes;
  return card("My usage this cycle",
    gauge(usage.total_bytes, usage.projected_bytes, usage.cap_bytes),
    over
      ? h("p", { class: "bad" }, `You have used your whole allowance: ${bytes(usage.total_bytes - usage.cap_bytes)} over.`)
      : usage.cap_reached_at
        ? h("p", { class: "warn" }, `At this pace you reach your cap on ${when(usage.cap_reached_at, tz)}.`)
        : usage.cap_bytes ? h("p", { class: "ok" }, "At this pace you stay within your cap.") : null,
    usage.daily.length ? dayBars(usage.daily, { label: "usage per day this cycle" }) : null,
    h("p", { class: "muted" }, `Cycle ends ${when(usage.cycle_end, tz)}.`),
    top.length ? table("Largest users", [
      { title: "Device", value: (d) => (d.device === "other" ? "other (not attributed)" : names.get(d.device.toLowerCase()) || d.device) },
      { title: "Used", num: true, value: (d) => bytes(d.bytes_rx + d.bytes_tx) },
    ], top, { label: "largest users" }) : null);
}

function consentCard(agentId, initial) {
  const path = `/agents/${encodeURIComponent(agentId)}/consent`;
  const status = h("p", { role: "status", "aria-live": "polite", "data-consent-state": "" });
  const minutes = h("select", { name: "minutes" },
    [[30, "30 minutes"], [60, "1 hour"], [240, "4 hours"], [1440, "24 hours"]].map(([v, t]) => h("option", { value: v }, t)));
  const grant = h("button", { type: "submit" }, "Allow remote assistance");
  const revoke = h("button", { type: "button", class: "secondary" }, "End remote assistance now");
  const form = h("form", { class: "row", "aria-label": "Remote assistance" }, field("For", minutes), grant, revoke);
  const show = (consent) => {
    status.replaceChildren(...(consent.active
      ? [badge("allowed", "ok"), ` until ${when(consent.until)}${consent.source ? ` (given ${consent.source === "web" ? "here" : "on the device"})` : ""}`]
      : [badge("not allowed", "muted"), " Support can run routine checks but cannot change anything."]));
    revoke.disabled = !consent.active;
  };
  const act = async (call, message) => {
    try {
      show(await call());
      toast(message);
    } catch (exc) {
      status.replaceChildren(h("span", { class: "error", role: "alert" }, exc instanceof ApiError ? exc.message : String(exc)));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => put(path, { minutes: Number(minutes.value) }), "Remote assistance allowed.");
  });
  revoke.addEventListener("click", () => act(() => del(path), "Remote assistance ended."));
  show(initial);
  return card("Remote assistance",
    h("p", {}, "Let your provider's technician set things up for you (for example add a printer). Every action is recorded below."),
    form, status);
}

function pairingCard() {
  const out = h("p", { role: "status", "aria-live": "polite", "data-pairing-code": "" });
  const button = h("button", { type: "button" }, "Get a pairing code");
  button.addEventListener("click", async () => {
    try {
      const code = await post("/pairing-codes", { ttl_s: 900 });
      out.replaceChildren("Your code: ", h("strong", { class: "code" }, code.code), ` (valid until ${when(code.expires_at)}).`);
    } catch (exc) {
      out.replaceChildren(h("span", { class: "error", role: "alert" }, exc.message));
    }
  });
  return card("Add a new agent", h("p", {}, "Run ", h("code", {}, "homediag-agent enroll"), " on the new device and enter this code."), button, out);
}

async function activityCard() {
  const rows = await get("/me/audit?limit=20");
  return card("What support did on my home", table("", [
    { title: "When", value: (e) => when(e.at) },
    { title: "Who", value: (e) => e.actor },
    { title: "What", value: (e) => (e.details?.name ? `${e.action}: ${e.details.name}` : e.action) },
    { title: "Outcome", value: (e) => e.outcome },
  ], rows, { empty: "Nothing yet.", label: "support activity" }));
}
