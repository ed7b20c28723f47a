// Switchboard's only hand-written script. The Content-Security-Policy allows no inline script, so
// what htmx needs beyond its attributes lives here.
//
// Echo's CSRF middleware reads the token from the X-CSRF-Token header (forms send _csrf). htmx
// requests carry no form field of ours when they are triggered from buttons or links, so every
// htmx request gets the header from <meta name="csrf-token">, which the layout renders. It is read
// per request, not cached, so a page whose <head> is replaced keeps working. htmx sends requests only
// to this origin (selfRequestsOnly, on by default in htmx 2), so the token never leaves the site.
(function () {
  "use strict";

  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
})();

// File uploads in the reply box (form[data-media-upload]): a dropped file goes into the file
// input; before anything is sent, WhatsApp's type and size limits are checked here (the server
// checks them again); then the form is sent with XMLHttpRequest so that a progress bar can show
// how much has gone. The server answers as it does to the plain form: a redirect back to the
// conversation when the file was sent, or the page again with the reason.
(function () {
  "use strict";

  var MB = 1024 * 1024;
  var limits = [
    [/^image\/(jpeg|png)$/, 5 * MB, "Images"],
    [/^(video\/(mp4|3gpp))$/, 16 * MB, "Videos"],
    [/^audio\/(aac|amr|mpeg|mp4|ogg)$/, 16 * MB, "Audio files"],
    [/^(text\/plain|application\/(pdf|msword|vnd\.ms-excel|vnd\.ms-powerpoint|vnd\.openxmlformats-officedocument\..+))$/, 25 * MB, "Documents"]
  ];

  function problemWith(file) {
    for (var i = 0; i < limits.length; i++) {
      if (limits[i][0].test(file.type)) {
        if (file.size > limits[i][1]) {
          return limits[i][2] + " can be at most " + limits[i][1] / MB + " MB; this file is " + (file.size / MB).toFixed(1) + " MB.";
        }
        return "";
      }
    }
    return "WhatsApp does not accept this kind of file. Send a JPEG or PNG image, an MP4 video, audio, or a PDF, Word, Excel, PowerPoint or text document.";
  }

  function chosen(form) {
    var input = form.querySelector('input[type="file"]');
    var out = form.querySelector("[data-file-chosen]");
    var error = form.querySelector("[data-upload-error]");
    var file = input && input.files && input.files[0];
    if (out) { out.textContent = file ? file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)" : ""; }
    var problem = file ? problemWith(file) : "";
    if (error) { error.textContent = problem; error.hidden = problem === ""; }
    return problem;
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-media-upload]");
    if (form && event.target.type === "file") { chosen(form); }
  });

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-drop-zone]");
      if (zone) { event.preventDefault(); zone.classList.add("media-drop--over"); }
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (zone) { zone.classList.remove("media-drop--over"); }
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("media-drop--over");
    var input = zone.querySelector('input[type="file"]');
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      chosen(zone.closest("form"));
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-media-upload]") || !window.FormData) { return; }
    event.preventDefault();
    if (chosen(form) !== "") { return; }
    var progress = form.querySelector("[data-upload-progress]");
    var error = form.querySelector("[data-upload-error]");
    var button = form.querySelector('button[type="submit"]');
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (progress && e.lengthComputable) { progress.hidden = false; progress.value = Math.round(100 * e.loaded / e.total); }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        window.location.assign(xhr.responseURL || window.location.href);
        return;
      }
      var message = "The file was not sent.";
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var shown = doc.querySelector("#send-error, .alert--error, .error-page__message");
      if (shown) { message = shown.textContent.trim(); }
      if (progress) { progress.hidden = true; }
      if (error) { error.textContent = message; error.hidden = false; }
      if (button) { button.disabled = false; }
    });
    xhr.addEventListener("error", function () {
      if (error) { error.textContent = "The connection was lost while sending the file. Try again."; error.hidden = false; }
      if (button) { button.disabled = false; }
    });
    if (button) { button.disabled = true; }
    if (progress) { progress.hidden = false; progress.value = 0; }
    xhr.send(new FormData(form));
  });
})();

// The time zone select on the account page (select[data-browser-zone], rendered only while the
// member has chosen none): preselect the zone the browser reports. Browsers report some zones by
// their old names (ICU says Asia/Calcutta), so those are mapped to the list's; a zone the list
// lacks is added (the server checks it with time.LoadLocation). Nothing is saved until the member
// presses Save.
(function () {
  "use strict";

  var aliases = {
    "Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon", "Europe/Kiev": "Europe/Kyiv", "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Etc/UTC": "UTC", "Etc/GMT": "UTC", "GMT": "UTC"
  };

  function preselect() {
    var sel = document.querySelector("select[data-browser-zone]");
    if (!sel || !window.Intl || !Intl.DateTimeFormat) {
      return;
    }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) {
      return;
    }
    zone = aliases[zone] || zone;
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === zone) {
        sel.value = zone;
        return;
      }
    }
    if (/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+){0,2}$/.test(zone)) {
      sel.add(new Option(zone.replace(/_/g, " ") + " (this device)", zone, true, true));
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", preselect);
  } else {
    preselect();
  }
})();
