// The console's own script: confirmations, select-all, and live progress (polling).
// Pages work without it; it only makes waiting and bulk actions pleasant.
"use strict";

function confirmations() {
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
}

function selectAll() {
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)
        .forEach((item) => { item.checked = box.checked; });
    });
  });
}

function poll(url, every, onAnswer) {
  const tick = async () => {
    try {
      const answer = await fetch(url, {credentials: "same-origin", cache: "no-store"});
      if (answer.redirected || !answer.ok) { window.location.reload(); return; }
      if (await onAnswer(await answer.json())) return;
    } catch (error) { /* the server restarting: try again */ }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
}

function runProgress() {
  const live = document.querySelector("[data-progress]");
  if (!live) return;
  poll(live.dataset.progress, 1000, (progress) => {
    for (const [name, value] of Object.entries(progress.counts)) {
      const cell = live.querySelector(`[data-count="${name}"]`);
      if (cell) cell.textContent = value;
    }
    const drawn = live.querySelector("#run-timeline");  // the server's SVG, escaped there
    if (drawn && progress.timeline) drawn.innerHTML = progress.timeline;
    if (progress.finished) { window.location.reload(); return true; }
    return false;
  });
}

function waitForRun() {
  const waiting = document.querySelector("[data-wait-run]");
  if (!waiting) return;
  poll(waiting.dataset.waitRun, 1000, (answer) => {
    if (answer.run_id) { window.location.assign(waiting.dataset.runBase + answer.run_id); return true; }
    return false;
  });
}

// The mapping editor: each edit (and sample) checked by the server's compiler, debounced;
// problems with their line and column, each sample record beside what the mapping makes.
function mappingEditor() {
  const editor = document.querySelector("[data-check]");
  if (!editor) return;
  const form = document.getElementById("mapping-form");
  const state = document.getElementById("check-state");
  const problems = document.getElementById("problems");
  const body = document.querySelector("#preview tbody");
  const pretty = (value) => JSON.stringify(value, null, 2);
  const cell = (row, text, className) => {
    const td = row.insertCell();
    const pre = document.createElement("pre");
    pre.textContent = text;
    if (className) td.className = className;
    td.appendChild(pre);
    return td;
  };
  const show = (answer) => {
    problems.replaceChildren();
    if (answer.problems.length) {
      const list = document.createElement("ul");
      list.className = "notice error problems";
      for (const p of answer.problems) {
        const item = document.createElement("li");
        item.dataset.line = p.line || "";
        item.textContent = state.dataset.at.replace("{file}", p.file).replace("{line}", p.line || "?")
          .replace("{column}", p.column || "?") + (p.field ? ` ${p.field}` : "") + ": " + p.message;
        list.appendChild(item);
      }
      problems.appendChild(list);
    }
    state.textContent = answer.ok ? `${state.dataset.ok} (v${answer.version})` : state.dataset.bad;
    const sampleError = document.getElementById("sample-error");
    sampleError.hidden = !answer.sample_error;
    sampleError.textContent = answer.sample_error || "";
    const note = document.getElementById("sample-note");
    note.hidden = !answer.note;
    note.textContent = answer.note || "";
    body.replaceChildren();
    for (const r of answer.rows) {
      const row = body.insertRow();
      row.insertCell().textContent = r.row;
      cell(row, pretty(r.input));
      if (r.errors.length) {
        cell(row, r.errors.map((e) => `${e.field}: ${e.message}`).join("\n"), "error-text");
      } else {
        cell(row, r.skipped ? document.getElementById("preview-hint").dataset.skipped : pretty(r.output));
      }
    }
  };
  let timer = null;
  let asked = 0;
  const check = () => {
    window.clearTimeout(timer);
    state.textContent = state.dataset.checking;
    timer = window.setTimeout(async () => {
      const mine = ++asked;
      const data = new FormData(form);
      data.append("records", document.getElementById("sample-records").value);
      const file = document.getElementById("sample-file").files[0];
      if (file) data.append("sample", file);
      try {
        const answer = await fetch(editor.dataset.check, {method: "POST", body: data,
          credentials: "same-origin", cache: "no-store"});
        if (answer.redirected) { window.location.reload(); return; }
        if (mine === asked && answer.ok) show(await answer.json());
      } catch (error) { /* the server restarting: the next edit asks again */ }
    }, 400);
  };
  const text = document.getElementById("mapping-text");
  problems.addEventListener("click", (event) => {  // a problem's line, selected in the YAML
    const line = Number(event.target.closest("li")?.dataset.line);
    if (!line) return;
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1] || "").length);
  });
  ["mapping-text", "sample-records"].forEach((id) =>
    document.getElementById(id).addEventListener("input", check));
  document.getElementById("sample-file").addEventListener("change", check);
  liveRecords(form, check);
  check();
}

// Live records read from a connection (the server reads them as `hub mappings preview
// --from` does, audited as the person) go into the records box as the preview's sample.
function liveRecords(form, check) {
  const live = document.getElementById("live-form");
  const button = document.getElementById("live-read");
  if (!live || !button) return;
  const state = document.getElementById("live-state");
  button.addEventListener("click", async () => {
    const data = new FormData();
    data.append("csrf", form.elements.csrf.value);
    data.append("source", document.getElementById("live-source").value);
    state.textContent = button.dataset.reading;
    button.disabled = true;
    try {
      const answer = await fetch(live.dataset.sample, {method: "POST", body: data,
        credentials: "same-origin", cache: "no-store"});
      if (answer.redirected) { window.location.reload(); return; }
      const body = await answer.json();
      const sampleError = document.getElementById("sample-error");
      sampleError.hidden = !body.error;
      sampleError.textContent = body.error || "";
      state.textContent = body.error ? "" : button.dataset.read.replace("{n}", body.records.length);
      if (!body.error) {
        document.getElementById("sample-records").value = JSON.stringify(body.records, null, 2);
        check();
      }
    } catch (error) {
      state.textContent = "";
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  confirmations();
  selectAll();
  runProgress();
  waitForRun();
  mappingEditor();
});
