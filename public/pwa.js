// Registers the service worker and offers a reload when a new version of
// MeetMind has been deployed (the new worker waits until the user agrees).
(function () {
  if (!("serviceWorker" in navigator)) return;
  var updating = false;
  function offer(worker) {
    if (!navigator.serviceWorker.controller || document.querySelector(".update-banner")) return;
    var bar = document.createElement("div");
    bar.className = "update-banner";
    bar.setAttribute("role", "status");
    bar.setAttribute("data-testid", "update-banner");
    bar.textContent = "A new version of MeetMind is available. ";
    var button = document.createElement("button");
    button.textContent = "Reload";
    button.addEventListener("click", function () {
      updating = true;
      worker.postMessage("skip-waiting");
    });
    bar.appendChild(button);
    document.body.appendChild(bar);
  }
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (updating) location.reload();
  });
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js").then(function (reg) {
      if (reg.waiting) offer(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        if (!worker) return;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed") offer(worker);
        });
      });
    });
  });
})();
