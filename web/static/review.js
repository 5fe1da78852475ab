// Receipt review: zoom/pan the page, turn pages, highlight a field's box on its page,
// keyboard-only review.
(function () {
  const viewer = document.getElementById("viewer");
  const stage = document.getElementById("stage");
  const img = document.getElementById("receipt-image");
  const box = document.getElementById("box");
  const inputs = Array.from(document.querySelectorAll("#review-form .field input[name]"));
  const thumbs = Array.from(document.querySelectorAll("#pages .thumb"));
  let scale = 1, x = 0, y = 0;
  let pending = null;  // the box to draw once the page it is on has loaded

  // Show page n (1-based); resolves once its image is loaded and fitted.
  function showPage(n) {
    if (!img || !thumbs.length) return Promise.resolve();
    const thumb = thumbs.find((t) => Number(t.dataset.page) === n);
    if (!thumb) return Promise.resolve();
    thumbs.forEach((t) => t.classList.toggle("current", t === thumb));
    if (Number(img.dataset.page) === n) return Promise.resolve();
    box.hidden = true;
    return new Promise((resolve) => {
      img.addEventListener("load", () => { fit(); resolve(); }, { once: true });
      img.dataset.page = String(n);
      img.alt = `receipt page ${n}`;
      img.src = thumb.dataset.src;
    });
  }
  function turn(step) {
    const n = Number(img.dataset.page) + step;
    if (n >= 1 && n <= thumbs.length) showPage(n);
  }
  thumbs.forEach((t) => t.addEventListener("click", () => showPage(Number(t.dataset.page))));
  document.addEventListener("keydown", (e) => {
    if (e.key === "PageDown") { e.preventDefault(); turn(1); }
    else if (e.key === "PageUp") { e.preventDefault(); turn(-1); }
  });

  function apply() { if (stage) stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; }
  function fit() {
    if (!img || !viewer) return;
    scale = Math.min(viewer.clientWidth / img.naturalWidth, viewer.clientHeight / img.naturalHeight, 1);
    x = 0; y = 0; apply();
  }
  function show(input) {  // an input, or a table row: anything with data-box/data-page
    if (!box) return;
    const b = (input.dataset.box || "").split(",").map(Number);
    if (b.length !== 4 || b.some(isNaN)) { box.hidden = true; return; }
    const page = Number(input.dataset.page || 1);
    if (img && Number(img.dataset.page) !== page) {
      pending = input;
      showPage(page).then(() => { if (pending === input) show(input); });
      return;
    }
    pending = null;
    Object.assign(box.style, { left: b[0] + "px", top: b[1] + "px", width: (b[2] - b[0]) + "px", height: (b[3] - b[1]) + "px" });
    box.hidden = false;
    // Bring the box into view at the current zoom.
    const cx = (b[0] + b[2]) / 2 * scale, cy = (b[1] + b[3]) / 2 * scale;
    if (viewer) { x = viewer.clientWidth / 2 - cx; y = Math.min(0, viewer.clientHeight / 2 - cy); apply(); }
  }
  if (img) {
    img.complete ? fit() : img.addEventListener("load", fit);
    viewer.addEventListener("wheel", (e) => {
      e.preventDefault();
      const factor = e.deltaY < 0 ? 1.15 : 1 / 1.15;
      const rect = viewer.getBoundingClientRect();
      const px = e.clientX - rect.left, py = e.clientY - rect.top;
      x = px - (px - x) * factor; y = py - (py - y) * factor; scale *= factor; apply();
    }, { passive: false });
    let drag = null;
    viewer.addEventListener("mousedown", (e) => { drag = { sx: e.clientX - x, sy: e.clientY - y }; });
    window.addEventListener("mousemove", (e) => { if (drag) { x = e.clientX - drag.sx; y = e.clientY - drag.sy; apply(); } });
    window.addEventListener("mouseup", () => { drag = null; });
  }
  inputs.forEach((input, i) => {
    input.addEventListener("focus", () => show(input));
    input.addEventListener("mouseenter", () => show(input));
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const next = inputs[(i + (e.key === "ArrowDown" ? 1 : inputs.length - 1)) % inputs.length];
        next.focus(); next.select();
      } else if (e.key === "Escape") {
        input.value = input.dataset.extracted;
      }
    });
  });
  if (inputs.length) { inputs[0].focus(); inputs[0].select(); }

  // Line items: an editable table per table field. Ctrl+Enter adds a row under the current one,
  // Ctrl+Delete removes it, ↑/↓ move within a column; a row with a box shows it on its page.
  document.querySelectorAll(".table-field").forEach((table) => {
    const body = table.querySelector("tbody");
    const field = table.dataset.field, columns = table.dataset.columns.split(",");
    const renumber = () => {
      Array.from(body.rows).forEach((row, i) => {
        row.querySelectorAll("input").forEach((input, j) => {
          input.name = `${field}.${i}.${columns[j]}`;
          input.setAttribute("aria-label", `${columns[j]} of row ${i + 1}`);
        });
      });
    };
    const addRow = (after) => {
      const row = document.createElement("tr");
      columns.forEach(() => {
        const cell = document.createElement("td"), input = document.createElement("input");
        input.autocomplete = "off"; cell.append(input); row.append(cell);
      });
      const cell = document.createElement("td"), remove = document.createElement("button");
      remove.type = "button"; remove.className = "remove-row"; remove.textContent = "×";
      cell.append(remove); row.append(cell);
      after ? after.after(row) : body.append(row);
      renumber();
      row.querySelector("input").focus();
    };
    const removeRow = (row) => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove(); renumber();
      if (next) next.querySelector("input").focus();
    };
    table.querySelector(".add-row").addEventListener("click", () => addRow(null));
    body.addEventListener("click", (e) => {
      if (e.target.classList.contains("remove-row")) removeRow(e.target.closest("tr"));
    });
    body.addEventListener("focusin", (e) => { const row = e.target.closest("tr"); if (row && row.dataset.box) show(row); });
    body.addEventListener("keydown", (e) => {
      const input = e.target.closest("input"); if (!input) return;
      const row = input.closest("tr"), col = Array.from(row.querySelectorAll("input")).indexOf(input);
      if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); addRow(row); }
      else if (e.key === "Delete" && e.ctrlKey) { e.preventDefault(); removeRow(row); }
      else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const other = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
        if (other) { const target = other.querySelectorAll("input")[col]; target.focus(); target.select(); }
      }
    });
  });
})();
