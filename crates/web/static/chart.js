// The chart page: a click on a tooth puts it in the entry form, a click on a surface adds or
// removes that surface; Enter in the keyboard line charts it. When someone else charts this
// patient (a chart.changed event from app.js's websocket), the odontogram and the entries
// are fetched again and swapped in place. The entry form keeps the version it was opened
// with: a save to a tooth someone changed since is refused by the server (and the page says
// why) rather than charted over what the user has not seen.

const live = document.getElementById("chart-live");

function field(id) {
  return document.getElementById(id);
}

function order(letters) {
  const rank = "MOIDBFL";
  return [...new Set(letters)].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)).join("");
}

function onClick(ev) {
  if (!(ev.target instanceof Element)) return;
  const link = ev.target.closest("a.tooth-link");
  if (!link || !live.contains(link)) return;
  const tooth = field("tooth");
  const surfaces = field("surfaces");
  if (!tooth || !surfaces) return; // read-only: follow the link (tooth history)
  ev.preventDefault();
  const label = link.dataset.label || "";
  const surface = ev.target.closest("[data-surface]");
  const same = tooth.value.trim() === label;
  tooth.value = label;
  const command = field("command");
  if (command) command.value = "";
  if (surface) {
    const letter = surface.dataset.surface;
    const current = same ? surfaces.value.toUpperCase().replace(/[^MOIDBFLP]/g, "") : "";
    surfaces.value = current.includes(letter) ? current.replace(letter, "") : order(current + letter);
  } else if (!same) {
    surfaces.value = "";
  }
  for (const g of live.querySelectorAll("g.tooth.sel")) g.classList.remove("sel");
  link.querySelector("g.tooth")?.classList.add("sel");
  live.dataset.tooth = link.dataset.tooth || "";
  const code = field("code");
  if (code) code.focus({ preventScroll: true });
}

async function refresh() {
  const params = new URLSearchParams({ fragment: "1", dentition: live.dataset.dentition || "" });
  if (live.dataset.tooth) params.set("tooth", live.dataset.tooth);
  const resp = await fetch(`${location.pathname}?${params}`, { headers: { Accept: "text/html" } });
  if (!resp.ok) return;
  const text = await resp.text();
  const doc = new DOMParser().parseFromString(`<div>${text}</div>`, "text/html");
  // The odontogram, the selected tooth's history and the list; the entry form stays as typed.
  for (const id of ["odontogram-card", "tooth-history", "entries-card"]) {
    const fresh = doc.getElementById(id);
    const old = document.getElementById(id);
    if (fresh && old) old.replaceWith(document.adoptNode(fresh));
  }
  if (live.dataset.tooth) {
    live.querySelector(`a.tooth-link[data-tooth="${live.dataset.tooth}"] g.tooth`)?.classList.add("sel");
  }
}

function onEvent(ev) {
  const { kind, payload } = ev.detail || {};
  if (kind !== "chart.changed" || !payload || payload.patient_id !== live.dataset.patient) return;
  const version = Number(payload.version);
  if (!(version > Number(live.dataset.version))) return;
  live.dataset.version = String(version);
  refresh().then(() => {
    const note = field("chart-live-note");
    if (note) {
      note.hidden = false;
      setTimeout(() => { note.hidden = true; }, 4000);
    }
  });
}

if (live) {
  live.addEventListener("click", onClick);
  document.addEventListener("cuspid:event", onEvent);
}
