// A home at a glance: online state, experience score, devices (printers first), connectivity,
// usage against the cap, recent alerts, and remote diagnostics with the result arriving live.

import { ApiError, atLeast, follow, get, post } from "./api.js";
import { ago, badge, bytes, card, dayBars, deviceNames, field, gauge, h, lineChart, ms, table, when } from "./ui.js";

// What a CSR may run from here; the API decides (roles, tier, consent) and says why not.
const DIAGNOSTICS = [
  { name: "ping", label: "Ping (IPPing)", param: "host", hint: "host or address", extra: { count: 5 } },
  { name: "traceroute", label: "Trace route", param: "host", hint: "host or address" },
  { name: "dns_lookup", label: "DNS lookup", param: "name", hint: "name to resolve" },
  { name: "http_check", label: "HTTP check", param: "url", hint: "https://…" },
  { name: "printer_check", label: "Printer check (IPP)", param: "uri", hint: "ipp://printer:631/ipp/print" },
  { name: "discover", label: "Discover devices now", param: null },
  { name: "support_bundle", label: "Support bundle (needs consent)", param: null, role: "technician" },
];

const BUCKET_S = 600;
// A missing bucket is an outage (or an agent that did not report): the line breaks there.
const GAP_MS = 1.5 * BUCKET_S * 1000;

export async function homePage(me, agentId) {
  const base = `/agents/${encodeURIComponent(agentId)}`;
  const until = new Date();
  const since = new Date(until.getTime() - 24 * 3600 * 1000);
  // Every part of the page in parallel; a part that fails says so without hiding the rest.
  const parts = await Promise.allSettled([
    get(base),
    get(`${base}/experience`),
    get(`${base}/devices`),
    // 10-minute averages (loss: the worst): 144 points a series instead of 1,440 rows.
    get(`${base}/connectivity?since=${since.toISOString()}&until=${until.toISOString()}&bucket_s=${BUCKET_S}`),
    get(`${base}/usage`),
    get(`${base}/care/notifications?limit=10`),
    get(`${base}/consent`),
    get(`${base}/commands?limit=10`),
  ]);
  const [agent, experience, devices, history, usage, alerts, consent, commands] = parts.map((p) => (p.status === "fulfilled" ? p.value : p.reason));
  if (agent instanceof Error) throw agent;
  const owner = agent.subscriber_id ? await get(`/subscribers/${agent.subscriber_id}`).catch(() => null) : null;
  const names = deviceNames(devices);

  return h("div", {},
    h("h1", {}, `Home ${agent.hostname || agent.agent_id.slice(0, 8)}`),
    h("div", { class: "card", style: { "margin-bottom": "1rem" } },
      h("div", { class: "kpis" },
        kpi(agent.online ? badge("online", "ok") : badge("offline", "bad"), `last seen ${ago(agent.last_seen_at)}`, "agent-state"),
        kpi(scoreText(experience), "experience score (24 h)", "experience"),
        kpi(devices instanceof Error ? "–" : `${devices.active}/${devices.count}`, "devices online", "device-count"),
        kpi(usage instanceof Error || usage.used_percent === null ? "–" : `${usage.used_percent}%`, "of the cap used", "used-percent"),
        kpi(consent instanceof Error ? "–" : consent.active ? badge("granted", "ok") : badge("not granted", "muted"), "remote assistance", "consent"),
      ),
      h("p", { class: "muted" },
        owner ? `Subscriber ${owner.reference}${owner.name ? ` (${owner.name})` : ""} · ${owner.tier} tier · ` : "",
        `agent ${agent.agent_id} · ${agent.platform || "?"} · version ${agent.agent_version || "?"}`)),
    h("div", { class: "grid" },
      devicesCard(devices),
      diagnosticsCard(me, agentId, devices),
      connectivityCard(history, since, until),
      usageCard(usage, names),
      alertsCard(alerts),
      recentCard(agentId, commands)));
}

function kpi(value, label, id) {
  return h("div", { class: "kpi", "data-kpi": id }, h("b", {}, value), h("span", {}, label));
}

function scoreText(experience) {
  if (experience instanceof Error || experience.score === null) return "–";
  return `${Math.round(experience.score)}/100`;
}

// The printer's IPP address from its DNS-SD record (port, and the resource path in TXT "rp").
function ippUri(device) {
  const ipp = device.services.find((x) => x.Type === "_ipp._tcp" || x.Type === "_ipps._tcp");
  const scheme = ipp?.Type === "_ipps._tcp" ? "ipps" : "ipp";
  const port = ipp?.Port || 631;
  const path = (ipp?.TextRecord?.find((t) => t.Key === "rp")?.Value ?? "ipp/print").replace(/^\/+/, "");
  return `${scheme}://${device.IPAddress}:${port}/${path}`;
}

