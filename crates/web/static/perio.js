// The perio grid by keyboard: in a probing-depth box a digit is that site's depth and the
// cursor moves on to the next site in probing order (upper buccal 18 → 28, palatal 28 → 18,
// lower lingual 38 → 48, buccal 48 → 38; missing teeth skipped). "+" then a digit gives
// 10–15 mm. "b" marks the site just probed as bleeding, "s" as suppurating; Space skips a
// site; Backspace in an empty box goes back one. Enter saves the exam.

const form = document.getElementById("perio-form");

function boxes() {
  return [...form.querySelectorAll("input.pd[data-seq]")]
    .filter((el) => Number(el.dataset.seq) >= 0)
    .sort((a, b) => Number(a.dataset.seq) - Number(b.dataset.seq));
}

let last = null; // the box probed last (b and s apply to it)
let tens = false;

function move(from, step) {
  const list = boxes();
  const i = list.indexOf(from);
  const next = list[i + step];
  if (next) {
    next.focus();
    next.select();
  }
}

function mark(box, kind) {
  if (!box) return;
  const id = `${kind}_${box.dataset.site}`;
  const input = document.getElementById(id);
  if (!input) return;
  input.checked = !input.checked;
  box.closest("td")?.classList.toggle(kind === "bop" ? "bleed-mark" : "pus-mark", input.checked);
}

function onKey(ev) {
  const box = ev.target;
  if (!(box instanceof HTMLInputElement) || !box.classList.contains("pd")) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = ev.key;
  if (/^[0-9]$/.test(k)) {
    ev.preventDefault();
    const n = Number(k) + (tens ? 10 : 0);
    tens = false;
    box.value = String(n);
    last = box;
    box.closest("td")?.classList.toggle("deep4", n >= 4 && n < 6);
    box.closest("td")?.classList.toggle("deep6", n >= 6);
    move(box, 1);
  } else if (k === "+") {
    ev.preventDefault();
    tens = true;
  } else if (k === "b" || k === "B") {
    ev.preventDefault();
    mark(last || box, "bop");
  } else if (k === "s" || k === "S") {
    ev.preventDefault();
    mark(last || box, "sup");
  } else if (k === " ") {
    ev.preventDefault();
    move(box, 1);
  } else if (k === "Backspace" && box.value === "") {
    ev.preventDefault();
    move(box, -1);
  } else if (k === "Enter") {
    ev.preventDefault();
    form.requestSubmit();
  } else if (k.length === 1) {
    ev.preventDefault(); // nothing else belongs in a depth box
  }
}

if (form) {
  form.addEventListener("keydown", onKey);
  form.addEventListener("focusin", (ev) => {
    if (ev.target instanceof HTMLInputElement && ev.target.classList.contains("pd")) ev.target.select();
  });
}
