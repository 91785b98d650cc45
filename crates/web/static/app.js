// Cuspid staff app: progressive enhancement. Hand-written ES module, no dependencies.
// Loaded with <script type="module" src="/static/app.js">; no inline script anywhere (CSP).
//
// 1. Live updates: a websocket to /ws; every message {"kind": string, "payload": any}
//    is re-dispatched on `document` as CustomEvent("cuspid:event", {detail}).
// 2. Current nav link gets aria-current="page" if the server did not set one.
// 3. "/" focuses #global-search when not typing in a field.
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
  if (!search || search.disabled) return;
  ev.preventDefault();
  search.focus();
  if (typeof search.select === "function") search.select();
}

// ---------------------------------------------------------------- boot

function boot() {
  markCurrentNav();
  document.addEventListener("keydown", onKeydown);
  startLive();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot, { once: true });
} else {
  boot();
}
