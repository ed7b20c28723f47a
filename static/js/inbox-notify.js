// What the member asked to hear about: new customer messages in their conversations, in
// unassigned ones, or in ones they were mentioned in, and mentions of them. The server lists
// them (through the visibility predicate) whenever the live stream says something changed; this
// shows each as a toast, and, if the member turned them on, as a browser notification and a
// short sound. The choices stay in this browser.
(function () {
  "use strict";

  var SB = (window.Switchboard = window.Switchboard || {});
  var prefsKey = "switchboard:notify";

  function prefs() {
    try {
      return JSON.parse(localStorage.getItem(prefsKey) || "null") || {};
    } catch (err) {
      return {};
    }
  }

  function applyPrefs() {
    var p = prefs();
    document.querySelectorAll("[data-notify-pref]").forEach(function (box) {
      var k = box.dataset.notifyPref;
      if (k in p) box.checked = !!p[k];
    });
    // Asking again is only possible while the browser has not been answered.
    var ask = document.getElementById("notify-enable");
    if (ask) ask.hidden = !("Notification" in window) || Notification.permission !== "default";
    var state = document.getElementById("notify-state");
    if (!state) return;
    if (!("Notification" in window)) state.textContent = "This browser cannot show notifications.";
    else if (Notification.permission === "granted") state.textContent = "Browser notifications are on.";
    else if (Notification.permission === "denied") state.textContent = "Notifications are blocked in the browser's site settings.";
    else state.textContent = "";
  }

  document.addEventListener("change", function (e) {
    var box = e.target instanceof Element && e.target.closest("[data-notify-pref]");
    if (!box) return;
    var p = prefs();
    p[box.dataset.notifyPref] = box.checked;
    localStorage.setItem(prefsKey, JSON.stringify(p));
  });

  document.addEventListener("click", function (e) {
    if (!(e.target instanceof Element) || !e.target.closest("#notify-enable")) return;
    if (!("Notification" in window)) return applyPrefs();
    Notification.requestPermission().then(applyPrefs);
  });

  // A short two-tone chime, synthesised: no sound file to fetch.
  var audio = null;
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 1320].forEach(function (hz, i) {
        var o = audio.createOscillator();
        var g = audio.createGain();
        var t = audio.currentTime + i * 0.12;
        o.frequency.value = hz;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
        o.connect(g).connect(audio.destination);
        o.start(t);
        o.stop(t + 0.3);
      });
    } catch (err) {
      /* no audio here: the toast is enough */
    }
  }

  function toast(n) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var a = document.createElement("a");
    a.className = "toast toast--" + n.kind;
    a.href = n.href;
    var title = document.createElement("strong");
    title.className = "toast__title";
    title.textContent = n.title;
    var text = document.createElement("span");
    text.className = "toast__text";
    text.textContent = n.text;
    a.appendChild(title);
    a.appendChild(text);
    box.appendChild(a);
    setTimeout(function () {
      a.remove();
    }, 9000);
  }

  function tell(n) {
    var p = prefs();
    var here = SB.conversationId && n.href === "/conversations/" + SB.conversationId();
    var focused = !document.hidden && document.hasFocus();
    if (n.kind === "mention" || !here || !focused) toast(n);
    if (!focused && "Notification" in window && Notification.permission === "granted") {
      var note = new Notification(n.title, { body: n.text, tag: n.kind + n.id });
      note.onclick = function () {
        window.focus();
        window.location.href = n.href;
      };
    }
    if (p.sound && !(here && focused)) chime();
  }

  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.detail.target || e.detail.target.id !== "notices") return;
    var data = e.detail.target.firstElementChild;
    if (!data) return;
    var cursors = document.getElementById("notice-cursors");
    if (cursors) {
      cursors.querySelector('[name="messages_after"]').value = data.dataset.messagesAfter;
      cursors.querySelector('[name="mentions_after"]').value = data.dataset.mentionsAfter;
    }
    Array.prototype.slice.call(data.querySelectorAll(".notice")).reverse().forEach(function (el) {
      tell({ id: el.dataset.id, kind: el.dataset.kind, title: el.dataset.title, text: el.dataset.text, href: el.dataset.href });
    });
  });

  document.addEventListener("DOMContentLoaded", applyPrefs);
})();
