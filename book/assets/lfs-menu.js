// Menus on every screen size: a workaround for pydata-sphinx-theme bug #2451 (0.17.x with sphinx-book-theme 1.3).
// The page has two `.primary-toggle` (and two `.secondary-toggle`) buttons: the theme's navbar one, hidden by
// sphinx-book-theme, and the article-header one that readers see. The theme wires up only the first of each, so the
// visible buttons did nothing. Here a click on any other toggle opens the sidebar through the wired-up one (a modal
// on narrow screens); on wide screens, where the primary sidebar is already shown, the button hides or shows it.
// If a later theme release wires up every toggle itself, the check for an already open dialog makes this a no-op.
(function () {
  "use strict";
  function wire(kind) {
    var toggles = document.querySelectorAll("." + kind + "-toggle");
    if (toggles.length < 2) return;
    var wired = toggles[0];
    var dialog = document.getElementById("pst-" + kind + "-sidebar-modal");
    toggles.forEach(function (button, i) {
      if (i === 0) return;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (kind === "primary" && window.matchMedia("(min-width: 960px)").matches) {
          document.body.classList.toggle("lfs-primary-hidden");
          return;
        }
        setTimeout(function () { if (!(dialog && dialog.open)) wired.click(); }, 0);
      });
    });
  }
  function start() { wire("primary"); wire("secondary"); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
