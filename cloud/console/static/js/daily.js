// The proactive daily list: homes whose traffic changed, best first, with the CSR's verdicts.

import { get, post } from "./api.js";
import { badge, card, field, h, table, toast } from "./ui.js";

function yesterday() {
  const d = new Date(Date.now() - 86400 * 1000);
  return d.toISOString().slice(0, 10);
}

export async function dailyPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const day = params.get("day") || yesterday();
  const rows = await get(`/care/daily-list?day=${encodeURIComponent(day)}`);
  const input = h("input", { type: "date", name: "day", value: day });
  const form = h("form", { class: "row", "aria-label": "Choose the day" }, field("Day (UTC)", input),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/daily?day=${input.value}`;
  });
  return h("div", {}, h("h1", {}, "Daily list"),
    card(`Homes whose traffic changed on ${day}`, form, table("", [
      { title: "#", num: true, value: (e) => e.rank },
      { title: "Home", value: (e) => h("a", { href: `#/home/${e.home}` }, e.home.slice(0, 8)) },
      { title: "Device", value: (e) => e.device_name || e.device },
      { title: "Change", value: (e) => e.kind },
      { title: "Why", value: (e) => e.reason },
      { title: "Score", num: true, value: (e) => e.score.toFixed(1) },
      { title: "Verdict", value: (e) => verdict(e) },
    ], rows, { empty: "Nothing stood out that day.", label: "daily list" })));
}

function verdict(entry) {
  const cell = h("span", {});
  const show = () => {
    if (entry.feedback.length) {
      cell.replaceChildren(...entry.feedback.map((v) => {
        const mark = badge(v.replace("_", " "), v === "confirmed" ? "warn" : "muted");
        mark.tabIndex = -1;
        return mark;
      }));
      return;
    }
    const what = `${entry.device_name || entry.device} (${entry.kind})`;
    const confirm = h("button", { type: "button", class: "secondary", "aria-label": `Confirm: ${what}`, onclick: () => send("confirmed") }, "Confirm");
    const reject = h("button", { type: "button", class: "secondary", "aria-label": `False alarm: ${what}`, onclick: () => send("false_alarm") }, "False alarm");
    const send = async (value) => {
      confirm.disabled = reject.disabled = true; // one verdict per click, however fast the clicks
      try {
        await post(`/care/daily-list/${entry.id}/feedback`, { verdict: value });
      } catch (exc) {
        confirm.disabled = reject.disabled = false;
        cell.append(h("span", { class: "error", role: "alert" }, ` ${exc.message}`));
        return;
      }
      entry.feedback.push(value);
      toast("Verdict saved.");
      show();
      cell.querySelector(".badge")?.focus();
    };
    cell.replaceChildren(confirm, " ", reject);
  };
  show();
  return cell;
}
