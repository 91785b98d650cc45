// Treatment plans: the builder's drag and drop (and the ↑ buttons, for the keyboard) save the
// procedures' order; the presentation's signature box records the strokes as SVG path data
// in a 600 × 200 box; the decline form's common reasons fill its text.

const rows = document.getElementById("plan-rows");

async function saveOrder() {
  const order = [...rows.querySelectorAll("tr[data-item]")].map((tr) => tr.dataset.item);
  const body = new URLSearchParams({ action: "reorder", order: order.join(",") });
  const r = await fetch(`/treatment-plans/${rows.dataset.plan}`, {
    method: "POST",
    body,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    redirect: "follow",
  });
  if (r.ok) {
    rows.dataset.saved = order.join(",");
    document.dispatchEvent(new CustomEvent("cuspid:plan-reordered", { detail: order }));
  } else {
    window.location.reload();
  }
}

if (rows) {
  let dragged = null;
  rows.addEventListener("dragstart", (e) => {
    dragged = e.target.closest("tr[data-item]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.item);
  });
  rows.addEventListener("dragover", (e) => {
    const over = e.target.closest("tr[data-item]");
    if (!dragged || !over || over === dragged) return;
    e.preventDefault();
    const box = over.getBoundingClientRect();
    const after = e.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  rows.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    saveOrder();
  });
  rows.addEventListener("click", (e) => {
    const up = e.target.closest("button.move-up");
    if (!up) return;
    const tr = up.closest("tr");
    if (tr.previousElementSibling) {
      tr.parentNode.insertBefore(tr, tr.previousElementSibling);
      up.focus();
      saveOrder();
    }
  });
}

for (const pick of document.querySelectorAll("select[data-fill]")) {
  pick.addEventListener("change", () => {
    const target = document.getElementById(pick.dataset.fill);
    if (target && pick.value) target.value = pick.value;
  });
}

const pad = document.getElementById("signature-pad");
if (pad) {
  const ctx = pad.getContext("2d");
  const data = document.getElementById("signature-data");
  const form = document.getElementById("accept-form");
  let path = [];
  let drawing = false;
  const point = (e) => {
    const r = pad.getBoundingClientRect();
    const x = ((e.clientX - r.left) * 600) / r.width;
    const y = ((e.clientY - r.top) * 200) / r.height;
    return [Math.max(0, Math.min(600, x)).toFixed(1), Math.max(0, Math.min(200, y)).toFixed(1)];
  };
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = getComputedStyle(pad).color || "#111";
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    try {
      pad.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser does not track (a synthetic one): drawing still works.
    }
    const [x, y] = point(e);
    path.push(`M ${x} ${y}`);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    path.push(`L ${x} ${y}`);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    drawing = false;
    data.value = path.join(" ");
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  document.getElementById("signature-clear")?.addEventListener("click", () => {
    path = [];
    data.value = "";
    ctx.clearRect(0, 0, pad.width, pad.height);
  });
  form?.addEventListener("submit", (e) => {
    if (!data.value.includes("L")) {
      e.preventDefault();
      pad.classList.add("signature-missing");
      pad.focus();
    }
  });
}
