// Cuspid staff app: progressive enhancement. Hand-written ES module, no dependencies.
// Loaded with <script type="module" src="/static/app.js">; no inline script anywhere (CSP).
//
// 1. Live updates: a websocket to /ws; every message {"kind": string, "payload": any}
//    is re-dispatched on `document` as CustomEvent("cuspid:event", {detail}).
// 2. Current nav link gets aria-current="page" if the server did not set one.
// 3. "/" focuses #global-search when not typing in a field.
// 4. Patient pickers, forms that submit themselves, print buttons. The agenda has its own
//    module, agenda.js.
//
// Normal conditions (server down, bad message, no search box) never log to the console.

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

// ---------------------------------------------------------------- live status

function setLiveStatus(on) {
  const el = document.getElementById("live-status");
  if (!el) return;
  el.classList.toggle("live-on", on);
  el.classList.toggle("live-off", !on);
  el.dataset.state = on ? "on" : "off";
  // Labels come from the server (i18n) as data attributes; fall back to nothing.
  const label = on ? el.dataset.labelOn : el.dataset.labelOff;
  if (label) {
    el.title = label;
    el.setAttribute("aria-label", label);
  }
}

// ---------------------------------------------------------------- websocket

function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function startLive() {
  if (!("WebSocket" in window)) {
    setLiveStatus(false);
    return;
  }

  let socket = null;
  let attempt = 0;
  let timer = 0;
  let stopped = false;

  const clearTimer = () => {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
  };

  const schedule = () => {
    if (stopped || timer) return;
    // Exponential backoff with jitter, capped at 30 s.
    const base = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
    const delay = Math.min(MAX_DELAY_MS, base / 2 + Math.random() * (base / 2));
    attempt += 1;
    timer = setTimeout(() => {
      timer = 0;
      connect();
    }, delay);
  };

  const onMessage = (ev) => {
    if (typeof ev.data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return; // not JSON: ignore quietly
    }
    if (!msg || typeof msg !== "object" || typeof msg.kind !== "string") return;
    const detail = { kind: msg.kind, payload: msg.payload === undefined ? null : msg.payload };
    document.dispatchEvent(new CustomEvent("cuspid:event", { detail }));
  };

  function connect() {
    if (stopped) return;
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
    if (navigator.onLine === false) {
      setLiveStatus(false);
      return; // the "online" listener reconnects
    }
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch {
      setLiveStatus(false);
      schedule();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      attempt = 0;
      setLiveStatus(true);
    });
    ws.addEventListener("message", (ev) => {
      if (socket === ws) onMessage(ev);
    });
    // "error" is always followed by "close"; handle everything there.
    ws.addEventListener("error", () => {});
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      setLiveStatus(false);
      schedule();
    });
  }

  const disconnect = () => {
    clearTimer();
    const ws = socket;
    socket = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        /* already closing */
      }
    }
    setLiveStatus(false);
  };

  const reconnectNow = () => {
    if (stopped) return;
    clearTimer();
    attempt = 0;
    connect();
  };

  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", () => setLiveStatus(false));

  // Let the page enter the back/forward cache: close on pagehide, reopen on pageshow.
  window.addEventListener("pagehide", () => {
    stopped = true;
    disconnect();
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) {
      stopped = false;
      reconnectNow();
    }
  });

  // A tab coming back to the foreground should not wait out a long backoff.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !socket) reconnectNow();
  });

  setLiveStatus(false);
  connect();
}

// ---------------------------------------------------------------- nav

function normalisePath(p) {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

function markCurrentNav() {
  const links = Array.from(document.querySelectorAll(".sidebar a[href], nav.nav a[href], .nav a[href]"));
  if (links.length === 0) return;
  if (links.some((a) => a.hasAttribute("aria-current"))) return;

  const here = normalisePath(location.pathname);
  let best = null;
  let bestLen = -1;
  for (const a of links) {
    let url;
    try {
      url = new URL(a.getAttribute("href"), location.href);
    } catch {
      continue;
    }
    if (url.origin !== location.origin) continue;
    const path = normalisePath(url.pathname);
    if (path === "/" && here !== "/") continue;
    const matches = here === path || here.startsWith(path === "/" ? "/" : `${path}/`);
    if (matches && path.length > bestLen) {
      best = a;
      bestLen = path.length;
    }
  }
  if (best) best.setAttribute("aria-current", "page");
}

// ---------------------------------------------------------------- keyboard

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest("[contenteditable=''], [contenteditable='true'], [contenteditable='plaintext-only']")) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target.getAttribute("type") || "text").toLowerCase();
    return !["button", "submit", "reset", "checkbox", "radio", "range", "color", "file", "image"].includes(type);
  }
  return false;
}

