/* kcd dashboard: relative times, sorting, filtering, live refresh. Never builds HTML from data: it only moves,
   hides and re-reads elements the server rendered (and escaped), and sets textContent. */
(function () {
  "use strict";
  var REFRESH_MS = 5000;
  var STORE_KEY = "kcd.view." + location.pathname;
  var table = document.getElementById("workloads");
  var filterBox = document.getElementById("filter");
  var view = readView();

  function readView() {
    var text = location.hash.slice(1);
    if (!text) { try { text = localStorage.getItem(STORE_KEY) || ""; } catch (e) { text = ""; } }
    var p = new URLSearchParams(text);
    return { q: p.get("q") || "", sort: p.get("sort") || "", dir: p.get("dir") === "desc" ? "desc" : "asc" };
  }

  function saveView() {
    var p = new URLSearchParams();
    if (view.q) { p.set("q", view.q); }
    if (view.sort) { p.set("sort", view.sort); p.set("dir", view.dir); }
    var text = p.toString();
    history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
    try { localStorage.setItem(STORE_KEY, text); } catch (e) { /* private mode */ }
  }

  function ago(iso, now) {
    var then = Date.parse(iso);
    if (isNaN(then)) { return iso; }
    var s = Math.round((now - then) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var text = s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : s < 172800 ? Math.round(s / 3600) + " h"
      : Math.round(s / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (!el.title) { var d = new Date(iso); el.title = isNaN(d) ? iso : d.toLocaleString(); }
      el.textContent = ago(iso, now);
    });
  }

  function rows() {
    return table ? Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr.row")) : [];
  }

  function cellText(row, col) {
    var cell = row.querySelector('td[data-col="' + col + '"]');
    return cell ? cell.textContent : "";
  }

  /* Terms separated by spaces must all match; "a|b" matches either; "col:text" looks in one column only. */
  function matches(row, terms) {
    var all = row.textContent.toLowerCase();
    return terms.every(function (term) {
      var where = all;
      var m = /^([a-z]+):(.+)$/.exec(term);
      if (m && row.querySelector('td[data-col="' + m[1] + '"]')) { where = cellText(row, m[1]).toLowerCase(); term = m[2]; }
      return term.split("|").some(function (alt) { return alt && where.indexOf(alt) >= 0; });
    });
  }

  function applyFilter() {
    var terms = view.q.toLowerCase().split(/\s+/).filter(Boolean);
    var all = rows(), shown = 0;
    all.forEach(function (row) { row.hidden = !matches(row, terms); if (!row.hidden) { shown++; } });
    var note = document.getElementById("shown");
    if (note) { note.textContent = terms.length ? "showing " + shown + " of " + all.length : ""; }
    var none = document.getElementById("nomatch");
    if (none) { none.hidden = !(terms.length && all.length && !shown); }
  }

  function sortKey(row, key, numeric) {
    var cell = row.querySelector('td[data-col="' + key + '"]');
    var v = cell ? (cell.getAttribute("data-sort") || cell.textContent.trim()) : "";
    return numeric ? parseFloat(v) || 0 : v.toLowerCase();
  }

  function applySort() {
    if (!table) { return; }
    var heads = table.tHead.querySelectorAll("th[data-key]");
    var th = null;
    heads.forEach(function (h) {
      var on = h.getAttribute("data-key") === view.sort;
      h.setAttribute("aria-sort", on ? (view.dir === "desc" ? "descending" : "ascending") : "none");
      if (on) { th = h; }
    });
    var numeric = th && th.getAttribute("data-type") === "num";
    var sign = view.dir === "desc" ? -1 : 1;
    var list = rows();
    list.sort(function (a, b) {
      var ia = +a.getAttribute("data-index"), ib = +b.getAttribute("data-index");
      if (!th) { return ia - ib; }
      var ka = sortKey(a, view.sort, numeric), kb = sortKey(b, view.sort, numeric);
      return ka < kb ? -sign : ka > kb ? sign : ia - ib;
    });
    var body = table.tBodies[0];
    list.forEach(function (row) { body.appendChild(row); });
  }

  function apply() { applySort(); applyFilter(); tick(); }

  function setOnline(ok, why) {
    var el = document.getElementById("live-state");
    el.classList.toggle("offline", !ok);
    el.textContent = ok ? "live" : "offline: " + why + " (retrying)";
  }

  function swap(doc) {
    var x = window.scrollX, y = window.scrollY;
    var wrap = document.getElementById("table-wrap");
    var left = wrap ? wrap.scrollLeft : 0;
    document.querySelectorAll("[data-live][id]").forEach(function (old) {
      var fresh = doc.getElementById(old.id);
      if (fresh) { old.replaceWith(document.adoptNode(fresh)); }
    });
    if (doc.title) { document.title = doc.title; }
    apply();
    if (wrap) { wrap.scrollLeft = left; }
    window.scrollTo(x, y);
    document.body.setAttribute("data-refreshes", String(+document.body.getAttribute("data-refreshes") + 1));
  }

  function refresh() {
    if (document.hidden) { return schedule(); }
    fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (text) { swap(new DOMParser().parseFromString(text, "text/html")); setOnline(true); })
      .catch(function (err) { setOnline(false, err && err.message ? err.message : "no answer"); })
      .then(schedule);
  }

  function schedule() { window.setTimeout(refresh, REFRESH_MS); }

  if (table) {
    table.tHead.addEventListener("click", function (ev) {
      var th = ev.target.closest("th[data-key]");
      if (!th) { return; }
      var key = th.getAttribute("data-key");
      view.dir = view.sort === key && view.dir === "asc" ? "desc" : "asc";
      view.sort = key;
      saveView();
      apply();
    });
  }
  if (filterBox) {
    filterBox.value = view.q;
    filterBox.addEventListener("input", function () { view.q = filterBox.value.trim(); saveView(); applyFilter(); });
  }
  document.addEventListener("click", function (ev) {
    var counter = ev.target.closest("[data-filter]");
    if (!counter || !filterBox) { return; }
    filterBox.value = view.q = counter.getAttribute("data-filter");
    saveView();
    applyFilter();
  });

  var actions = document.getElementById("actions");
  if (actions) {
    var token = document.getElementById("token");
    var result = document.getElementById("action-result");
    try { token.value = sessionStorage.getItem("kcd.token") || ""; } catch (e) { /* storage off */ }
    token.addEventListener("input", function () {
      try { sessionStorage.setItem("kcd.token", token.value); } catch (e) { /* storage off */ }
    });
    actions.addEventListener("click", function (ev) {
      var button = ev.target.closest("button[data-action]");
      if (!button) { return; }
      if (!button.classList.contains("armed")) {
        actions.querySelectorAll("button.armed").forEach(function (b) { b.classList.remove("armed"); });
        button.classList.add("armed");
        result.textContent = "Click \u201c" + button.textContent + "\u201d again to confirm.";
        return;
      }
      button.classList.remove("armed");
      var action = button.getAttribute("data-action");
      result.textContent = action + "\u2026";
      fetch(actions.getAttribute("data-url") + action, {
        method: "POST", headers: { Authorization: "Bearer " + token.value, "Content-Type": "application/json" }, body: "{}"
      }).then(function (r) {
        return r.text().then(function (body) { result.textContent = action + ": HTTP " + r.status + " " + body.slice(0, 300); });
      }).catch(function (err) { result.textContent = action + " failed: " + err.message; });
    });
  }

  apply();
  window.setInterval(tick, 1000);
  schedule();
})();
