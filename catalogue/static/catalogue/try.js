// Try it: build JSON from the generated form (or raw JSON), invoke the skill through the
// session-authenticated catalogue routes and show the output, the streamed message or the error.
(function () {
  "use strict";
  const form = document.getElementById("try-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;

  function childFields(container) {
    // Direct descendant fields only (not those nested inside a child object or array).
    return Array.from(container.querySelectorAll("[data-kind]")).filter(
      (el) => el !== container && el.parentElement.closest("[data-kind]") === container
    );
  }

  function read(el) {
    const kind = el.dataset.kind;
    if (kind === "object") {
      const value = {};
      for (const child of childFields(el)) {
        const v = read(child);
        if (v !== undefined) value[child.dataset.key] = v;
      }
      return value;
    }
    if (kind === "array") {
      const items = el.querySelector(":scope > .items");
      return Array.from(items.children).map((row) => read(row.querySelector("[data-kind]"))).filter((v) => v !== undefined);
    }
    const optional = el.hasAttribute("data-optional");
    if (kind === "boolean") return el.querySelector("input").checked;
    const input = el.querySelector(":scope > select, :scope > input, :scope > textarea");
    const raw = input.value;
    if (raw === "" && optional) return undefined;
    if (kind === "enum") return JSON.parse(raw);
    if (kind === "integer") return parseInt(raw, 10);
    if (kind === "number") return parseFloat(raw);
    if (kind === "json") {
      try { return JSON.parse(raw); } catch (e) { throw new Error(`“${el.dataset.key}” is not valid JSON: ${e.message}`); }
    }
    return raw;
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest(".add-item, .remove-item");
    if (!button) return;
    event.preventDefault();
    if (button.classList.contains("remove-item")) { button.parentElement.remove(); return; }
    const fieldset = button.closest("[data-kind=array]");
    const row = document.createElement("div");
    row.className = "item";
    row.append(fieldset.querySelector(":scope > template").content.cloneNode(true));
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "small remove-item"; remove.textContent = "remove";
    row.append(remove);
    fieldset.querySelector(":scope > .items").append(row);
  });

  const root = () => $("generated").querySelector("[data-kind]");
  $("raw-toggle").addEventListener("change", (event) => {
    if (event.target.checked && root()) {
      try { $("raw-input").value = JSON.stringify(read(root()), null, 2); } catch (e) { /* keep the example */ }
    }
    $("raw").hidden = !event.target.checked;
    $("generated").hidden = event.target.checked;
  });

  function show(id, visible) { $(id).hidden = !visible; }
  function reset() {
    show("try-result", true);
    ["stream-message", "result-output", "result-error", "result-link"].forEach((id) => show(id, false));
    $("stream-message").textContent = "";
  }
  function showError(kind, message, explanation, error) {
    show("result-error", true);
    $("result-title").textContent = "Error";
    $("error-kind").textContent = kind;
    const fields = (error && error.errors) || [];
    // Field errors are listed one per line (and marked on the form), not as one long message.
    $("error-message").textContent = fields.length ? "The input does not match the input schema:" : message || "";
    $("error-fields").replaceChildren(...fields.map((f) => {
      const li = document.createElement("li");
      const path = document.createElement("code");
      path.textContent = f.path;
      li.append(path, `: ${f.message}`);
      return li;
    }));
    show("error-fields", fields.length > 0);
    $("error-detail-text").textContent = (error && error.detail) || "";
    show("error-detail", Boolean(error && error.detail));
    $("error-explanation").textContent = explanation || "";
    markFields(fields);
  }
  function link(url) {
    if (!url) return;
    $("result-link").querySelector("a").href = url;
    show("result-link", true);
  }

  async function runOnce(body) {
    const response = await fetch(form.dataset.url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body,
    });
    const data = await response.json();
    if (data.error) { showError(data.error.kind, data.error.message, data.error.explanation, data.error); }
    else if (response.status === 202) { $("result-title").textContent = "Still running"; }
    else {
      $("result-title").textContent = `Output (${data.duration_ms.toFixed(1)} ms)`;
      $("result-output").textContent = JSON.stringify(data.output, null, 2);
      show("result-output", true);
    }
    link(data.run_url);
  }

  async function runStream(body) {
    const response = await fetch(form.dataset.url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "text/event-stream" }, body,
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const message = $("stream-message");
    $("result-title").textContent = "Streaming…";
    show("stream-message", true);
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
        if (event === "message" && data.type === "append") message.textContent += data.text;
        else if (event === "message" && data.type === "end") {
          $("result-title").textContent = "Streamed message";
          if (data.payload !== null && data.payload !== undefined) {
            $("result-output").textContent = JSON.stringify(data.payload, null, 2);
            show("result-output", true);
          }
        } else if (event === "reasoning") message.textContent += "";
        else if (event === "error") showError(data.kind || "error", data.message, "The stream ended with an error.", data);
      }
    }
  }

  // The generated field at an error's location (keys and list indexes), or null: the nearest
  // field that exists when the error is about something inside it (or the form is raw JSON).
  function fieldAt(location) {
    let el = root();
    if (!el || $("raw-toggle").checked) return null;
    for (const step of location) {
      let next = null;
      if (el.dataset.kind === "object") next = childFields(el).find((c) => c.dataset.key === String(step)) || null;
      else if (el.dataset.kind === "array" && typeof step === "number") {
        const row = el.querySelector(":scope > .items").children[step];
        next = row ? row.querySelector("[data-kind]") : null;
      }
      if (!next) break;
      el = next;
    }
    return el === root() && location.length ? null : el;
  }
  function clearMarks() {
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  }
  function markFields(fields) {
    clearMarks();
    for (const f of fields) {
      const el = fieldAt(f.location || []);
      if (!el) continue;
      el.classList.add("invalid");
      const note = document.createElement("p");
      note.className = "field-error";
      note.textContent = f.location && f.location.length ? f.message : `${f.path}: ${f.message}`;
      const legend = el.querySelector(":scope > legend, :scope > label");
      if (legend) legend.after(note); else el.prepend(note);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearMarks();
    reset();
    let body;
    try {
      const value = $("raw-toggle").checked || !root() ? JSON.parse($("raw-input").value) : read(root());
      body = JSON.stringify(value);
    } catch (e) {
      showError("invalid JSON", e.message, "Fix the input and try again.");
      return;
    }
    $("try-submit").disabled = true;
    $("try-state").textContent = "running…";
    try {
      if (form.dataset.stream === "1") await runStream(body); else await runOnce(body);
    } catch (e) {
      showError("request failed", e.message, "The kernel did not answer; check that it is running.");
    } finally {
      $("try-submit").disabled = false;
      $("try-state").textContent = "";
    }
  });
})();
