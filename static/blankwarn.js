// The Emergency page's warning (central/templates/_fleet_macros.html,
// blank_warning): of the gates that are blanked now (by central's kill switch
// or the technician's on the gate), show those the form targets, on the faces
// it targets, and ask once more before publishing to them. Without script the
// server lists every blanked gate (and, after a preview, the targeted ones).
"use strict";

(function () {
  function targeted(form, item) {
    const targets = [...form.querySelectorAll("input[name=target]:checked")].map((i) => i.value);
    const groups = (item.dataset.groups || "").split(" ").filter(Boolean);
    const hit = targets.some((t) => t === "province" || t === "gate:" + item.dataset.gate ||
      groups.some((g) => t === "group:" + g));
    if (!hit) return false;
    const faces = [...form.querySelectorAll("input[name=face]:checked")].map((i) => i.value);
    const dark = (item.dataset.faces || "").split(" ").filter(Boolean);
    // "" = every face is black; no face ticked = the emergency goes to every face.
    return !faces.length || !dark.length || faces.some((f) => dark.includes(f));
  }

  function update(form, box) {
    let shown = 0;
    box.querySelectorAll("li[data-gate]").forEach((li) => {
      li.hidden = !targeted(form, li);
      if (!li.hidden) shown += 1;
    });
    box.hidden = !shown;
    return [...box.querySelectorAll("li[data-gate]")].filter((li) => !li.hidden);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("blank-warning");
    const form = document.getElementById("emergency-form");
    if (!box || !form) return;
    box.querySelector(".all-blanked")?.remove(); // the script says which are targeted instead
    form.addEventListener("change", () => update(form, box));
    update(form, box);
    form.addEventListener("submit", (ev) => {
      if (!ev.submitter || ev.submitter.id !== "publish") return;
      const hit = update(form, box);
      if (!hit.length) return;
      const names = hit.map((li) => li.dataset.name).join(", ");
      if (!window.confirm(box.dataset.ask.replace("%(gates)s", names))) ev.preventDefault();
    });
  });
}());
