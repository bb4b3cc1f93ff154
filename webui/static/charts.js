// The dashboard's charts (ECharts): cases a day with a time axis against the previous period, cases a day by
// scenario, the headline results now and before beside the source's reported results (reference lines), and each
// team's backlog with its overdue part. Data from /dashboard/charts.json for the page's period.
(function () {
  "use strict";
  var box = document.getElementById("charts");
  if (!box || !window.echarts) return;
  var L = JSON.parse(box.dataset.labels), names = JSON.parse(box.dataset.names);
  var PALETTE = ["#0b5cad", "#2e7d32", "#b26a00", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#455a64", "#ad1457"];
  function chart(id) {
    var c = echarts.init(document.getElementById(id), null, {renderer: "svg"});
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }
  function shiftDay(iso, days) {
    var d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
  fetch(box.dataset.src, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then(function (r) { if (!r.ok) throw new Error("charts " + r.status); return r.json(); })
    .then(function (d) {
      var prevStart = d.previous_first_day;
      chart("chart-trend").setOption({
        color: ["#0b5cad", "#9e9e9e"], tooltip: {trigger: "axis", formatter: function (items) {
          return items.map(function (it) {
            var day = it.seriesIndex === 1 ? shiftDay(prevStart, it.dataIndex) : it.axisValueLabel;
            return it.marker + it.seriesName + " " + day + ": " + it.value[1];
          }).join("<br>");
        }},
        legend: {top: 0}, grid: {left: 40, right: 16, top: 36, bottom: 40},
        xAxis: {type: "time", name: L.day, nameLocation: "middle", nameGap: 26},
        yAxis: {type: "value", minInterval: 1},
        series: [
          {name: L.opened, type: "line", areaStyle: {opacity: 0.15},
           data: d.days.map(function (day, i) { return [day, d.opened[i]]; })},
          {name: L.previous, type: "line", lineStyle: {type: "dashed"},
           data: d.days.map(function (day, i) { return [day, d.opened_previous[i]]; })}
        ]
      });
      var scenarios = Object.keys(d.by_scenario);
      chart("chart-scenarios").setOption({
        color: PALETTE, tooltip: {trigger: "axis"}, legend: {type: "scroll", top: 0},
        grid: {left: 40, right: 16, top: 36, bottom: 40},
        xAxis: {type: "time"}, yAxis: {type: "value", minInterval: 1},
        series: scenarios.map(function (s) {
          return {name: names.scenario[s] || s, type: "bar", stack: "all", barMaxWidth: 24,
                  data: d.days.map(function (day, i) { return [day, d.by_scenario[s][i]]; })};
        })
      });
      // three small panels side by side: this period, the previous one, and the source's result as a line
      var keys = ["on_time_closure_rate", "cases_per_officer_per_day", "avg_handling_hours"];
      var grids = [], xs = [], ys = [], series = [], titles = [];
      keys.forEach(function (k, i) {
        var ref = d.reference[k], h = d.headline[k];
        grids.push({left: (5 + i * 33) + "%", width: "24%", top: 50, bottom: 30});
        titles.push({text: L[k], left: (5 + i * 33) + "%", top: 4, textStyle: {fontSize: 12, fontWeight: 600}});
        xs.push({gridIndex: i, type: "category", data: [L.previous, L.now]});
        ys.push({gridIndex: i, type: "value", max: function (v) {
          var top = Array.isArray(ref) ? ref[1] : ref;
          return Math.ceil(Math.max(v.max, top) * 1.15);
        }});
        var lines = Array.isArray(ref) ? ref.map(function (v) { return {yAxis: v, name: L.reference}; })
                                       : [{yAxis: ref, name: L.reference}];
        series.push({type: "bar", xAxisIndex: i, yAxisIndex: i, barMaxWidth: 36, name: L[k],
                     data: [h.previous, h.current].map(function (v, j) {
                       return {value: v === null ? "-" : v, itemStyle: {color: j ? "#0b5cad" : "#9e9e9e"}};
                     }),
                     label: {show: true, position: "top", formatter: function (p) { return p.value; }},
                     markLine: {symbol: "none", lineStyle: {color: "#c62828", type: "dashed"},
                                label: {formatter: function (p) { return L.reference + " " + p.value; },
                                        position: "insideEndTop", fontSize: 10},
                                data: lines}});
      });
      chart("chart-headline").setOption({title: titles, tooltip: {}, grid: grids, xAxis: xs, yAxis: ys, series: series});
      var teams = Object.keys(d.teams);
      chart("chart-teams").setOption({
        color: ["#0b5cad", "#c62828"], tooltip: {trigger: "axis"}, legend: {top: 0},
        grid: {left: 120, right: 24, top: 36, bottom: 24},
        yAxis: {type: "category", data: teams.map(function (t) { return names.team[t] || t; })},
        xAxis: {type: "value", minInterval: 1},
        series: [
          {name: L.backlog, type: "bar", data: teams.map(function (t) { return d.teams[t].backlog - d.teams[t].overdue; }), stack: "t"},
          {name: L.overdue, type: "bar", data: teams.map(function (t) { return d.teams[t].overdue; }), stack: "t"}
        ]
      });
      box.dataset.drawn = "yes";
    })
    .catch(function (err) { console.error(err); box.dataset.drawn = "failed"; });
})();
