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
