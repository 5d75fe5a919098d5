// Team figures for supervisors: who did what over the last days, from the audit log.

import { get } from "./api.js";
import { card, h, table } from "./ui.js";

export async function teamPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const days = Number(params.get("days")) || 7;
  const team = await get(`/team/figures?days=${days}`);
  return h("div", {}, h("h1", {}, "Team"),
    h("div", { class: "card kpis", style: { "margin-bottom": "1rem" } },
      h("div", { class: "kpi" }, h("b", {}, String(team.homes)), h("span", {}, "homes")),
      h("div", { class: "kpi" }, h("b", {}, String(team.homes_online)), h("span", {}, "online now")),
      h("div", { class: "kpi" }, h("b", {}, String(team.people.length)), h("span", {}, `people active in ${days} days`)),
      h("nav", { "aria-label": "Period" }, [1, 7, 30].map((d) =>
        h("a", { href: `#/team?days=${d}`, "aria-current": d === days ? "page" : null, class: "period" }, `${d} d`)))),
    card(`The last ${days} days`, table("", [
      { title: "Person", value: (p) => p.username },
      { title: "Role", value: (p) => p.role || "–" },
      { title: "Actions", num: true, value: (p) => p.actions },
      { title: "Commands", num: true, value: (p) => p.commands },
      { title: "Refused", num: true, value: (p) => p.refused },
      { title: "Completed", num: true, value: (p) => p.completed },
      { title: "Median result", num: true, value: (p) => (p.median_result_s === null ? "–" : `${p.median_result_s} s`) },
      { title: "Homes", num: true, value: (p) => p.homes },
      { title: "Verdicts", num: true, value: (p) => p.verdicts },
    ], team.people, { empty: "Nobody acted in this period.", label: "team figures" })));
}
