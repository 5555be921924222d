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
