// Every POST form carries the CSRF token, also forms that do not add it themselves.
document.querySelectorAll('form[method="post"]').forEach((f) => {
  if (f.elements.csrf_token) return;
  const i = Object.assign(document.createElement("input"), {type: "hidden", name: "csrf_token"});
  i.value = document.querySelector('meta[name="csrf-token"]').content;
  f.append(i);
});
// Forms marked data-confirm ask first (deleting data cannot be undone).
document.querySelectorAll("form[data-confirm]").forEach((f) => {
  f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
});
