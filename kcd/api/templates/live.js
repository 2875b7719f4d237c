/* kcd dashboard: relative times, sorting, filtering, live refresh. Never builds HTML from data: it only moves,
   hides and re-reads elements the server rendered (and escaped), and sets textContent and attributes.
   A row carries each value once: cells are named (data-col) from the header's data-key here, sort keys come from
   the cells (a badge's rank, a time's datetime, else the text), and a clipped value gets its title on hover. */
(function () {
  "use strict";
  var REFRESH_MS = 5000;
  var STORE_KEY = "kcd.view." + location.pathname;
  var table = document.getElementById("workloads");
  var filterBox = document.getElementById("filter");
  var view = readView();
  var RANKS = {
    status: { Failed: 0, Progressing: 1, Success: 2, other: 3 },
    syncer: { Failing: 0, Stale: 1, Missing: 2, Healthy: 3, other: 4 }
  };
  var COLS = table ? Array.prototype.map.call(table.tHead.querySelectorAll("th[data-key]"), function (th) {
    return th.getAttribute("data-key");
  }) : [];

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
      var text = ago(iso, now);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }

  function rows() {
    return table ? Array.prototype.slice.call(table.tBodies[0].querySelectorAll("tr.row")) : [];
  }

  /* Rows the server just sent (first load, refresh) are in its order: remember it, and name their cells. */
  function prepare() {
    rows().forEach(function (row, i) {
      if (row.kcdIndex !== undefined) { return; }
      row.kcdIndex = i;
      for (var c = 0; c < row.cells.length && c < COLS.length; c++) { row.cells[c].setAttribute("data-col", COLS[c]); }
    });
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

  function sortKey(row, key, type) {
    var cell = row.querySelector('td[data-col="' + key + '"]');
    if (!cell) { return type === "num" ? 0 : ""; }
    if (RANKS[key]) {
      var badge = cell.querySelector(".badge"), name = badge ? badge.textContent : "";
      return Object.prototype.hasOwnProperty.call(RANKS[key], name) ? RANKS[key][name] : RANKS[key].other;
    }
    if (type === "time") {
      var time = cell.querySelector("time[datetime]");
      return time ? time.getAttribute("datetime") : "";
    }
    var v = cell.textContent.trim();
    var link = cell.querySelector("a.wl");
    if (link) { v = link.textContent + "/" + v.slice(link.textContent.length).trim(); }  /* name/namespace · kind */
    return type === "num" ? parseFloat(v) || 0 : v.toLowerCase();
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
    var type = th ? th.getAttribute("data-type") : null;
    var sign = view.dir === "desc" ? -1 : 1;
    var list = rows().map(function (row) { return { row: row, key: th ? sortKey(row, view.sort, type) : 0 }; });
    list.sort(function (a, b) {
      var ia = a.row.kcdIndex, ib = b.row.kcdIndex;
      return a.key < b.key ? -sign : a.key > b.key ? sign : ia - ib;
    });
    var body = table.tBodies[0];
    list.forEach(function (entry) { body.appendChild(entry.row); });
  }

  function apply() { prepare(); applySort(); applyFilter(); tick(); }

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
  document.addEventListener("mouseover", function (ev) {
    var el = ev.target.closest ? ev.target.closest(".ver, .clip") : null;
    if (el && !el.title && el.scrollWidth > el.clientWidth) { el.title = el.textContent; }
  });
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
