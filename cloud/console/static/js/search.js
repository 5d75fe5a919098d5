// Subscriber search: the CSR's first page. The query lives in the URL so Back returns to it.

import { get } from "./api.js";
import { card, field, h, table } from "./ui.js";

export async function searchPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const q = params.get("q") || "";
  const input = h("input", { name: "q", type: "search", value: q, placeholder: "reference, name or e-mail", autofocus: true });
  const results = h("div", {});
  // Announce the count only, not every row of the table.
  const status = h("p", { role: "status", class: "muted" });
  let latest = 0;
  const form = h("form", { class: "row", role: "search", "aria-label": "Subscriber search" },
    field("Find a subscriber", input), h("button", { type: "submit" }, "Search"));

  async function run(query) {
    const mine = ++latest;
    let rows;
    try {
      rows = await get(`/subscribers?q=${encodeURIComponent(query)}&limit=50`);
    } catch (exc) {
      if (mine === latest) status.replaceChildren(h("span", { class: "error", role: "alert" }, `Search failed: ${exc.message}`));
      return;
    }
    if (mine !== latest) return; // an older search answered after a newer one
    status.textContent = `${rows.length} match${rows.length === 1 ? "" : "es"}`;
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
  return h("div", {}, h("h1", {}, "Subscribers"), card("Search", form, status, results));
}
