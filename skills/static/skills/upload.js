// The admin's upload page (templates/admin/skills/skillversion/upload.html): send the component
// with a progress bar, then poll the version's status until it is ready or failed. A file of its
// own, not inline: the Content-Security-Policy runs local scripts only.
(function () {
  const form = document.getElementById("upload-form");
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const statusLine = document.getElementById("upload-status");
  // "New namespace…" reveals the field for its name; any other choice hides it (and clears it).
  const namespace = document.getElementById("id_namespace");
  const newNamespace = document.getElementById("id_new_namespace");
  if (namespace && newNamespace) {
    const row = newNamespace.closest("tr") || newNamespace.parentElement;
    const toggle = () => {
      const isNew = namespace.value === "__new__";
      row.hidden = !isNew;
      newNamespace.required = isNew;
      if (isNew) newNamespace.focus(); else newNamespace.value = "";
    };
    namespace.addEventListener("change", toggle);
    row.hidden = namespace.value !== "__new__";
    newNamespace.required = !row.hidden;
  }
  function step(name, state) {
    box.querySelectorAll("li").forEach((li) => {
      const order = ["uploading", "compiling", "ready"];
      const i = order.indexOf(li.dataset.step), j = order.indexOf(name);
      li.className = i < j ? "done" : i === j ? state || "current" : "";
    });
  }
  function detail(pairs) {
    const dl = document.getElementById("upload-detail");
    dl.replaceChildren();
    for (const [k, v] of pairs) {
      if (!v) continue;
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      dl.append(dt, dd);
    }
    dl.hidden = false;
  }
  async function poll(url) {
    for (;;) {
      const data = await (await fetch(url, { headers: { Accept: "application/json" } })).json();
      if (data.status === "ready") {
        step("ready", "done"); bar.value = 100;
        statusLine.textContent = `Ready: ${data.skill} @ ${data.digest.slice(0, 12)}` + (data.tags.length ? ` (tags: ${data.tags.join(", ")})` : "");
        detail([["Description", data.description], ["World", `${data.world} (WIT ${data.wit_version})`],
                ["Input fields", data.input_fields.join(", ")],
                ["Compiled in", data.compile_seconds ? `${data.compile_seconds.toFixed(1)} s` : "reused a stored artifact"]]);
        document.getElementById("version-link").href = data.change_url;
        document.getElementById("catalogue-link").href = data.catalogue_url;
        document.getElementById("upload-links").hidden = false;
        return;
      }
      if (data.status === "failed") {
        step("ready", "failed"); box.querySelector("[data-step=ready]").textContent = "3. Failed";
        statusLine.textContent = `Failed: ${data.failure_reason}`;
        document.getElementById("version-link").href = data.change_url;
        document.getElementById("upload-links").hidden = false;
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    box.hidden = false; step("uploading"); bar.removeAttribute("value"); bar.value = 0;
    statusLine.textContent = "Uploading…";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 90); statusLine.textContent = `Uploading… ${Math.round(e.loaded / 1e6)} of ${Math.round(e.total / 1e6)} MB`; }
    };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = { errors: { upload: [xhr.statusText] } }; }
      if (xhr.status !== 200) {
        step("uploading", "failed");
        statusLine.textContent = "Upload rejected: " + Object.entries(data.errors || {}).map(([k, v]) => `${k}: ${v.join(" ")}`).join("; ");
        return;
      }
      step("compiling"); bar.removeAttribute("value");
      statusLine.textContent = data.note + " Compiling…";
      poll(data.status_url);
    };
    xhr.onerror = () => { step("uploading", "failed"); statusLine.textContent = "The upload failed (network error)."; };
    xhr.send(new FormData(form));
  });
})();
