// An independent USP controller (usp-js, from npm) driving a homediag agent through an MQTT 5
// broker. Used by tests/lab/test_usp_controller.py: it prints one JSON object a line, the test
// asserts on them. Configuration comes as one JSON argument:
//   {host, port, agentId, controllerId, agentTopic, controllerTopic, pingHost, traceHost, mode}
// mode "watch" subscribes to ValueChange of Device.Hosts.Host.*.Active and prints the first change.
// usp-js publishes without a Response Topic: the agent answers on its configured controller topic.
"use strict";

const connect = require("usp-js").default;

const cfg = JSON.parse(process.argv[2]);
const say = (step, data) => console.log(JSON.stringify({ step, ...data }));
const errorOf = (err) => ({ error: typeof err === "object" ? err : String(err) });

async function step(name, fn) {
  try {
    say(name, { ok: true, result: await fn() });
  } catch (err) {
    say(name, { ok: false, ...errorOf(err) });
  }
}

// Watch mode: subscribe to ValueChange on every host's Active, say so, print the first change.
async function watch(usp) {
  const changed = new Promise((resolve) => {
    usp
      .subscribe({ id: "watch-active", notif: "ValueChange", reference: "Device.Hosts.Host.*.Active" }, (msg) =>
        resolve(msg),
      )
      .then(() => say("subscribed", { ok: true }));
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject("no ValueChange in time"), cfg.watchMs || 90000));
  await step("valueChange", () => Promise.race([changed, timeout]));
}

async function main() {
  const usp = (
    await connect({
      host: cfg.host,
      port: cfg.port,
      protocol: "mqtt",
      protocolVersion: 5, // the USP MQTT binding requires MQTT 5 (R-MQTT.39)
      toId: cfg.agentId,
      fromId: cfg.controllerId,
      publishEndpoint: cfg.agentTopic,
      subscribeEndpoint: cfg.controllerTopic,
      closeOnDisconnect: true,
      connectTimeout: 10000,
    })
  ).options({ timeout: 60000 });
  if (cfg.mode === "watch") {
    await watch(usp);
    await usp.disconnect();
    say("done", { ok: true });
    return;
  }

  await step("supportedProto", () => usp.supportedProto("1.4"));
  await step("getHosts", async () => {
    const msg = await usp.get("Device.Hosts.Host.", { raw: true });
    return msg.body.response.getResp.reqPathResults;
  });
  await step("supportedDM", async () => {
    const results = await usp.supportedDM("Device.", {
      firstLevelOnly: false,
      returnCommands: true,
      returnEvents: true,
      returnParams: true,
    });
    return results;
  });
  await step("unknownPath", () => usp.get("Device.NoSuchObject."));

  // Operate recipes Add a Device.LocalAgent.Subscription. for OperationComplete, then resolve
  // with the Notify's output arguments.
  for (const [name, command, input] of [
    ["ipping", "Device.IP.Diagnostics.IPPing()", { Host: cfg.pingHost, NumberOfRepetitions: "3", Timeout: "1000" }],
    ["traceroute", "Device.IP.Diagnostics.TraceRoute()", { Host: cfg.traceHost, MaxHopCount: "8" }],
  ]) {
    await step(name, async () => {
      const [run, clean] = await usp.operate(command, { ID: `${name}-sub` });
      const output = await run(input);
      await clean();
      return output;
    });
  }
  await step("subscriptionsAfter", () => usp.instances("Device.LocalAgent.Subscription."));
  await step("badArgument", async () => {
    const [run, clean] = await usp.operate("Device.IP.Diagnostics.IPPing()", { ID: "bad-sub" });
    try {
      return await run({ Host: cfg.pingHost, NumberOfRepetitions: "many" });
    } finally {
      await clean();
    }
  });
  await step("consentGated", async () => {
    const [run, clean] = await usp.operate("Device.X_HOMEDIAG-DEV_SupportBundle()", { ID: "bundle-sub" });
    try {
      return await run({});
    } finally {
      await clean();
    }
  });
  await usp.disconnect();
  say("done", { ok: true });
}

main().catch((err) => {
  say("fatal", { ok: false, ...errorOf(err && err.stack ? err.stack : err) });
  process.exit(1);
});