function onKeydown(ev) {
  if (ev.key !== "/" || ev.defaultPrevented) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
  if (isTyping(ev.target)) return;
  const search = document.getElementById("global-search");
  if (!search || search.disabled) {
    // No search box here: go to the patient search if the user may open it.
    if (document.querySelector('.nav a[href="/patients"]')) {
      ev.preventDefault();
      window.location.assign("/patients");
    }
    return;
  }
  ev.preventDefault();
  search.focus();
  if (typeof search.select === "function") search.select();
}

// ---------------------------------------------------------------- patient search

// Results as you type: the search box asks /api/v1/patients (debounced, the last answer
// wins) and redraws the table with text nodes only. Arrows move through the rows, Enter
// opens one.
function fetchPatients(url, q, limit) {
  const u = new URL(url, window.location.origin);
  u.searchParams.set("q", q);
  u.searchParams.set("limit", String(limit));
  return fetch(u, { headers: { accept: "application/json" }, credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : { items: [] }))
    .catch(() => ({ items: [] }));
}

function showDate(iso) {
  const [y, m, d] = iso.split("-");
  return document.documentElement.lang === "fr" ? `${d}/${m}/${y}` : `${m}/${d}/${y}`;
}

function ageOf(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  const now = new Date();
  let age = now.getFullYear() - y;
  if (now.getMonth() + 1 < m || (now.getMonth() + 1 === m && now.getDate() < d)) age -= 1;
  return age;
}

function showPhone(e164) {
  if (!e164) return "";
  const d = e164.replace(/\D/g, "");
  if (d.length === 11 && d.startsWith("1")) return `(${d.slice(1, 4)}) ${d.slice(4, 7)}-${d.slice(7)}`;
  return e164;
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function selectRow(tbody, index) {
  const rows = [...tbody.querySelectorAll("tr[data-href]")];
  rows.forEach((r, i) => r.classList.toggle("selected", i === index));
  if (rows[index]) rows[index].scrollIntoView({ block: "nearest" });
  return rows.length;
}

function startLiveSearch() {
  const input = document.querySelector("input[data-live-search]");
  const table = document.getElementById("patient-results");
  if (!input || !table) return;
  const tbody = table.tBodies[0];
  const caption = document.getElementById("results-caption");
  let seq = 0;
  let timer = 0;
  let selected = -1;
  const render = (items, q) => {
    tbody.replaceChildren();
    for (const p of items) {
      const tr = document.createElement("tr");
      tr.dataset.href = `/patients/${p.id}`;
      if (p.status !== "active") tr.className = "row-muted";
      tr.append(cell(String(p.chart_number), "num"));
      const name = document.createElement("td");
      const a = document.createElement("a");
      a.href = tr.dataset.href;
      a.textContent = p.display_name;
      name.append(a);
      tr.append(name, cell(`${showDate(p.birth_date)} (${ageOf(p.birth_date)})`, "nowrap"), cell(showPhone(p.phone), "nowrap"), cell(p.status === "active" ? "" : p.status));
      tbody.append(tr);
    }
    if (items.length === 0) {
      const tr = document.createElement("tr");
      tr.className = "empty-row";
      const td = cell(q ? table.dataset.empty || "" : "");
      td.colSpan = 5;
      tr.append(td);
      tbody.append(tr);
    }
    if (caption && q) caption.textContent = `${caption.dataset.label || ""} ${items.length}`;
    selected = items.length > 0 && q ? 0 : -1;
    selectRow(tbody, selected);
  };
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const q = input.value.trim();
    timer = window.setTimeout(() => {
      const mine = ++seq;
      fetchPatients(input.dataset.liveSearch, q, 50).then((data) => {
        if (mine !== seq) return;
        render(data.items || [], q);
        const u = new URL(window.location.href);
        if (q) u.searchParams.set("q", q); else u.searchParams.delete("q");
        window.history.replaceState(null, "", u);
      });
    }, 120);
  });
  input.addEventListener("keydown", (ev) => {
    const count = tbody.querySelectorAll("tr[data-href]").length;
    if (ev.key === "ArrowDown" && count > 0) {
      ev.preventDefault();
      selected = Math.min(count - 1, selected + 1);
      selectRow(tbody, selected);
    } else if (ev.key === "ArrowUp" && count > 0) {
      ev.preventDefault();
      selected = Math.max(0, selected - 1);
      selectRow(tbody, selected);
    } else if (ev.key === "Enter" && selected >= 0) {
      const row = tbody.querySelectorAll("tr[data-href]")[selected];
      if (row) {
        ev.preventDefault();
        window.location.assign(row.dataset.href);
      }
    }
  });
  tbody.addEventListener("click", (ev) => {
    const row = ev.target instanceof Element ? ev.target.closest("tr[data-href]") : null;
    if (row && !(ev.target instanceof HTMLAnchorElement)) window.location.assign(row.dataset.href);
  });
  if (!input.value) input.focus();
}

