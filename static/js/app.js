// Progress bars: every element with data-job-url polls the job-status API until the job ends.
(function () {
  function poll(el) {
    fetch(el.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) return;
        el.dataset.state = job.state;
        el.querySelector(".progress span").style.width = Math.max(job.percent, 3) + "%";
        el.querySelector(".job-state").textContent = job.state_label;
        el.querySelector(".job-percent").textContent = job.percent + "%";
        el.querySelector(".job-message").textContent = job.message;
        // A failed job (its worker died, or the sweep gave it up) ends polling below; say why.
        if (job.state === "failed") el.querySelector(".job-message").setAttribute("role", "alert");
        var link = el.querySelector(".job-result");
        if (link && job.result_url) { link.href = job.result_url; link.hidden = false; }
        if (job.state === "pending" || job.state === "running") setTimeout(function () { poll(el); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(el); }, 3000); });
  }
  document.querySelectorAll("[data-job-url]").forEach(function (el) {
    if (el.dataset.state === "pending" || el.dataset.state === "running") poll(el);
  });
})();

// Registry pages: "select all" boxes, per-group boxes, confirmations and required inputs.
(function () {
  function boxes(form, name) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name="' + name + '"]:not(:disabled)'));
  }
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var form = all.form || document;
    all.addEventListener("change", function () {
      boxes(form, all.dataset.selectAll).forEach(function (b) { b.checked = all.checked; });
      form.querySelectorAll("input[data-select-group]").forEach(function (g) { g.checked = all.checked; });
    });
  });
  document.querySelectorAll("input[data-select-group]").forEach(function (group) {
    var form = group.form || document;
    group.addEventListener("change", function () {
      form.querySelectorAll('input[type=checkbox][data-group="' + group.dataset.selectGroup + '"]:not(:disabled)')
        .forEach(function (b) { b.checked = group.checked; });
    });
  });
  // Buttons that act on checked rows, need a reason, or are destructive ask first.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-needs-checked], button[data-needs-text], button[data-needs-text-in-form], [data-confirm]");
    if (!button || button.disabled) return;
    var form = button.form || button.closest("form");
    var lang = document.documentElement.lang || "";
    var zh = lang.indexOf("zh") === 0;
    if (button.dataset.needsChecked && form) {
      var checked = boxes(form, button.dataset.needsChecked).filter(function (b) { return b.checked; });
      if (!checked.length && !form.querySelector("input[data-all-matching]:checked")) {
        event.preventDefault();
        alert(zh ? "请先勾选学生。" : "Please select at least one student first.");
        return;
      }
    }
    var textField = null;
    if (button.dataset.needsText) textField = document.getElementById(button.dataset.needsText);
    if (button.dataset.needsTextInForm && form) textField = form.querySelector('[name="' + button.dataset.needsTextInForm + '"]');
    if (textField && !textField.value.trim()) {
      event.preventDefault();
      alert(zh ? "请填写原因。" : "Please give a reason.");
      textField.focus();
      return;
    }
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) event.preventDefault();
  });
})();

// A progress bar inside [data-reload-on-done] reloads the page once its job has ended.
(function () {
  document.querySelectorAll("[data-reload-on-done] .job, .job[data-reload-on-done]").forEach(function (el) {
    function ended() { return el.dataset.state === "succeeded" || el.dataset.state === "failed"; }
    if (ended()) return;
    new MutationObserver(function () {
      if (ended()) setTimeout(function () { location.reload(); }, 800);
    }).observe(el, { attributes: true, attributeFilter: ["data-state"] });
  });
})();

// [data-reload-after="S"]: work the page waits for that has no job of its own (an
// import's near-key 查重): reload every S seconds, at most 20 times for one page.
(function () {
  var el = document.querySelector("[data-reload-after]");
  if (!el) return;
  var key = "reloads:" + location.pathname;
  var n = Number(sessionStorage.getItem(key) || 0);
  if (n >= 20) return;
  setTimeout(function () {
    sessionStorage.setItem(key, String(n + 1));
    location.reload();
  }, 1000 * Number(el.dataset.reloadAfter || 3));
})();
