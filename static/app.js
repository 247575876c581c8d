// gatecast's one script, for the gate admin and the central console. No inline code (the CSP forbids it).
"use strict";

function dig(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
}

// The same text as admin/formatting.py's local_time: "HH:mm dd/MM/yyyy" in the gate's zone.
function formatTime(iso, i18n) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const parts = {};
  new Intl.DateTimeFormat("en-GB", {
    timeZone: i18n.timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    day: "2-digit", month: "2-digit", year: "numeric",
  }).formatToParts(d).forEach((p) => { parts[p.type] = p.value; });
  return `${parts.hour}:${parts.minute} ${parts.day}/${parts.month}/${parts.year}`;
}

function updateDashboard(root, data, i18n) {
  document.getElementById("blank-banner").hidden = !data.blank.active;
  document.getElementById("lkg-banner").hidden = !data.last_known_good;
  document.getElementById("player-banner").hidden = data.player_alive;
  root.querySelectorAll("#blank-banner [data-field]").forEach((el) => {
    el.textContent = dig(data, el.dataset.field) || "";
  });
  // Health, alarms, sync and recent errors come rendered by the server (the
  // page's own macros): the same words and time format as at page load.
  root.querySelectorAll("[data-part]").forEach((el) => {
    const html = (data.parts || {})[el.dataset.part];
    if (typeof html === "string" && el.gatecastHtml !== html) {
      el.innerHTML = html;
      el.gatecastHtml = html;
    }
  });
  for (const face of data.faces) {
    const card = document.getElementById("face-" + face.id);
    if (!card) continue;
    card.querySelectorAll("[data-field]").forEach((el) => {
      let v = dig(face, el.dataset.field);
      if (Array.isArray(v)) v = v.map((e) => e.name || e).join(", ");
      if (el.dataset.map) v = (i18n[el.dataset.map] || {})[v] || v;
      el.textContent = v || (el.dataset.field === "playing.name" ? i18n.nothing
        : el.dataset.error !== undefined ? i18n.none : "—");
      if (el.dataset.error !== undefined) el.classList.toggle("error-text", Boolean(v));
    });
    const darkNote = card.querySelector("[data-flag=dark]");
    if (darkNote) darkNote.hidden = !(face.dark && face.planned.entries.length);
    card.querySelectorAll("[data-time]").forEach((el) => {
      el.textContent = formatTime(dig(face, el.dataset.time), i18n);
    });
    card.querySelector("[data-flag=blanked]").hidden = !face.blanked;
    const img = card.querySelector("img[data-shot]");
    const version = face.screenshot_version ? String(face.screenshot_version) : "";
    if (img && version && img.dataset.version !== version) {
      img.dataset.version = version;
      img.src = img.dataset.base + "?v=" + version;
    }
  }
}

function startDashboard() {
  const root = document.getElementById("dashboard");
  if (!root) return;
  const i18n = JSON.parse(document.getElementById("i18n").textContent);
  const tick = () => {
    fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => updateDashboard(root, data, i18n))
      .catch(() => {})
      .finally(() => setTimeout(tick, 2000));
  };
  setTimeout(tick, 2000);
}

// After "Restart the player": ask once a second whether it came back (the
// server decides and words it), until it is back or given up on.
function startRestartWatch() {
  const status = document.getElementById("restart-status");
  if (!status || status.dataset.state !== "waiting") return;
  const tick = () => {
    fetch(status.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => {
        status.textContent = data.text;
        status.className = "flash " + data.level;
        status.dataset.state = data.state;
      })
      .catch(() => {})
      .finally(() => { if (status.dataset.state === "waiting") setTimeout(tick, 1000); });
  };
  setTimeout(tick, 1000);
}

function startUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = form.querySelector("input[type=file]");
    const file = input.files[0];
    if (!file) return;
    const xhr = new XMLHttpRequest();
    // The content's language (reports count airtime per language); "" = unspecified.
    const language = form.querySelector("select[name=language]");
    const url = new URL(form.dataset.rawUrl, window.location.href);
    if (language && language.value) url.searchParams.set("language", language.value);
    xhr.open("POST", url.toString());
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrf_token]").value);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    bar.hidden = false;
    bar.value = 0;
    status.className = "flash";
    status.textContent = form.dataset.sending;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300 && body.already) {
        // The same file is in the library already: say so and link to it (nothing new appears).
        bar.value = 100;
        status.className = "flash warning";
        status.textContent = body.already + " ";
        const link = document.createElement("a");
        link.href = body.url;
        link.textContent = body.open;
        status.appendChild(link);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        // A video the controller may not play smoothly is kept, with a warning to read.
        status.className = body.warning ? "flash warning" : "flash ok";
        status.textContent = form.dataset.done + " " + (body.name || "") + (body.warning ? " — " + body.warning : "");
        if (!body.warning) setTimeout(() => window.location.reload(), 800);
      } else {
        status.className = "flash error";
        status.textContent = body.error || form.dataset.failed + " (" + xhr.status + ")";
      }
    });
    xhr.addEventListener("error", () => {
      status.className = "flash error";
      status.textContent = form.dataset.failed;
    });
    xhr.send(file);
  });
}

function startConfirms() {
  // A form asks before any of its submits; a button with its own data-confirm
  // asks only when it is the one pressed (the emergency's "Publish now", not "Preview").
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
  // data-confirm-unless: a selector; when it matches, the page asks a sharper
  // question of its own (static/blankwarn.js: a targeted gate is blanked).
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (ev) => {
      const unless = button.dataset.confirmUnless;
      if (unless && document.querySelector(unless)) return;
      if (!window.confirm(button.dataset.confirm)) ev.preventDefault();
    });
  });
  document.querySelectorAll("[data-back]").forEach((a) => {
    a.addEventListener("click", (ev) => {
      if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
    });
  });
}

// On a phone each table row is a card (app.css): give every cell its column's
// heading, shown above the value.
function labelCells() {
  document.querySelectorAll("table").forEach((table) => {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    if (!heads.length) return;
    table.querySelectorAll("tbody tr").forEach((tr) => {
      let col = 0;
      for (const td of tr.children) {
        const label = heads[col];
        if (label && !td.hasAttribute("data-label") && td.colSpan === 1) td.dataset.label = label;
        col += td.colSpan || 1;
      }
    });
  });
}

// A playlist's items (central console): drag an item by its name onto another
// to move it there. The item's own form posts the move (do=move, to=N), so the
// version check and the audit are those of the up/down buttons, which work
// without this script.
function startDragOrder() {
  document.querySelectorAll("ol[data-drag]").forEach((list) => {
    let from = null;
    const clear = () => list.querySelectorAll(".drop-before, .drop-after")
      .forEach((el) => el.classList.remove("drop-before", "drop-after"));
    list.querySelectorAll("li[data-position]").forEach((li) => {
      const handle = li.querySelector(".item-what");
      if (!handle || !li.querySelector("form")) return;
      handle.draggable = true;
      handle.title = list.dataset.drag;
      handle.addEventListener("dragstart", (ev) => {
        from = li;
        li.classList.add("dragging");
        ev.dataTransfer.effectAllowed = "move";
        ev.dataTransfer.setData("text/plain", li.dataset.position);
      });
      handle.addEventListener("dragend", () => { li.classList.remove("dragging"); clear(); });
      li.addEventListener("dragover", (ev) => {
        if (!from || from === li) return;
        ev.preventDefault();
        clear();
        li.classList.add(Number(from.dataset.position) < Number(li.dataset.position)
          ? "drop-after" : "drop-before");
      });
      li.addEventListener("drop", (ev) => {
        ev.preventDefault();
        if (!from || from === li) return;
        const form = from.querySelector("form");
        for (const [name, value] of [["do", "move"], ["to", li.dataset.position]]) {
          const input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.value = value;
          form.append(input);
        }
        form.submit();
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  labelCells();
  startDashboard();
  startRestartWatch();
  startUpload();
  startConfirms();
  startDragOrder();
});