// A text box that picks a patient: typing lists matches under it; choosing one fills the
// hidden input named by data-patient-picker with the patient's id.
function startPickers() {
  for (const input of document.querySelectorAll("input[data-patient-picker]")) {
    const hidden = document.getElementById(input.dataset.patientPicker);
    if (!hidden) continue;
    // The list hangs under the input: both in an anchor that is positioned.
    const anchor = document.createElement("span");
    anchor.className = "picker-anchor";
    input.before(anchor);
    anchor.append(input);
    const list = document.createElement("ul");
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    anchor.append(list);
    let seq = 0;
    let timer = 0;
    let active = -1;
    const choose = (li) => {
      hidden.value = li.dataset.id;
      input.value = li.textContent;
      list.hidden = true;
      const join = document.getElementById("family_mode_join");
      if (join) join.checked = true;
    };
    input.addEventListener("input", () => {
      hidden.value = /^#?\d+$/.test(input.value.trim()) ? input.value.trim() : "";
      window.clearTimeout(timer);
      const q = input.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      timer = window.setTimeout(() => {
        const mine = ++seq;
        fetchPatients("/api/v1/patients", q, 8).then((data) => {
          if (mine !== seq) return;
          list.replaceChildren();
          active = -1;
          for (const p of data.items || []) {
            const li = document.createElement("li");
            li.setAttribute("role", "option");
            li.dataset.id = p.id;
            li.textContent = `${p.display_name} (#${p.chart_number}, ${showDate(p.birth_date)})`;
            li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(li); });
            list.append(li);
          }
          list.hidden = list.children.length === 0;
        });
      }, 150);
    });
    input.addEventListener("keydown", (ev) => {
      const items = [...list.children];
      if (list.hidden || items.length === 0) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        active = ev.key === "ArrowDown" ? Math.min(items.length - 1, active + 1) : Math.max(0, active - 1);
        items.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
      } else if (ev.key === "Enter" && active >= 0) {
        ev.preventDefault();
        choose(items[active]);
      } else if (ev.key === "Escape") {
        list.hidden = true;
      }
    });
    input.addEventListener("blur", () => { window.setTimeout(() => { list.hidden = true; }, 150); });
  }
}

// An import that is running: poll its progress, reload when it ends.
function followImport() {
  const run = document.getElementById("import-run");
  if (!run || run.dataset.status !== "running") return;
  const bar = document.getElementById("import-progress");
  const done = document.getElementById("import-processed");
  const total = document.getElementById("import-total");
  const tick = () => {
    fetch(`/api/v1/patient-imports/${run.dataset.run}`, { headers: { accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((r) => {
        if (!r) return;
        if (bar) { bar.max = Math.max(1, r.total_rows); bar.value = r.processed; }
        if (done) done.textContent = String(r.processed);
        if (total) total.textContent = String(r.total_rows);
        if (r.status !== "running") window.location.reload();
        else window.setTimeout(tick, 700);
      })
      .catch(() => window.setTimeout(tick, 2000));
  };
  window.setTimeout(tick, 500);
}

// Selects and date boxes marked data-autosubmit send their form when changed; buttons
// marked data-print print the page.
function startSmallHelpers() {
  for (const el of document.querySelectorAll("[data-autosubmit]")) {
    el.addEventListener("change", () => {
      if (el.form) el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    });
  }
  for (const b of document.querySelectorAll("[data-print]")) {
    b.addEventListener("click", () => window.print());
  }
}

// The inbox badge on the Tasks link: the count of open tasks, refreshed when a task is
// created or changed anywhere in the organization.
function startTaskBadge() {
  const link = document.querySelector('.nav a[href="/tasks"]');
  if (!link) return;
  const badge = document.createElement("span");
  badge.className = "nav-badge";
  badge.id = "tasks-badge";
  badge.hidden = true;
  link.append(" ", badge);
  const refresh = () =>
    fetch("/api/v1/tasks/count", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((j) => {
        if (!j) return;
        badge.textContent = String(j.open);
        badge.hidden = j.open === 0;
        badge.classList.toggle("nav-badge-urgent", j.urgent > 0);
        badge.setAttribute("aria-label", `${j.open}`);
      })
      .catch(() => {});
  refresh();
  document.addEventListener("cuspid:event", (e) => {
    if (e.detail && typeof e.detail.kind === "string" && e.detail.kind.startsWith("task.")) refresh();
  });
}

// ---------------------------------------------------------------- boot

function boot() {
  markCurrentNav();
  document.addEventListener("keydown", onKeydown);
  startLive();
  startLiveSearch();
  startPickers();
  startSmallHelpers();
  startTaskBadge();
  followImport();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot, { once: true });
} else {
  boot();
}
