(function () {
  "use strict";
  // The case browser. Data comes from <script id="cases-data"> and is only ever put into the
  // page with textContent: model output is untrusted and must show as text.
  var PAGE = 50, SHOW = 400;
  // Record positions, as written by harness/report/_cases.py.
  var T = 0, ID = 1, INPUT = 2, EXPECTED = 3, TAGS = 4, FAIL = 5, DISAGREE = 6, CELLS = 7;
  var OUT = 0, PASSED = 1, SCORE = 2, ERROR = 3, REASON = 4, LATENCY = 5, FINISH = 6, HUMAN = 7;

  var data = JSON.parse(document.getElementById("cases-data").textContent);
  var tasks = data.tasks, cases = data.cases;
  function el(id) { return document.getElementById(id); }
  var fTask = el("f-task"), fModel = el("f-model"), fFail = el("f-fail"), fDis = el("f-disagree"), fText = el("f-text");
  var list = el("case-list"), count = el("case-count"), pageLabel = el("page"), prev = el("prev"), next = el("next");
  var matches = [], page = 0, haystack = null, typing = null;

  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    return n;
  }

  function longText(text, cls) {
    var box = node("div");
    var pre = node("pre", cls || null);
    box.append(pre);
    if (text.length > SHOW) {
      pre.textContent = text.slice(0, SHOW) + " …";
      var more = node("button", "more", "show all " + text.length.toLocaleString() + " characters");
      more.type = "button";
      more.addEventListener("click", function () { pre.textContent = text; more.remove(); });
      box.append(more);
    } else {
      pre.textContent = text;
    }
    return box;
  }

  function fillModels() {
    var keep = fModel.value, names = [];
    while (fModel.options.length > 1) fModel.remove(1);
    var shown = fTask.value === "" ? tasks : [tasks[+fTask.value]];
    shown.forEach(function (t) { t.models.forEach(function (m) { if (names.indexOf(m) < 0) names.push(m); }); });
    names.forEach(function (m) { var o = node("option", null, m); o.value = m; fModel.append(o); });
    fModel.value = names.indexOf(keep) >= 0 ? keep : "";
  }

  function hay(c) {
    var parts = [c[ID], c[INPUT], c[EXPECTED]];
    c[CELLS].forEach(function (cell) { if (cell) parts.push(cell[OUT], cell[ERROR] || "", cell[REASON]); });
    return parts.join("\n").toLowerCase();
  }

  function filter() {
    var t = fTask.value === "" ? -1 : +fTask.value, model = fModel.value;
    var fail = fFail.checked, dis = fDis.checked, q = fText.value.trim().toLowerCase();
    if (q && !haystack) haystack = cases.map(hay);
    matches = [];
    for (var i = 0; i < cases.length; i++) {
      var c = cases[i];
      if (t >= 0 && c[T] !== t) continue;
      var cell = null;
      if (model) {
        var k = tasks[c[T]].models.indexOf(model);
        cell = k < 0 ? null : c[CELLS][k];
        if (!cell) continue;
      }
      if (fail && (model ? cell[PASSED] !== 0 : !c[FAIL])) continue;
      if (dis && !c[DISAGREE]) continue;
      if (q && haystack[i].indexOf(q) < 0) continue;
      matches.push(i);
    }
    page = 0;
    render();
  }

  function answerNode(task, model, cell) {
    var label = model + (model === task.recommended ? " (recommended)" : "") + (model === task.current ? " (current)" : "");
    if (!cell) {
      var none = node("div", "answer missing");
      none.append(node("h4", null, label), node("p", null, "no result for this case"));
      return none;
    }
    var ok = cell[PASSED] === 1, bad = cell[PASSED] === 0;
    var box = node("div", "answer" + (ok ? " pass" : bad ? " fail" : ""));
    var head = node("h4");
    var verdict = (ok ? "✓ pass" : bad ? "✗ fail" : "ungraded") + (cell[SCORE] !== null ? " " + cell[SCORE].toFixed(2) : "");
    head.append(node("span", null, label), node("span", "verdict" + (ok ? " pass" : " fail"), verdict));
    if (cell[HUMAN] !== null && cell[HUMAN] !== undefined) {
      var human = cell[HUMAN] === 1 ? "✓ pass" : cell[HUMAN] === 0 ? "✗ fail" : cell[HUMAN].toFixed(2);
      head.append(node("span", "verdict human" + (cell[HUMAN] >= 0.5 ? " pass" : " fail"), "people: " + human));
    }
    box.append(head);
    if (cell[ERROR] !== null) {
      box.append(node("p", "reason error", cell[ERROR]));
    } else {
      box.append(cell[OUT] === "" ? node("p", "muted", "(empty output)") : longText(cell[OUT]));
    }
    if (cell[REASON]) box.append(node("p", "reason", cell[REASON]));
    var meta = [];
    if (cell[LATENCY] !== null) meta.push(cell[LATENCY] < 1 ? "<1 ms" : cell[LATENCY].toLocaleString() + " ms");
    if (cell[FINISH] && cell[FINISH] !== "stop") meta.push("finish_reason " + cell[FINISH]);
    if (meta.length) box.append(node("p", "cmeta", meta.join(" · ")));
    return box;
  }

  function caseNode(c) {
    var task = tasks[c[T]];
    var art = node("article", "case" + (c[FAIL] ? " fail" : ""));
    var head = node("header");
    head.append(node("span", "task", task.name), node("span", "cid", c[ID]));
    c[TAGS].forEach(function (tag) { head.append(node("span", "tag", tag)); });
    if (c[DISAGREE]) head.append(node("span", "flag", "models disagree"));
    art.append(head);
    var io = node("div", "io"), input = node("div"), expected = node("div");
    input.append(node("h5", null, "input"), longText(c[INPUT]));
    expected.append(node("h5", null, "expected"), longText(c[EXPECTED] === "" ? "(none)" : c[EXPECTED]));
    io.append(input, expected);
    art.append(io);
    var answers = node("div", "answers");
    task.models.forEach(function (m, k) { answers.append(answerNode(task, m, c[CELLS][k])); });
    art.append(answers);
    return art;
  }

  function render() {
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    page = Math.max(0, Math.min(page, pages - 1));
    var frag = document.createDocumentFragment();
    matches.slice(page * PAGE, (page + 1) * PAGE).forEach(function (i) { frag.append(caseNode(cases[i])); });
    list.replaceChildren(frag);
    list.dataset.matching = String(matches.length);
    count.textContent = matches.length.toLocaleString() + " of " + cases.length.toLocaleString() + " cases";
    pageLabel.textContent = "page " + (page + 1) + " of " + pages;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  fTask.addEventListener("change", function () { fillModels(); filter(); });
  [fModel, fFail, fDis].forEach(function (x) { x.addEventListener("change", filter); });
  fText.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(filter, 150); });
  el("case-filters").addEventListener("submit", function (e) { e.preventDefault(); filter(); });
  prev.addEventListener("click", function () { page -= 1; render(); list.scrollIntoView(); });
  next.addEventListener("click", function () { page += 1; render(); list.scrollIntoView(); });
  document.querySelectorAll("a.browse").forEach(function (a) {
    a.addEventListener("click", function () {
      fTask.value = a.dataset.task || "";
      fillModels();
      fModel.value = a.dataset.model || "";
      fFail.checked = a.dataset.fail === "1";
      fDis.checked = a.dataset.disagree === "1";
      fText.value = "";
      filter();
    });
  });
  fillModels();
  filter();
})();
