// Page behaviours that used to be inline handlers and style attributes, wired here so that
// the Content-Security-Policy can forbid inline script and inline style altogether.
(function () {
  // The side-menu toggle of narrow screens (base.html).
  document.querySelectorAll("[data-toggle-nav]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });

  // Selects that submit their form as soon as a value is picked (language, change kind).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });

  // Bars and progress bars: data-width="37" is the filled share in percent. Setting it
  // through the CSSOM is allowed under style-src 'self'; a style="" attribute is not.
  document.querySelectorAll("[data-width]").forEach(function (bar) {
    var percent = parseFloat(bar.dataset.width);
    if (!isNaN(percent)) bar.style.width = Math.min(Math.max(percent, 0), 100) + "%";
  });
})();

// "返回上一页" on the error pages: back in the browser's history when there is one; the
// link's own href (the home page) otherwise.
document.querySelectorAll("[data-history-back]").forEach(function (link) {
  link.addEventListener("click", function (event) {
    if (window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
});
