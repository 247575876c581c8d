// Form widgets in the page's language, not the browser's (kiosk/web
// templates/web/macros.html): the file button's chosen name, a calendar
// beside each dd/mm/yyyy date field, and the browser's own checks of a field
// said in the page's words. The fields work without this script. The words
// come from the page (<body data-form-words>, kiosk/web/pages.py form_words).
"use strict";

const formWords = () => JSON.parse(document.body.dataset.formWords || "{}");

// The browser checks required fields, a number's range, a minimum length and
// a pattern before a form is sent, and says what is wrong in ITS language:
// say it in the page's instead (the same check, the page's words).
function startFieldChecks(words) {
  if (!words.fill) return;
  const said = new WeakSet();
  document.addEventListener("invalid", (ev) => {
    const el = ev.target;
    const v = el.validity;
    if (v.customError && !said.has(el)) return;  // a message of the page's own (the file button)
    let text = words.fix;
    if (v.valueMissing) {
      text = el.type === "file" ? words.file : el.type === "checkbox" ? words.tick
        : el.tagName === "SELECT" ? words.choose : words.fill;
    } else if (v.rangeUnderflow || v.rangeOverflow || v.stepMismatch || v.badInput) {
      text = words.number.replace("{min}", el.min || "…").replace("{max}", el.max || "…");
    } else if (v.tooShort) {
      text = words.short.replace("{min}", el.minLength);
    }
    said.add(el);
    el.setCustomValidity(text);
  }, true);
  const retry = (ev) => {
    if (said.has(ev.target)) {
      said.delete(ev.target);
      ev.target.setCustomValidity("");
    }
  };
  document.addEventListener("input", retry, true);
  document.addEventListener("change", retry, true);
}

// The file button: the chosen file's name beside "Chọn tệp", and the page's
// own words when the form is sent without a file.
function startFilePicks(words) {
  document.querySelectorAll(".file-pick input[type=file]").forEach((input) => {
    const shown = document.getElementById(input.id + "-name");
    const chosen = document.createElement("span");
    chosen.className = "file-chosen";
    shown.append(chosen);
    const update = () => {
      const names = [...input.files].map((f) => f.name).join(", ");
      chosen.textContent = names;
      shown.classList.toggle("chosen", names !== "");
      input.setCustomValidity(input.required && !names ? words.file || "" : "");
    };
    input.addEventListener("change", update);
    input.form && input.form.addEventListener("reset", () => setTimeout(update));
    update();
  });
}

function two(n) { return String(n).padStart(2, "0"); }

// "25/12/2026" (or 25-12-2026, 25.12.2026) or ISO -> a Date at local midnight, or null.
function readDay(text) {
  let m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(text.trim());
  let d, mo, y;
  if (m) { [d, mo, y] = [m[1], m[2], m[3]].map(Number); } else {
    m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text.trim());
    if (!m) return null;
    [y, mo, d] = [m[1], m[2], m[3]].map(Number);
  }
  const day = new Date(y, mo - 1, d);
  return day.getMonth() === mo - 1 && day.getDate() === d ? day : null;
}