function failed(part) {
  return h("p", { class: "error" }, `Could not load: ${part.message}`);
}

function devicesCard(devices) {
  if (devices instanceof Error) return card("Devices", failed(devices));
  // Printers first: the most common support call.
  const rows = [...devices.devices].sort((a, b) =>
    (b.kind === "printer") - (a.kind === "printer") || (b.Active - a.Active) || a.HostName.localeCompare(b.HostName));
  return h("section", { class: "card wide", "aria-labelledby": "h-devices" }, h("h2", { id: "h-devices" }, "Devices"),
    table("", [
      { title: "Name", value: (d) => d.HostName || h("span", { class: "muted" }, "(no name)") },
      { title: "Kind", value: (d) => d.kind },
      { title: "Address", value: (d) => [...new Set([d.IPAddress, ...d.IPv4Address, ...d.IPv6Address])].filter(Boolean).join(", ") || "–" },
      { title: "MAC", value: (d) => [d.PhysAddress, d.random_mac ? h("span", { class: "muted" }, " (private)") : null, (d.previous_macs || []).length ? h("span", { class: "muted" }, ` (was ${d.previous_macs.map((p) => p.mac).join(", ")})`) : null] },
      { title: "Vendor", value: (d) => d.vendor || "–" },
      { title: "State", value: (d) => [d.Active ? badge("online", "ok") : badge("offline", "muted"),
        d.printer_state ? [" ", badge(`printer ${d.printer_state}`, d.printer_state === "stopped" ? "bad" : "ok")] : null,
        d.printer_reason && d.printer_reason !== "none" ? h("div", { class: "muted" }, d.printer_reason) : null] },
      { title: "Services", value: (d) => d.services.map((x) => x.Type || x.ApplicationProtocol).filter(Boolean).join(", ") || "–" },
    ], rows, { empty: "No device discovered yet.", label: "devices" }));
}

