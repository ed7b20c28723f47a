// The composer: one text box that replies to the customer or writes an internal note.
//   Enter sends, Shift+Enter breaks the line.
//   "/" at the start lists the canned replies (filtered as you type, arrows and Enter to pick);
//   a picked reply goes out as that canned reply while its text is left as it is.
//   "@" in a note lists the teammates who can see the conversation.
//   What is typed is kept per conversation in this browser until it is sent, so a reload or a
//   refused send (the server answers 422 with the reason) costs nothing.
// The server decides everything again: this only chooses the route the form posts to.
(function () {
  "use strict";

  var SB = (window.Switchboard = window.Switchboard || {});
  var pendingKey = null;
  var refocus = false;

  function form() {
    return document.getElementById("composer");
  }

  function load(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (err) {
      return null;
    }
  }

  function save(f) {
    var ta = f.querySelector("#reply-text");
    var canned = f.querySelector("#composer-canned");
    if (!ta.value.trim()) {
      localStorage.removeItem(f.dataset.draftKey);
      return;
    }
    localStorage.setItem(f.dataset.draftKey, JSON.stringify({ mode: f.dataset.mode, text: ta.value, canned: canned.value, cannedText: f.dataset.cannedText || "" }));
  }

  function setMode(f, mode) {
    if (mode === "reply" && f.dataset.canReply !== "true") mode = "note";
    if (mode === "note" && !f.querySelector('[data-composer-mode="note"]')) mode = "reply";
    f.dataset.mode = mode;
    f.querySelectorAll("[data-composer-mode]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.composerMode === mode));
    });
    var ta = f.querySelector("#reply-text");
    ta.placeholder = mode === "note" ? ta.dataset.placeholderNote : ta.dataset.placeholderReply;
    closePickers(f);
  }

  function autosize(ta) {
    ta.style.height = "auto";
    ta.style.height = Math.min(ta.scrollHeight, 220) + "px";
  }

  // ── pickers (canned replies, mentions) ──
  function picker(f, id) {
    return f.querySelector("#" + id);
  }
  function closePickers(f) {
    f.querySelectorAll(".picker").forEach(function (p) {
      p.hidden = true;
    });
    f.querySelector("#reply-text").removeAttribute("aria-activedescendant");
  }
  function openPicker() {
    var f = form();
    if (!f) return null;
    var open = f.querySelector(".picker:not([hidden])");
    return open;
  }
  function filter(p, query, field) {
    var q = query.toLowerCase();
    var first = null;
    p.querySelectorAll(".picker__item").forEach(function (li) {
      var hay = (li.dataset.title || "") + " " + (li.dataset.body || "") + " " + (li.dataset.name || "");
      var match = hay.toLowerCase().indexOf(q) >= 0;
      li.hidden = !match;
      li.setAttribute("aria-selected", "false");
      if (match && !first) first = li;
    });
    p.querySelector(".picker__empty").hidden = !!first;
    p.hidden = false;
    select(p, first);
  }
  function select(p, li) {
    var ta = form().querySelector("#reply-text");
    p.querySelectorAll(".picker__item").forEach(function (x) {
      x.setAttribute("aria-selected", String(x === li));
    });
    if (li) {
      ta.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({ block: "nearest" });
    }
  }
  function moveSelection(p, delta) {
    var items = Array.prototype.filter.call(p.querySelectorAll(".picker__item"), function (li) {
      return !li.hidden;
    });
    if (!items.length) return;
    var cur = items.findIndex(function (li) {
      return li.getAttribute("aria-selected") === "true";
    });
    select(p, items[(cur + delta + items.length) % items.length]);
  }
  function choose(f, li) {
    var ta = f.querySelector("#reply-text");
    if (li.dataset.id) {
      ta.value = li.dataset.body;
      f.querySelector("#composer-canned").value = li.dataset.id;
      f.dataset.cannedText = li.dataset.body;
    } else {
      var caret = ta.selectionStart;
      var before = ta.value.slice(0, caret).replace(/@([^\s@]*)$/, "@" + li.dataset.name + " ");
      ta.value = before + ta.value.slice(caret);
      ta.setSelectionRange(before.length, before.length);
    }
    closePickers(f);
    autosize(ta);
    save(f);
    ta.focus();
  }
  function updatePickers(f) {
    var ta = f.querySelector("#reply-text");
    var canned = picker(f, "canned-menu");
    var mention = picker(f, "mention-menu");
    if (f.dataset.mode === "reply" && canned && /^\/[^\n]*$/.test(ta.value)) {
      filter(canned, ta.value.slice(1).trim(), "title");
      return;
    }
    var m = ta.value.slice(0, ta.selectionStart).match(/(^|\s)@([^\s@]*)$/);
    if (f.dataset.mode === "note" && mention && m) {
      filter(mention, m[2], "name");
      return;
    }
    closePickers(f);
  }

  function say(f, text) {
    var w = f.querySelector(".composer__warn");
    if (!w) {
      w = document.createElement("p");
      w.className = "composer__warn";
      w.setAttribute("role", "alert");
      f.insertBefore(w, f.querySelector(".composer__bar"));
    }
    w.textContent = text;
  }

  function submit(f) {
    var ta = f.querySelector("#reply-text");
    if (!ta.value.trim()) return;
    if (f.dataset.mode === "reply" && f.dataset.canText !== "true" && !f.querySelector("#composer-canned").value) {
      say(f, "Your role sends canned replies only: type / and choose one.");
      updatePickers(f);
      return;
    }
    f.requestSubmit();
  }

  function setup() {
    var f = form();
    if (!f || f.dataset.ready) return;
    f.dataset.ready = "1";
    var ta = f.querySelector("#reply-text");
    var canned = f.querySelector("#composer-canned");
    var saved = load(f.dataset.draftKey);
    if (ta.value) {
      save(f); // a refused send came back filled in: keep it for a reload too
    } else if (saved && saved.text) {
      ta.value = saved.text;
      if (saved.mode) f.dataset.mode = saved.mode;
      if (saved.canned && saved.text === saved.cannedText) {
        canned.value = saved.canned;
        f.dataset.cannedText = saved.cannedText;
      }
    }
    setMode(f, f.dataset.mode);
    autosize(ta);
    if (refocus || ta.hasAttribute("autofocus")) {
      refocus = false;
      ta.focus();
      ta.setSelectionRange(ta.value.length, ta.value.length);
    }

    ta.addEventListener("input", function () {
      if (canned.value && ta.value !== f.dataset.cannedText) {
        canned.value = ""; // edited: now it is free text
        f.dataset.cannedText = "";
      }
      autosize(ta);
      save(f);
      updatePickers(f);
      if (f.dataset.mode === "reply" && ta.value.trim()) SB.typing && SB.typing();
      if (!ta.value.trim()) SB.stoppedTyping && SB.stoppedTyping();
    });
    ta.addEventListener("keydown", function (e) {
      var p = openPicker();
      if (p) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          moveSelection(p, e.key === "ArrowDown" ? 1 : -1);
          return;
        }
        if (e.key === "Enter" || e.key === "Tab") {
          var li = p.querySelector('.picker__item[aria-selected="true"]');
          if (li) {
            e.preventDefault();
            choose(f, li);
            return;
          }
        }
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          closePickers(f);
          return;
        }
      }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit(f);
      }
    });
    f.addEventListener("mousedown", function (e) {
      var li = e.target instanceof Element && e.target.closest(".picker__item");
      if (li) {
        e.preventDefault();
        choose(f, li);
      }
    });
    f.addEventListener("click", function (e) {
      var b = e.target instanceof Element && e.target.closest("[data-composer-mode]");
      if (b) {
        setMode(f, b.dataset.composerMode);
        save(f);
        ta.focus();
      }
    });
    f.addEventListener("submit", function () {
      pendingKey = f.dataset.draftKey;
      refocus = document.activeElement === ta;
    });
  }

  // The route follows the mode: a note, a canned reply (picked and unchanged), or free text.
  document.addEventListener("htmx:configRequest", function (e) {
    var f = form();
    if (!f || e.detail.elt !== f) return;
    if (f.dataset.mode === "note") e.detail.path = f.dataset.notePath;
    else if (f.querySelector("#composer-canned").value) e.detail.path = f.dataset.cannedPath;
    else e.detail.path = f.dataset.replyPath;
  });
  // Sent: forget the draft before the fresh composer is drawn. Refused (422): keep it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (!pendingKey || !e.detail.target || e.detail.target.id !== "conversation-pane") return;
    if (e.detail.xhr.status < 300) localStorage.removeItem(pendingKey);
    pendingKey = null;
  });

  SB.focusComposer = function (mode) {
    var f = form();
    if (!f) return false;
    setMode(f, mode);
    var ta = f.querySelector("#reply-text");
    ta.focus();
    return true;
  };

  document.addEventListener("htmx:load", setup);
  document.addEventListener("DOMContentLoaded", setup);
})();
