// Live progress without reloads: poll the batch API for every element marked data-batch.
(function () {
  const els = document.querySelectorAll("[data-batch]");
  async function tick() {
    let pending = false;
    for (const el of els) {
      const res = await fetch(`/api/v1/batches/${el.dataset.batch}`);
      if (!res.ok) continue;
      const b = await res.json();
      el.querySelector("progress").value = b.counts.done + b.counts.failed;
      el.querySelector(".done").textContent = b.counts.done;
      el.querySelector(".failed").textContent = b.counts.failed;
      if (!b.finished) pending = true;
      else if (el.dataset.reloadWhenFinished === "yes") { location.reload(); return; }
    }
    if (pending) setTimeout(tick, 1000);
  }
  if (els.length) setTimeout(tick, 1000);
})();
