// The inbox's split view: the list beside the open conversation, each conversation at its own
// address (htmx pushes it; going back asks the server for the whole page again, since the
// history cache is off). This file keeps the parts in step after every swap: which conversation
// is marked open, the tab's title with the unread count, the contact panel, dialogs, the
// template preview, and the presence reports that tell colleagues who is on a conversation.
// The Content-Security-Policy allows no inline script, so all of it lives here.
(function () {
  "use strict";

  var SB = (window.Switchboard = window.Switchboard || {});

  function pane() {
    return document.getElementById("conversation-pane");
  }
  SB.conversationId = function () {
    var p = pane();
    return (p && p.dataset.conversationId) || "";
  };
  SB.csrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // A refused send answers 422 with the pane showing why, and the draft still in it: show it
  // as htmx shows a success.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr && e.detail.xhr.status === 422) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  function markCurrent() {
    var id = SB.conversationId();
    var inbox = document.getElementById("inbox");
    if (inbox) inbox.classList.toggle("inbox--open", id !== "");
    document.querySelectorAll(".conversation-item").forEach(function (li) {
      var on = li.dataset.conversationId === id;
      li.classList.toggle("is-current", on);
      var a = li.querySelector("a");
      if (a) a.setAttribute("aria-current", on ? "page" : "false");
    });
  }

  SB.updateTitle = function () {
    var list = document.getElementById("conversation-list");
    var unread = list ? parseInt(list.dataset.unread || "0", 10) : 0;
    var p = pane();
    var name = p && p.dataset.title ? p.dataset.title : "Inbox";
    if (!list && !p) return;
    document.title = (unread > 0 ? "(" + unread + ") " : "") + name + " · Switchboard";
  };

  // The contact panel shows by itself on wide screens; the member's choice to hide or show it
  // is remembered in this browser.
  var panelKey = "switchboard:panel";
  function panelShown(p) {
    var s = p.dataset.panel;
    return s === "open" || (s === "auto" && window.matchMedia("(min-width: 1280px)").matches);
  }
  function applyPanel() {
    var p = pane();
    if (!p || !p.classList.contains("convo")) return;
    var wide = window.matchMedia("(min-width: 900px)").matches;
    var saved = wide ? localStorage.getItem(panelKey) : null;
    if (p.dataset.panel === "auto" && saved) p.dataset.panel = saved;
    var btn = document.getElementById("panel-toggle");
    if (btn) btn.setAttribute("aria-expanded", String(panelShown(p)));
  }
  function setPanel(show) {
    var p = pane();
    if (!p) return;
    p.dataset.panel = show ? "open" : "closed";
    if (window.matchMedia("(min-width: 900px)").matches) localStorage.setItem(panelKey, p.dataset.panel);
    applyPanel();
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    var opener = t.closest("[data-dialog-open]");
    if (opener) {
      var d = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (d && !d.open) d.showModal();
      return;
    }
    var closer = t.closest("[data-dialog-close]");
    if (closer) {
      var dd = closer.closest("dialog");
      if (dd) dd.close();
      return;
    }
    if (t.closest("#panel-toggle")) {
      setPanel(!panelShown(pane()));
      return;
    }
    if (t.closest("[data-panel-close]")) setPanel(false);
  });

  // The template's text with the values typed so far; a missing value shows as its {{name}}.
  function renderPreview() {
    var el = document.querySelector("[data-template-preview]");
    if (!el) return;
    var text = el.getAttribute("data-template-preview");
    var parts = text.split(/\{\{\s*([^}]+?)\s*\}\}/);
    el.textContent = "";
    parts.forEach(function (part, i) {
      if (i % 2 === 0) {
        el.appendChild(document.createTextNode(part));
        return;
      }
      var input = document.querySelector('#template-fields [name="body_' + part + '"]');
      var mark = document.createElement("mark");
      mark.className = input && input.value ? "tpl-value" : "tpl-missing";
      mark.textContent = input && input.value ? input.value : "{{" + part + "}}";
      el.appendChild(mark);
    });
  }
  document.addEventListener("input", function (e) {
    if (e.target instanceof Element && e.target.closest("#template-fields")) renderPreview();
  });

  // Presence: the open conversation is reported every 20 s, typing at most every 3 s, and
  // leaving when another conversation opens or the page goes away.
  var present = "";
  var lastTyping = 0;
  function report(id, state, keepalive) {
    if (!id) return;
    fetch("/conversations/" + id + "/presence", {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "X-CSRF-Token": SB.csrf(), "Content-Type": "application/x-www-form-urlencoded" },
      body: "state=" + state,
    }).catch(function () {});
  }
  function syncPresence() {
    var id = SB.conversationId();
    if (id === present) return;
    if (present) report(present, "left", true);
    present = id;
    lastTyping = 0;
    if (present) report(present, "viewing");
  }
  SB.typing = function () {
    var now = Date.now();
    if (present && now - lastTyping > 3000) {
      lastTyping = now;
      report(present, "typing");
    }
  };
  SB.stoppedTyping = function () {
    if (present && lastTyping) {
      lastTyping = 0;
      report(present, "viewing");
    }
  };
  setInterval(function () {
    if (present && !document.hidden) report(present, Date.now() - lastTyping < 6000 ? "typing" : "viewing");
  }, 20000);
  window.addEventListener("pagehide", function () {
    if (present) report(present, "left", true);
    present = "";
  });

  function refresh() {
    markCurrent();
    SB.updateTitle();
    applyPanel();
    syncPresence();
    renderPreview();
    document.querySelectorAll('dialog[data-open-on-load="true"]').forEach(function (d) {
      if (!d.open && !d.dataset.shown) {
        d.dataset.shown = "1";
        d.showModal();
      }
    });
    var timeline = document.getElementById("messages");
    if (timeline && !timeline.dataset.scrolled) {
      timeline.dataset.scrolled = "1";
      timeline.scrollTop = timeline.scrollHeight;
    }
  }
  // The timeline keeps its place when it refreshes, unless the member was at its end: then the
  // new message shows.
  var atEnd = true;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var t = document.getElementById("messages");
    if (t && e.detail.target === t) atEnd = t.scrollHeight - t.scrollTop - t.clientHeight < 80;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = document.getElementById("messages");
    if (t && (e.detail.target.id === "messages" || e.detail.target.id === "conversation-pane")) {
      if (atEnd || e.detail.target.id === "conversation-pane") t.scrollTop = t.scrollHeight;
      t.dataset.scrolled = "1";
      atEnd = true;
    }
  });
  document.addEventListener("htmx:load", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
