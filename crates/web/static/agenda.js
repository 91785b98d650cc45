// Cuspid agenda: booking by clicking an empty slot, drag and drop to move or resize, the side
// panel with the patient flow, and live updates. Hand-written ES module, no dependencies.
// The page works without it: every action is also a form the server handles.
//
// The grid (#agenda-grid) is server-rendered: each column holds rows of data-unit minutes
// from data-start (microseconds since the epoch); blocks are placed by classes (gr{row},
// gs{span}) because the CSP allows no inline style. Changes go to the JSON API; the grid is
// then fetched again (?fragment=grid), as it is when another user changes anything
// (cuspid:event from app.js's websocket).

const root = document.getElementById("agenda");

function say(text, isError) {
  const el = document.getElementById("agenda-status");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("error", !!isError);
}

function problemText(p) {
  if (!p) return root.dataset.msgError || "";
  const fields = Array.isArray(p.errors)
    ? p.errors.filter((e) => e.field !== "conflicting_appointment_id").map((e) => e.message).join("; ")
    : "";
  return fields || p.detail || p.title || root.dataset.msgError || "";
}

async function api(method, url, body) {
  const r = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await r.json();
  } catch {
    data = null;
  }
  return { ok: r.ok, status: r.status, data };
}

// ---------------------------------------------------------------- the grid

function grid() {
  return document.getElementById("agenda-grid");
}

function unitUs() {
  return Number(grid()?.dataset.unit || root.dataset.unit || 10) * 60_000_000;
}

function rowsOf(col) {
  return Number(grid()?.dataset.rows || 0);
}

// The row under a pointer in a column (0-based).
function rowAt(col, clientY) {
  const rect = col.getBoundingClientRect();
  const rows = rowsOf(col);
  if (rows === 0) return 0;
  const h = rect.height / rows;
  return Math.max(0, Math.min(rows - 1, Math.floor((clientY - rect.top) / h)));
}

function rowHeight(col) {
  const rows = rowsOf(col);
  return rows ? col.getBoundingClientRect().height / rows : 16;
}

function colStart(col) {
  return Number(col.dataset.start || grid()?.dataset.start || 0);
}

