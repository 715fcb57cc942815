// The test-signing page follows a pending request: it reloads itself
// every three seconds until the provider answered (the server renders the
// outcome). Without script, the page's refresh link does the same.
(function () {
  "use strict";
  var sec = document.getElementById("test-signing");
  if (!sec || sec.getAttribute("data-state") !== "pending") {
    return;
  }
  setTimeout(function () { location.reload(); }, 3000);
})();
