// Drag and drop fills the ordinary file input, so the form posts the same way either way.
(function () {
  const zone = document.getElementById("drop-zone"), input = document.getElementById("files");
  const chosen = document.getElementById("chosen");
  const show = () => { chosen.textContent = input.files.length ? `${input.files.length} file(s) chosen` : ""; };
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    const all = new DataTransfer();
    for (const f of [...input.files, ...e.dataTransfer.files]) all.items.add(f);
    input.files = all.files; show();
  });
  input.addEventListener("change", show);
})();
