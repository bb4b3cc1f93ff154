// New tasks appear without a reload: the table body is fetched every few seconds and swapped when it changed.
(function () {
  var body = document.getElementById("inbox-rows");
  if (!body) return;
  var seconds = parseInt(body.dataset.poll || "5", 10);
  function ids(html) {
    var found = {}, re = /data-task="(\d+)"/g, m;
    while ((m = re.exec(html))) found[m[1]] = true;
    return found;
  }
  function poll() {
    fetch(body.dataset.src, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || html.trim() === body.innerHTML.trim()) return;
        var before = ids(body.innerHTML), after = ids(html), added = false;
        for (var id in after) if (!before[id]) added = true;
        body.innerHTML = html;
        if (added) document.getElementById("new-tasks").classList.add("show");
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, seconds * 1000); });
  }
  setTimeout(poll, seconds * 1000);
})();
