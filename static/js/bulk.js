// 全选符合条件的 N 名: checking the box checks every row of the page as a visual cue
// (the server acts on the filter, not on these rows) and switches the buttons'
// confirmations to the ones naming the whole count (data-confirm-all).
(function () {
  document.querySelectorAll("input[data-all-matching]").forEach(function (all) {
    var form = all.form || document;
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button[data-confirm-all]"));
    buttons.forEach(function (b) { b.dataset.confirmOne = b.dataset.confirm || ""; });
    all.addEventListener("change", function () {
      form.querySelectorAll('input[type=checkbox][name="' + all.dataset.allMatching + '"]:not(:disabled), input[data-select-all], input[data-select-group]')
        .forEach(function (b) { b.checked = all.checked; });
      buttons.forEach(function (b) { b.dataset.confirm = all.checked ? b.dataset.confirmAll : b.dataset.confirmOne; });
    });
  });
})();