// Local date and time at the location of an instant (microseconds).
function localParts(us) {
  const fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone: root.dataset.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const parts = Object.fromEntries(fmt.formatToParts(new Date(us / 1000)).map((p) => [p.type, p.value]));
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

function isoOf(us) {
  return new Date(us / 1000).toISOString().replace(".000Z", "Z");
}

let refreshTimer = 0;
let refreshing = false;
function refreshGrid() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(async () => {
    if (dragging || refreshing) return;
    refreshing = true;
    const u = new URL("/appointments", window.location.origin);
    u.searchParams.set("location", root.dataset.location);
    u.searchParams.set("date", root.dataset.date);
    u.searchParams.set("view", root.dataset.view);
    u.searchParams.set("by", root.dataset.by);
    if (root.dataset.cols) u.searchParams.set("cols", root.dataset.cols);
    u.searchParams.set("colour", root.dataset.colour);
    u.searchParams.set("fragment", "grid");
    try {
      const r = await fetch(u, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (r.ok) {
        const wrap = document.getElementById("agenda-grid-wrap");
        if (wrap) {
          const tpl = document.createElement("template");
          tpl.innerHTML = await r.text();
          const fresh = tpl.content.querySelector("#agenda-grid");
          if (fresh) wrap.replaceChildren(fresh);
          root.dispatchEvent(new CustomEvent("agenda:refreshed"));
        }
      }
    } catch {
      /* offline: the next event or reload brings it back */
    } finally {
      refreshing = false;
    }
  }, 80);
}

// ---------------------------------------------------------------- booking

const dialog = document.getElementById("book-dialog");
const form = document.getElementById("book-form");

function clearErrors(f) {
  for (const el of f.querySelectorAll("[data-for]")) el.textContent = "";
}

function showErrors(f, problem) {
  clearErrors(f);
  const errors = Array.isArray(problem?.errors) ? problem.errors : [];
  let shown = false;
  for (const e of errors) {
    if (e.field === "conflicting_appointment_id") continue;
    const el = f.querySelector(`[data-for="${e.field}"]`);
    if (el) {
      el.textContent = e.message;
      shown = true;
    }
    if (e.field === "override_reason") {
      const box = f.querySelector(".override-field");
      if (box) box.hidden = false;
      f.querySelector("#book-override")?.focus();
    }
  }
  if (!shown) {
    const el = f.querySelector('[data-for="conflict"]');
    if (el) el.textContent = problemText(problem);
  }
}

function openBooking(col, row) {
  if (!dialog || !form) return;
  clearErrors(form);
  form.querySelector(".override-field").hidden = true;
  const us = colStart(col) + row * unitUs();
  const { date, time } = localParts(us);
  form.elements.date.value = date;
  form.elements.time.value = time;
  if (col.dataset.kind === "operatory") form.elements.operatory_id.value = col.dataset.column;
  if (col.dataset.kind === "provider") form.elements.provider_id.value = col.dataset.column;
  dialog.showModal();
  form.querySelector("#book-patient-q")?.focus();
}

if (form) {
  const type = form.elements.appointment_type_id;
  type?.addEventListener("change", () => {
    const opt = type.selectedOptions[0];
    if (opt?.dataset.minutes) form.elements.duration_minutes.value = opt.dataset.minutes;
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const body = {
      location_id: f.location_id.value,
      patient_id: f.patient_id.value || null,
      operatory_id: f.operatory_id.value || null,
      provider_id: f.provider_id.value || null,
      appointment_type_id: f.appointment_type_id.value || null,
      start: `${f.date.value}T${f.time.value}`,
      notes: f.notes.value,
    };
    const typeOpt = f.appointment_type_id.selectedOptions[0];
    // A type's own length keeps its pattern; another length resizes it.
    if (!typeOpt?.dataset.minutes || String(typeOpt.dataset.minutes) !== f.duration_minutes.value) {
      body.duration_minutes = Number(f.duration_minutes.value);
    }
    if (f.override_reason && f.override_reason.value.trim()) body.override_reason = f.override_reason.value;
    const r = await api("POST", "/api/v1/appointments", body);
    if (r.ok) {
      dialog.close();
      form.reset();
      say(root.dataset.msgBooked || "");
      refreshGrid();
    } else {
      showErrors(form, r.data);
    }
  });
  form.querySelector("[data-close-dialog]")?.addEventListener("click", () => dialog.close());
}

// ---------------------------------------------------------------- the panel

const panel = document.getElementById("agenda-panel");
const panelBody = document.getElementById("agenda-panel-body");
let panelId = null;
let panelLoad = null;

// One load at a time is what the live handler waits for before it compares versions.
function openPanel(id) {
  const p = loadPanel(id);
  panelLoad = p;
  p.finally(() => {
    if (panelLoad === p) panelLoad = null;
  });
  return p;
}

async function loadPanel(id) {
  if (!panel || !panelBody) return false;
  const r = await fetch(`/appointments/${id}?fragment=1`, { credentials: "same-origin", headers: { accept: "text/html" } });
  if (!r.ok) return false;
  const tpl = document.createElement("template");
  tpl.innerHTML = await r.text();
  panelBody.replaceChildren(tpl.content);
  panel.hidden = false;
  panelId = id;
  panelBody.querySelector("button, a, input")?.focus();
  return true;
}

function closePanel() {
  if (panel) panel.hidden = true;
  // The focus goes back to the appointment the panel was about (the grid may have been
  // redrawn since).
  const back = panelId ? document.querySelector(`.appt[data-id="${CSS.escape(panelId)}"]`) : null;
  panelId = null;
  if (back instanceof HTMLElement) back.focus();
}

panel?.querySelector("[data-close-panel]")?.addEventListener("click", closePanel);

// Forms in the panel post to the server and stay in the panel.
panelBody?.addEventListener("submit", async (ev) => {
  const f = ev.target;
  if (!(f instanceof HTMLFormElement) || !f.hasAttribute("data-panel-form")) return;
  ev.preventDefault();
  const r = await fetch(f.action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(new FormData(f)),
  });
  if (r.ok || r.redirected) {
    say(root.dataset.msgMoved || "");
    if (panelId) openPanel(panelId);
    refreshGrid();
  } else {
    let p = null;
    try {
      p = await r.json();
    } catch {
      p = null;
    }
    say(problemText(p), true);
  }
});

// ---------------------------------------------------------------- drag, drop, resize, click

