// Pagefind's search UI on search.html (no inline script: the pages' CSP allows scripts from files only).
// Result URLs are made relative to this page's folder, so the mirror works wherever it is copied.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  if (location.protocol === "file:" || typeof PagefindUI === "undefined") {
    var note = document.getElementById("search-file-note");
    if (note) note.hidden = false;
    return;
  }
  var base = new URL(".", location.href).pathname;
  new PagefindUI({ element: "#search", baseUrl: base, showSubResults: true, showImages: false, resetStyles: false });
});