function connectivityCard(history, since, until) {
  if (history instanceof Error) return card("Connectivity (24 h)", failed(history));
  const groups = new Map();
  for (const row of history.samples) {
    // The connectivity probe's rows are the gateway's own figures (docs/connectivity.md).
    const what = row.probe === "connectivity" ? "gateway" : row.probe;
    const key = `${what}${row.target ? ` ${row.target}` : ""}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  const latency = [];
  const loss = [];
  for (const [name, rows] of groups) {
    if (rows.some((r) => r.latency_p50_ms !== null)) {
      latency.push({ name, points: rows.map((r) => [new Date(r.at), r.latency_p50_ms]) });
    }
    if (rows.some((r) => r.loss_pct !== null)) loss.push({ name, points: rows.map((r) => [new Date(r.at), r.loss_pct]) });
  }
  if (!latency.length && !loss.length) {
    return card("Connectivity (24 h)", h("p", { class: "muted" }, "No measurement in the last 24 hours."));
  }
  // The gateway's newest bucket (rows are ordered by bucket, then probe name).
  const last = history.samples.findLast((r) => r.probe === "connectivity") ?? history.samples.at(-1);
  return card("Connectivity (24 h)",
    latency.length ? lineChart(latency.slice(0, 4), { unit: " ms", since, until, gapMs: GAP_MS, label: "median latency, last 24 hours" }) : null,
    loss.length ? lineChart(loss.slice(0, 4), { unit: "%", height: 120, since, until, gapMs: GAP_MS, label: "packet loss, last 24 hours" }) : null,
    h("p", { class: "muted" }, `10-minute averages, worst loss; latest period ${ago(last.at)}: `,
      `latency ${ms(last.latency_p50_ms)}, loss ${last.loss_pct === null ? "–" : `${last.loss_pct}%`}`,
      last.finding_message
        ? h("strong", { class: last.finding && last.finding !== "none" ? "warn" : "ok" }, ` — ${last.finding_message}`)
        : null));
}

function usageCard(usage, names) {
  if (usage instanceof Error) return card("Usage this cycle", failed(usage));
  const tz = usage.timezone;
  const over = usage.cap_bytes !== null && usage.total_bytes >= usage.cap_bytes;
  const reach = over
    ? h("p", { class: "bad" }, `Cap reached: ${bytes(usage.total_bytes - usage.cap_bytes)} over.`)
    : usage.cap_reached_at
      ? h("p", { class: "warn" }, `On course to reach the cap on ${when(usage.cap_reached_at, tz)}.`)
      : null;
  return card("Usage this cycle",
    gauge(usage.total_bytes, usage.projected_bytes, usage.cap_bytes),
    reach,
    usage.daily.length ? dayBars(usage.daily, { label: "usage per day this cycle" }) : null,
    h("p", { class: "muted" }, `Cycle ${when(usage.cycle_start, tz)} – ${when(usage.cycle_end, tz)}`),
    table("Top devices", [
      { title: "Device", value: (d) => (d.device === "other" ? "other (not attributed)" : names.get(d.device.toLowerCase()) || d.device) },
      { title: "Down", num: true, value: (d) => bytes(d.bytes_rx) },
      { title: "Up", num: true, value: (d) => bytes(d.bytes_tx) },
      { title: "Mostly", value: (d) => topClass(d.classes) },
    ], usage.top_devices, { empty: "No per-device figures (the agent does not meter a gateway).", label: "top devices" }));
}

function topClass(classes) {
  const entries = Object.entries(classes || {});
  if (!entries.length) return "–";
  entries.sort((a, b) => (b[1].bytes_rx + b[1].bytes_tx) - (a[1].bytes_rx + a[1].bytes_tx));
  return entries[0][0];
}

function alertsCard(alerts) {
  if (alerts instanceof Error) return card("Recent alerts", failed(alerts));
  return card("Recent alerts", table("", [
    { title: "When", value: (a) => when(a.created_at) },
    { title: "Alert", value: (a) => a.subject },
    { title: "Sent", value: (a) => `${a.channel}: ${a.status}` },
  ], alerts, { empty: "No alert for this home.", label: "alerts" }));
}

// What was already run on this home (by anyone), with each result a click away.
function recentCard(agentId, commands) {
  if (commands instanceof Error) return card("Recent diagnostics", failed(commands));
  const shown = h("div", {});
  const list = h("div", {}, recentTable(commands, shown));
  // A diagnostic run from this page lists itself here when its result is in.
  const refresh = async () => {
    if (!list.isConnected) { window.removeEventListener("homediag:command-done", refresh); return; }
    list.replaceChildren(recentTable(await get(`/agents/${encodeURIComponent(agentId)}/commands?limit=10`), shown));
  };
  window.addEventListener("homediag:command-done", refresh);
  return h("section", { class: "card wide", "aria-labelledby": "h-recent-diagnostics" },
    h("h2", { id: "h-recent-diagnostics" }, "Recent diagnostics"), list, shown);
}

function outcomeTone(command) {
  if (command.state === "complete") return command.status && command.status !== "Complete" ? "warn" : "ok";
  return command.state === "error" || command.state === "expired" ? "bad" : "muted";
}

function recentTable(commands, shown) {
  const target = (c) => Object.values(c.params).filter((v) => typeof v === "string").join(" ") || "–";
  return table("", [
      { title: "When", value: (c) => when(c.issued_at) },
      { title: "Command", value: (c) => c.name },
      { title: "Target", value: (c) => target(c) },
      { title: "By", value: (c) => c.issued_by },
      { title: "Outcome", value: (c) => badge(c.status || c.state, outcomeTone(c)) },
      { title: "", value: (c) => (c.result ? h("button", { type: "button", class: "secondary", "aria-label": `Result of ${c.name} ${target(c)}`, onclick: () => shown.replaceChildren(h("h3", {}, `${c.name} ${target(c)}`), resultView(c)) }, "Result") : "") },
    ], commands, { empty: "Nothing was run on this home yet.", label: "recent diagnostics" });
}

function diagnosticsCard(me, agentId, devices) {
  const choices = DIAGNOSTICS.filter((d) => !d.role || atLeast(me, d.role));
  const select = h("select", { name: "command" }, choices.map((d) => h("option", { value: d.name }, d.label)));
  const param = h("input", { name: "param", type: "text", size: 28 });
  const paramLabel = field("Target", param);
  const run = h("button", { type: "submit" }, "Run");
  const state = h("p", { role: "status", "aria-live": "polite", class: "muted", "data-diagnostic-state": "" });
  const output = h("div", { "data-diagnostic-result": "" });
  const form = h("form", { class: "row", "aria-label": "Run a diagnostic" }, field("Diagnostic", select), paramLabel, run);
  const printer = devices instanceof Error ? null : devices.devices.find((d) => d.kind === "printer" && d.IPAddress);

  function sync() {
    const spec = DIAGNOSTICS.find((d) => d.name === select.value);
    paramLabel.hidden = !spec.param;
    param.required = Boolean(spec.param);
    param.placeholder = spec.hint || "";
    if (spec.name === "printer_check" && printer && !param.value.startsWith("ipp")) {
      param.value = ippUri(printer);
    }
  }
  select.addEventListener("change", sync);
  sync();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const spec = DIAGNOSTICS.find((d) => d.name === select.value);
    const params = { ...(spec.extra || {}) };
    if (spec.param) params[spec.param] = param.value.trim();
    run.disabled = true;
    output.replaceChildren();
    state.textContent = `Sending ${spec.label}…`;
    // Leaving the page ends the live stream (and the server's polling for it).
    const leave = new AbortController();
    window.addEventListener("hashchange", () => leave.abort(), { once: true });
    let sent = null;
    try {
      sent = await post(`/agents/${encodeURIComponent(agentId)}/commands`, { name: spec.name, params });
      state.textContent = `Sent; waiting for the agent (${sent.state}).`;
      let final = null;
      try {
        await follow(`/commands/${sent.command_id}/events`, (kind, command) => {
          state.textContent = kind === "result"
            ? `Finished: ${command.state}${command.status ? ` (${command.status})` : ""}.`
            : `The agent is ${command.state === "running" ? "running it" : command.state}…`;
          if (kind === "result") final = command;
        }, leave.signal);
      } catch (exc) {
        // Too many live views for this login (429): the command still runs; read it once below.
        if (!(exc instanceof ApiError && exc.status === 429)) throw exc;
      }
      // The stream can end without a result (a proxy cut it): ask once more.
      final ??= await get(`/commands/${sent.command_id}`);
      if (!final.result && !["complete", "error", "expired"].includes(final.state)) {
        state.textContent = `Still ${final.state}; see Recent diagnostics for the result.`;
      } else {
        state.textContent = `Finished: ${final.state}${final.status ? ` (${final.status})` : ""}.`;
        output.replaceChildren(resultView(final));
      }
      window.dispatchEvent(new Event("homediag:command-done"));
    } catch (exc) {
      if (leave.signal.aborted) return;
      state.textContent = "";
      const what = sent ? "Sent, but following it failed" : "Not sent";
      output.replaceChildren(h("p", { class: "error", role: "alert" }, `${what}: ${exc.message}`));
    } finally {
      run.disabled = false;
    }
  });
  return card("Run a diagnostic", form, state, output, printerPlaybook(agentId, devices, state, output));
}

// The "printer won't print" playbook: printer check, ping and the PC's Wi-Fi, read into one verdict.
function printerPlaybook(agentId, devices, state, output) {
  const printers = devices instanceof Error ? [] : devices.devices.filter((d) => d.kind === "printer" && d.IPAddress);
  if (!printers.length) return null;
  const select = h("select", { name: "printer" }, printers.map((d) =>
    h("option", { value: ippUri(d) }, d.HostName || d.IPAddress)));
  const run = h("button", { type: "submit", class: "secondary" }, "Why won't it print?");
  const form = h("form", { class: "row", "aria-label": "Printer playbook" }, field("Printer", select), run);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    run.disabled = true;
    output.replaceChildren();
    state.textContent = "Running the printer playbook (printer check, ping, Wi-Fi)…";
    try {
      const finding = await post(`/agents/${encodeURIComponent(agentId)}/playbooks/printer-wont-print`, { uri: select.value });
      state.textContent = `Playbook finished: ${finding.verdict}.`;
      output.replaceChildren(h("p", { "data-playbook-summary": "" }, h("strong", {}, finding.summary)),
        h("details", {}, h("summary", {}, "Evidence"), h("pre", { class: "result" }, JSON.stringify(finding.evidence, null, 2))));
    } catch (exc) {
      state.textContent = "";
      output.replaceChildren(h("p", { class: "error", role: "alert" }, `The playbook could not run: ${exc.message}`));
    } finally {
      run.disabled = false;
    }
  });
  return h("div", {}, h("h3", {}, "Playbooks"), form);
}

function resultView(command) {
  const result = command.result || {};
  // TR-181 diagnostics are flat name/value objects: show the scalars as a table, the rest as JSON.
  const scalars = Object.entries(result).filter(([, v]) => v === null || typeof v !== "object");
  const nested = Object.fromEntries(Object.entries(result).filter(([, v]) => v !== null && typeof v === "object"));
  return h("div", {},
    table("", [
      { title: "Name", value: ([k]) => k.replace(/^X_HOMEDIAG-DEV_/, "") }, // our extensions, named as TR-106 says
      { title: "Value", value: ([, v]) => String(v) },
    ], scalars, { empty: "", label: "diagnostic result" }),
    Object.keys(nested).length ? h("details", {}, h("summary", {}, "Details"), h("pre", { class: "result" }, JSON.stringify(nested, null, 2))) : null);
}
