// gatecast's one script, for the gate admin and the central console. No inline code (the CSP forbids it).
"use strict";

function dig(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
}

function formatTime(iso, i18n) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return new Intl.DateTimeFormat(i18n.lang === "vi" ? "vi-VN" : "en-GB", {
    timeZone: i18n.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit",
    day: "2-digit", month: "2-digit",
  }).format(d);
}

function updateDashboard(root, data, i18n) {
  document.getElementById("blank-banner").hidden = !data.blank.active;
  document.getElementById("lkg-banner").hidden = !data.last_known_good;
  document.getElementById("player-banner").hidden = data.player_alive;
  root.querySelectorAll("#blank-banner [data-field]").forEach((el) => {
    el.textContent = dig(data, el.dataset.field) || "";
  });
  for (const face of data.faces) {
    const card = document.getElementById("face-" + face.id);
    if (!card) continue;
    card.querySelectorAll("[data-field]").forEach((el) => {
      let v = dig(face, el.dataset.field);
      if (Array.isArray(v)) v = v.map((e) => e.name || e).join(", ");
      if (el.dataset.map) v = (i18n[el.dataset.map] || {})[v] || v;
      el.textContent = v || (el.dataset.field === "playing.name" ? i18n.nothing : "—");
    });
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
    xhr.open("POST", form.dataset.rawUrl);
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
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        status.className = "flash ok";
        status.textContent = form.dataset.done + " " + (body.name || "");
        setTimeout(() => window.location.reload(), 800);
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
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
  document.querySelectorAll("[data-back]").forEach((a) => {
    a.addEventListener("click", (ev) => {
      if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  startDashboard();
  startUpload();
  startConfirms();
});