let dragging = null;
// A drag can end with a click, where the pointer was released: that click is not an "open".
// Only that one is ignored (same place, just after), so a real click right after a fast save
// still opens the appointment.
let dropClick = null;

function ghostFor(col, row, span, lanes) {
  let g = col.querySelector(".appt-ghost");
  if (!g) {
    g = document.createElement("div");
    col.append(g);
  }
  g.className = `appt-ghost lall gr${row + 1} gs${Math.max(1, span)}`;
  return g;
}

function clearGhosts() {
  for (const g of document.querySelectorAll(".appt-ghost")) g.remove();
}

function blockRow(block) {
  const m = /(?:^| )gr(\d+)(?: |$)/.exec(block.className);
  return m ? Number(m[1]) - 1 : 0;
}

function blockSpan(block) {
  const m = /(?:^| )gs(\d+)(?: |$)/.exec(block.className);
  return m ? Number(m[1]) : 1;
}

document.addEventListener("pointerdown", (ev) => {
  const block = ev.target instanceof Element ? ev.target.closest(".appt[data-draggable]") : null;
  if (!block || ev.button !== 0) return;
  const col = block.closest(".agenda-col");
  if (!col) return;
  const resize = ev.target.closest("[data-resize]") !== null;
  dragging = {
    block,
    resize,
    fromCol: col,
    col,
    startX: ev.clientX,
    startY: ev.clientY,
    row: blockRow(block),
    span: blockSpan(block),
    grabRow: rowAt(col, ev.clientY) - blockRow(block),
    moved: false,
    newRow: blockRow(block),
    newSpan: blockSpan(block),
  };
  block.setPointerCapture?.(ev.pointerId);
});

document.addEventListener("pointermove", (ev) => {
  if (!dragging) return;
  const d = dragging;
  if (!d.moved && Math.abs(ev.clientX - d.startX) + Math.abs(ev.clientY - d.startY) < 5) return;
  d.moved = true;
  d.block.classList.add("dragging");
  if (d.resize) {
    const h = rowHeight(d.fromCol);
    d.newSpan = Math.max(1, d.span + Math.round((ev.clientY - d.startY) / h));
    clearGhosts();
    ghostFor(d.fromCol, d.row, d.newSpan);
    return;
  }
  const under = document.elementFromPoint(ev.clientX, ev.clientY);
  const col = under instanceof Element ? under.closest(".agenda-col") : null;
  if (col) d.col = col;
  d.newRow = Math.max(0, Math.min(rowsOf(d.col) - d.span, rowAt(d.col, ev.clientY) - d.grabRow));
  clearGhosts();
  ghostFor(d.col, d.newRow, d.span);
});

async function drop(ev) {
  const d = dragging;
  dragging = null;
  clearGhosts();
  if (!d) return;
  d.block.classList.remove("dragging");
  if (!d.moved) return; // a click: handled by the click listener
  dropClick = { x: ev.clientX, y: ev.clientY, at: Date.now() };
  const id = d.block.dataset.id;
  const body = { version: Number(d.block.dataset.version) };
  if (d.resize) {
    if (d.newSpan === d.span) return;
    body.duration_minutes = (d.newSpan * unitUs()) / 60_000_000;
  } else {
    if (d.col === d.fromCol && d.newRow === d.row) return;
    body.start = isoOf(colStart(d.col) + d.newRow * unitUs());
    if (d.col.dataset.kind === "operatory") body.operatory_id = d.col.dataset.column;
    if (d.col.dataset.kind === "provider" && d.col !== d.fromCol) body.provider_id = d.col.dataset.column;
  }
  d.block.classList.add("saving");
  let r = await api("PATCH", `/api/v1/appointments/${id}`, body);
  if (!r.ok && r.status === 422 && r.data?.errors?.some((e) => e.field === "override_reason") && root.dataset.canOverride === "true") {
    const reason = window.prompt(`${problemText(r.data)}\n\n${root.dataset.msgReason || ""}`);
    if (reason && reason.trim()) r = await api("PATCH", `/api/v1/appointments/${id}`, { ...body, override_reason: reason });
  }
  if (r.ok) say(root.dataset.msgMoved || "");
  else say(problemText(r.data), true);
  refreshGrid();
}

