// Charts drawn by Apache ECharts (package.json, served from /static/vendor/, never a CDN)
// from the JSON that {% chart %} writes beside each chart (common/charts.py). The library
// (1 MB) is loaded only on pages that have a chart. SVG rendering, so charts print sharp
// and scale on phones; tooltips in rich text, because the HTML tooltip sets style=""
// attributes that the Content-Security-Policy forbids.
(function () {
  var holders = document.querySelectorAll("[data-chart]");
  if (!holders.length) return;
  var palette = ["#2f6fb5", "#e07b53", "#3aa37a", "#c9a227", "#8a63c7", "#d05a7f", "#4bb1c9", "#7d8c99"];

  function option(spec) {
    var series = spec.series || [];
    var tooltip = { renderMode: "richText", trigger: spec.kind === "pie" ? "item" : "axis" };
    var base = {
      color: palette,
      animation: false,
      tooltip: tooltip,
      legend: series.length > 1 || spec.kind === "pie" ? { type: "scroll", bottom: 0 } : undefined,
      grid: { left: 8, right: 16, top: 16, bottom: series.length > 1 ? 40 : 16, containLabel: true },
    };
    if (spec.kind === "pie") {
      var first = series[0] || { values: [] };
      base.series = [{
        type: "pie",
        radius: ["40%", "68%"],
        label: { formatter: "{b}: {c}" },
        data: spec.categories.map(function (c, i) { return { name: c, value: first.values[i] }; }),
      }];
      return base;
    }
    var horizontal = spec.kind === "hbar";
    // Horizontal bars read top down in the order of the table beside them.
    var cat = { type: "category", data: spec.categories, inverse: horizontal, axisLabel: { interval: 0, hideOverlap: true } };
    var val = { type: "value", minInterval: 1 };
    base.xAxis = horizontal ? val : cat;
    base.yAxis = horizontal ? cat : val;
    base.series = series.map(function (s) {
      return {
        name: s.name,
        type: spec.kind === "line" ? "line" : "bar",
        stack: spec.kind === "stacked" ? "total" : undefined,
        data: s.values,
        label: { show: spec.categories.length <= 12 && spec.kind !== "line", position: spec.kind === "stacked" ? "inside" : "top" },
      };
    });
    return base;
  }

  function draw() {
    var charts = [];
    holders.forEach(function (el) {
      var script = document.getElementById(el.dataset.chart);
      if (!script) return;
      var spec = JSON.parse(script.textContent);
      // Horizontal bars get a row of height for each category, so that fifteen status lines
      // do not print their labels over each other in the fixed box (on a phone above all).
      if (spec.kind === "hbar") {
        var wanted = spec.categories.length * 26 + 60;
        if (wanted > el.clientHeight) el.style.height = wanted + "px";
      }
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(spec));
      el.dataset.chartReady = "1";
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  if (window.echarts) { draw(); return; }
  var tag = document.createElement("script");
  tag.src = holders[0].dataset.echartsSrc;
  tag.addEventListener("load", draw);
  document.head.appendChild(tag);
})();
