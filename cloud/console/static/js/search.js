// Subscriber search: the CSR's first page. The query lives in the URL so Back returns to it.

import { get } from "./api.js";
import { card, field, h, table } from "./ui.js";

export async function searchPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const q = params.get("q") || "";
  const input = h("input", { name: "q", type: "search", value: q, placeholder: "reference, name or e-mail", autofocus: true });
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "row", role: "search", "aria-label": "Subscriber search" },
    field("Find a subscriber", input), h("button", { type: "submit" }, "Search"));

  async function run(query) {
    const rows = await get(`/subscribers?q=${encodeURIComponent(query)}&limit=50`);
    results.replaceChildren(table(`${rows.length} subscriber${rows.length === 1 ? "" : "s"}`, [
      { title: "Reference", value: (r) => r.reference },
      { title: "Name", value: (r) => r.name || "–" },
      { title: "E-mail", value: (r) => r.email || "–" },
      { title: "Tier", value: (r) => r.tier },
      { title: "Homes", value: (r) => r.agent_ids.length
        ? r.agent_ids.map((id, i) => [i ? ", " : "", h("a", { href: `#/home/${id}` }, `home ${id.slice(0, 8)}`)])
        : h("span", { class: "muted" }, "no agent yet") },
    ], rows, { empty: "No subscriber matches.", label: "subscribers" }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    history.replaceState(null, "", `#/search?q=${encodeURIComponent(input.value)}`);
    await run(input.value);
  });
  await run(q);
  return h("div", {}, h("h1", {}, "Subscribers"), card("Search", form, results));
}