function sameDay(a, b) {
  return a && b && a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// A calendar for one date field: a button opens it under the field; arrows
// move the day, PageUp/PageDown the month, Enter picks, Escape closes.
function startCalendars(words) {
  if (!words.months) return;
  document.querySelectorAll("input[data-date]").forEach((input) => {
    const box = document.createElement("span");
    box.className = "date-field";
    input.replaceWith(box);
    box.append(input);
    const open = document.createElement("button");
    open.type = "button";
    open.className = "date-open";
    open.setAttribute("aria-label", words.open);
    open.setAttribute("aria-haspopup", "dialog");
    open.title = words.open;
    open.innerHTML = '<svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M4 0h2v2h4V0h2v2h3v14H1V2h3zm-1 6v8h10V6zm1 1h2v2H4zm4 0h2v2H8z"/></svg>';
    box.append(open);
    let panel = null;
    let focus = null;

    const close = (back) => {
      if (!panel) return;
      panel.remove();
      panel = null;
      open.setAttribute("aria-expanded", "false");
      if (back) open.focus();
    };
    const pick = (day) => {
      input.value = `${two(day.getDate())}/${two(day.getMonth() + 1)}/${day.getFullYear()}`;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      close(false);
      input.focus();
    };
    const draw = () => {
      const chosen = readDay(input.value);
      const today = new Date();
      panel.replaceChildren();
      const head = document.createElement("div");
      head.className = "cal-head";
      const title = document.createElement("span");
      title.id = input.id + "-cal-title";
      title.textContent = `${words.months[focus.getMonth()]} ${focus.getFullYear()}`;
      title.setAttribute("aria-live", "polite");
      const step = (label, text, months) => {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = text;
        b.setAttribute("aria-label", label);
        b.title = label;
        b.addEventListener("click", () => { focus = new Date(focus.getFullYear(), focus.getMonth() + months, 1); draw(); });
        return b;
      };
      head.append(step(words.previous, "‹", -1), title, step(words.next, "›", 1));
      panel.setAttribute("aria-labelledby", title.id);
      const grid = document.createElement("div");
      grid.className = "cal-grid";
      grid.setAttribute("role", "grid");
      words.days.forEach((d) => {
        const a = document.createElement("abbr");
        a.textContent = d;
        grid.append(a);
      });
      // Weeks start on Monday, as on the gate's schedule.
      const first = new Date(focus.getFullYear(), focus.getMonth(), 1);
      const start = new Date(first);
      start.setDate(1 - ((first.getDay() + 6) % 7));
      let focusButton = null;
      for (let i = 0; i < 42; i++) {
        const day = new Date(start.getFullYear(), start.getMonth(), start.getDate() + i);
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = day.getDate();
        b.setAttribute("aria-label", `${two(day.getDate())}/${two(day.getMonth() + 1)}/${day.getFullYear()}`);
        if (day.getMonth() !== focus.getMonth()) b.classList.add("other");
        if (sameDay(day, today)) b.classList.add("today");
        b.setAttribute("aria-selected", sameDay(day, chosen) ? "true" : "false");
        const here = sameDay(day, focus);
        b.tabIndex = here ? 0 : -1;
        if (here) focusButton = b;
        b.addEventListener("click", () => pick(day));
        grid.append(b);
      }
      grid.addEventListener("keydown", (ev) => {
        const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
        if (ev.key in moves) {
          focus = new Date(focus.getFullYear(), focus.getMonth(), focus.getDate() + moves[ev.key]);
        } else if (ev.key === "PageUp" || ev.key === "PageDown") {
          focus = new Date(focus.getFullYear(), focus.getMonth() + (ev.key === "PageUp" ? -1 : 1), focus.getDate());
        } else return;
        ev.preventDefault();
        draw();
        panel.querySelector(".cal-grid button[tabindex='0']").focus();
      });
      panel.append(head, grid);
      return focusButton;
    };
    open.addEventListener("click", () => {
      if (panel) { close(true); return; }
      focus = readDay(input.value) || new Date();
      panel = document.createElement("div");
      panel.className = "calendar";
      panel.setAttribute("role", "dialog");
      panel.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); close(true); } });
      box.append(panel);
      open.setAttribute("aria-expanded", "true");
      // Keep the panel on the screen (a field near the right edge of a phone).
      const room = document.documentElement.clientWidth - box.getBoundingClientRect().left;
      if (room < 280) panel.style.left = `${Math.min(0, room - 290)}px`;
      draw().focus();
    });
    document.addEventListener("click", (ev) => { if (panel && !box.contains(ev.target)) close(false); });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const words = formWords();
  startFieldChecks(words);
  startFilePicks(words);
  startCalendars(words);
});