document.addEventListener("pointerup", drop);
function endsDrag(ev) {
  const c = dropClick;
  dropClick = null;
  return c !== null && Date.now() - c.at < 400 && Math.abs(ev.clientX - c.x) + Math.abs(ev.clientY - c.y) < 3;
}
// Appointments are links: the browser's own link dragging would swallow the pointer.
document.addEventListener("dragstart", (ev) => {
  if (ev.target instanceof Element && ev.target.closest(".appt")) ev.preventDefault();
});
document.addEventListener("pointercancel", () => {
  if (dragging) dragging.block.classList.remove("dragging");
  dragging = null;
  clearGhosts();
});

document.addEventListener("click", async (ev) => {
  if (!(ev.target instanceof Element) || !root) return;
  const afterDrag = endsDrag(ev);
  const block = ev.target.closest(".appt");
  if (block) {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return; // open in a tab as a link
    ev.preventDefault();
    if (block.classList.contains("dragging") || afterDrag) return;
    if (!(await openPanel(block.dataset.id))) window.location.assign(block.href);
    return;
  }
  const col = ev.target.closest(".agenda-col");
  if (col && !afterDrag && root.dataset.canWrite === "true" && !ev.target.closest(".appt-ghost")) {
    openBooking(col, rowAt(col, ev.clientY));
  }
});

// Arrow keys move the focus between appointments: up and down in a column, left and right to
// the nearest one in the next column that has any.
function rowOf(el) {
  const m = /(?:^|\s)gr(\d+)(?:\s|$)/.exec(el.className);
  return m ? Number(m[1]) : 0;
}
function blocksIn(col) {
  return [...col.querySelectorAll(".appt")].sort((a, b) => rowOf(a) - rowOf(b));
}
function arrowTo(block, key) {
  const col = block.closest(".agenda-col");
  if (!col) return null;
  if (key === "ArrowUp" || key === "ArrowDown") {
    const list = blocksIn(col);
    const i = list.indexOf(block) + (key === "ArrowDown" ? 1 : -1);
    return list[i] || null;
  }
  const cols = [...document.querySelectorAll(".agenda-col")];
  const step = key === "ArrowRight" ? 1 : -1;
  const row = rowOf(block);
  for (let c = cols.indexOf(col) + step; c >= 0 && c < cols.length; c += step) {
    const list = blocksIn(cols[c]);
    if (list.length) {
      return list.reduce((best, b) => (Math.abs(rowOf(b) - row) < Math.abs(rowOf(best) - row) ? b : best));
    }
  }
  return null;
}

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && panel && !panel.hidden && !dialog?.open) closePanel();
  if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].includes(ev.key) && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
    const here = ev.target instanceof Element ? ev.target.closest(".appt") : null;
    if (here) {
      const next = arrowTo(here, ev.key);
      ev.preventDefault();
      if (next) {
        next.focus();
        next.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
      return;
    }
  }
  // "n": book at the next slot of the first column.
  if (ev.key === "n" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && dialog && !dialog.open) {
    const t = ev.target;
    if (t instanceof Element && t.closest("input, textarea, select, [contenteditable]")) return;
    const col = document.querySelector(".agenda-col");
    if (col) {
      ev.preventDefault();
      const now = Date.now() * 1000;
      const row = Math.max(0, Math.min(rowsOf(col) - 1, Math.ceil((now - colStart(col)) / unitUs())));
      openBooking(col, row);
    }
  }
});

// ---------------------------------------------------------------- live

document.addEventListener("cuspid:event", (ev) => {
  const { kind, payload } = ev.detail || {};
  if (!root || typeof kind !== "string" || !kind.startsWith("appointment.") || !payload) return;
  if (payload.location_id !== root.dataset.location) return;
  if (root.dataset.view === "board") {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => window.location.reload(), 300);
    return;
  }
  const days = new Set([...document.querySelectorAll(".agenda-col[data-date]")].map((c) => c.dataset.date));
  if (days.has(payload.day) || days.has(payload.previous_day)) {
    refreshGrid();
    if (panelId === payload.id) {
      // Not again when the panel already shows this version (the change was made here and
      // its load may still be under way).
      (panelLoad || Promise.resolve()).catch(() => {}).then(() => {
        const shown = Number(panelBody?.querySelector(".appt-detail")?.dataset.version || 0);
        if (panelId === payload.id && !(Number(payload.version) <= shown)) openPanel(panelId);
      });
    }
  }
});
