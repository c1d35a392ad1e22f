// The admin's "Sync now" page (templates/admin/skills/namespacesource/sync.html): poll the state
// of the syncs started, once a second, until every one is done. A file of its own, not inline:
// the Content-Security-Policy runs local scripts only.
(function () {
  const box = document.getElementById("sync-progress");
  const summary = document.getElementById("sync-summary");
  if (!box) return;
  const started = Date.now();
  function item(text, cls) {
    const li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    return li;
  }
  function show(row) {
    const tr = box.querySelector(`tr[data-source="${row.id}"]`);
    if (!tr) return;
    const badge = tr.querySelector(".status");
    badge.className = `status status-${row.state}`;
    badge.textContent = row.summary;
    tr.querySelector("progress").hidden = row.done;
    const seconds = row.seconds !== null ? row.seconds : row.done ? null : (Date.now() - started) / 1000;
    tr.querySelector(".elapsed").textContent = seconds === null ? "" : `${seconds.toFixed(0)} s`;
    const lines = tr.querySelector(".lines");
    const items = row.lines.map((line) => item(line, line.includes(": ERROR ") ? "error" : ""));
    if (row.done && row.error && !row.lines.length) items.push(item(row.error, "error"));
    lines.replaceChildren(...items);
  }
  async function poll() {
    for (;;) {
      let data;
      try {
        data = await (await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })).json();
      } catch (error) {
        summary.textContent = "Lost contact with the kernel; retrying…";
        await new Promise((r) => setTimeout(r, 2000));
        continue;
      }
      data.sources.forEach(show);
      const running = data.sources.filter((row) => !row.done).length;
      if (!running) {
        const failing = data.sources.filter((row) => row.state === "failing").length;
        summary.textContent = failing ? `Done: ${failing} of ${data.sources.length} failing.` : "Done.";
        return;
      }
      summary.textContent = `Syncing ${running} of ${data.sources.length}…`;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  poll();
})();
