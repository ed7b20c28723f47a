// Keyboard shortcuts of the inbox (the "?" sheet lists them): j/k or the arrows move in the
// list, Enter or o opens, r replies, n writes a note, a assigns to me, e closes, / searches.
// They act only when no text box has the focus, and only through controls already on the page,
// so a shortcut can do nothing the member could not do with a click.
(function () {
  "use strict";

  var SB = (window.Switchboard = window.Switchboard || {});

  function links() {
    return Array.prototype.slice.call(document.querySelectorAll("#conversation-list .conversation-item__link"));
  }

  function move(delta) {
    var all = links();
    if (!all.length) return;
    var idx = all.indexOf(document.activeElement);
    if (idx < 0) {
      var sel = document.querySelector("#conversation-list .is-selected a, #conversation-list .is-current a");
      idx = all.indexOf(sel);
    }
    idx = idx < 0 ? (delta > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, idx + delta));
    document.querySelectorAll("#conversation-list .is-selected").forEach(function (li) {
      li.classList.remove("is-selected");
    });
    all[idx].closest("li").classList.add("is-selected");
    all[idx].focus();
    all[idx].scrollIntoView({ block: "nearest" });
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el) el.click();
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (!document.getElementById("inbox")) return;
    var t = e.target instanceof Element ? e.target : document.body;
    var typing = t.closest("input, textarea, select, [contenteditable]");
    if (typing) {
      if (e.key === "Escape" && !t.closest("dialog")) t.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    var inList = t === document.body || !!t.closest("#conversation-list");
    switch (e.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "ArrowDown":
      case "ArrowUp":
        if (!inList) return;
        move(e.key === "ArrowDown" ? 1 : -1);
        break;
      case "o":
      case "Enter":
        var sel = document.querySelector("#conversation-list .is-selected a");
        if (!sel || (e.key === "Enter" && t.closest("a, button"))) return;
        sel.click();
        break;
      case "r":
        if (!SB.focusComposer || !SB.focusComposer("reply")) return;
        break;
      case "n":
        if (!SB.focusComposer || !SB.focusComposer("note")) return;
        break;
      case "a":
        click("assign-me");
        break;
      case "e":
        click("close-conversation");
        break;
      case "/":
        var s = document.getElementById("inbox-search");
        if (!s) return;
        s.focus();
        s.select();
        break;
      case "?":
        var d = document.getElementById("shortcuts-dialog");
        if (!d) return;
        d.showModal();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
})();
