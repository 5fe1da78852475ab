// Receipt review: zoom/pan the page, turn pages, highlight a field's box on its page,
// keyboard-only review.
(function () {
  const viewer = document.getElementById("viewer");
  const stage = document.getElementById("stage");
  const img = document.getElementById("receipt-image");
  const box = document.getElementById("box");
  const inputs = Array.from(document.querySelectorAll("#review-form input[name]:not([type=hidden])"));
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
  function show(input) {
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
})();
