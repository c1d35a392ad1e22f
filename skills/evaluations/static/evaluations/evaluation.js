// The evaluation page: poll the progress endpoint while the evaluation runs, then offer a reload.
(function () {
  "use strict";
  var card = document.getElementById("progress-card");
  if (!card || card.dataset.terminal === "1") return;
  var url = card.dataset.progressUrl;
  var bar = document.getElementById("progress-bar");
  var status = document.getElementById("evaluation-status");
  function set(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (!progress) { setTimeout(poll, 3000); return; }
        bar.max = progress.total; bar.value = progress.done; bar.textContent = progress.percent + "%";
        set("progress-done", progress.done); set("progress-total", progress.total);
        set("progress-in-flight", progress.in_flight); set("progress-pending", progress.pending);
        status.textContent = progress.status;
        status.className = "status big status-" + progress.status;
        if (["finished", "failed", "cancelled"].indexOf(progress.status) >= 0) {
          var cancel = document.getElementById("cancel-form");
          if (cancel) cancel.hidden = true;
          document.getElementById("progress-reload").hidden = false;
          card.dataset.terminal = "1";
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
