// tierwise view: the task page's filters and the label page's keyboard. Every text from the
// project or a model is put in the page with textContent, never as markup.
(function () {
  "use strict";
  var page = document.body.dataset.page;
  var node = document.getElementById("view-data");
  var data = node ? JSON.parse(node.textContent) : null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function kbd(key) { return el("kbd", null, key); }

  // ---- one task: cases side by side ------------------------------------------------------------
  function taskPage() {
    var models = data.tasks.length ? data.tasks[0].models : [];
    var cases = data.cases, human = data.human || {};
    var list = document.getElementById("cases"), count = document.getElementById("count");
    var search = document.getElementById("search"), filter = "all";
    var buttons = document.querySelectorAll("[data-filter]");
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        filter = b.dataset.filter;
        buttons.forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        draw();
      });
    });
    search.addEventListener("input", draw);

    function humanDiffers(c) {
      var h = human[c[1]];
      if (!h) return false;
      return c[7].some(function (cell, i) {
        return cell && cell[1] !== null && h[models[i]] !== undefined && (h[models[i]] >= 0.5) !== (cell[1] === 1);
      });
    }
    function keep(c) {
      if (filter === "failures" && !c[5]) return false;
      if (filter === "disagreements" && !c[6]) return false;
      if (filter === "errors" && !c[7].some(function (cell) { return cell && cell[3]; })) return false;
      if (filter === "judge-human" && !humanDiffers(c)) return false;
      var q = search.value.trim().toLowerCase();
      if (!q) return true;
      var hay = [c[1], c[2], c[3]].concat(c[7].map(function (x) { return x ? x[0] + "\n" + (x[4] || "") : ""; }));
      return hay.join("\n").toLowerCase().indexOf(q) >= 0;
    }
    function answer(cell, model, caseId) {
      if (!cell) return el("div", "answer missing", model + ": no result");
      var box = el("div", "answer " + (cell[1] === 1 ? "pass" : cell[1] === 0 ? "fail" : ""));
      var h = el("h4");
      h.appendChild(el("span", null, model));
      h.appendChild(el("span", "verdict " + (cell[1] === 1 ? "pass" : "fail"),
        cell[1] === 1 ? "pass" : cell[1] === 0 ? "fail" : "–"));
      box.appendChild(h);
      box.appendChild(el("pre", "output", cell[3] ? "" : cell[0]));
      if (cell[3]) box.appendChild(el("p", "reason error", cell[3]));
      if (cell[4]) box.appendChild(el("p", "reason", cell[4]));
      var hv = human[caseId] && human[caseId][model];
      if (hv !== undefined) {
        var differs = cell[1] !== null && (hv >= 0.5) !== (cell[1] === 1);
        box.appendChild(el("p", "human" + (differs ? " differs" : ""), "person: " + (hv >= 0.5 ? "pass" : "fail")));
      }
      return box;
    }
    function caseBox(c) {
      var box = el("article", "case" + (c[5] ? " fail" : ""));
      var head = el("header");
      head.appendChild(el("span", "cid", c[1]));
      c[4].forEach(function (t) { head.appendChild(el("span", "tag", t)); });
      if (c[6]) head.appendChild(el("span", "flag", "candidates disagree"));
      box.appendChild(head);
      var io = el("div", "io"), inp = el("div"), exp = el("div");
      inp.appendChild(el("h5", null, "input")); inp.appendChild(el("pre", null, c[2]));
      exp.appendChild(el("h5", null, "expected")); exp.appendChild(el("pre", null, c[3]));
      io.appendChild(inp); io.appendChild(exp); box.appendChild(io);
      var answers = el("div", "answers");
      c[7].forEach(function (cell, i) { answers.appendChild(answer(cell, models[i], c[1])); });
      box.appendChild(answers);
      return box;
    }
    function draw() {
      var shown = cases.filter(keep);
      list.replaceChildren();
      count.textContent = shown.length + " of " + cases.length + " cases";
      shown.slice(0, 200).forEach(function (c) { list.appendChild(caseBox(c)); });
      if (shown.length > 200) list.appendChild(el("p", "muted", "the first 200 are shown; narrow them with the search"));
    }
    draw();

    // run to run: the pickers go to ?a=…&b=…, a flipped case's id filters the list to it
    var go = document.getElementById("compare-go");
    if (go) go.addEventListener("click", function () {
      var q = new URLSearchParams({a: document.getElementById("run-a").value, b: document.getElementById("run-b").value});
      location.search = "?" + q.toString();
    });
    document.querySelectorAll(".case-link").forEach(function (b) {
      b.addEventListener("click", function () {
        filter = "all";
        buttons.forEach(function (x) { x.setAttribute("aria-pressed", String(x.dataset.filter === "all")); });
        search.value = b.dataset.case;
        draw();
        document.getElementById("case-list").scrollIntoView();
      });
    });
  }

  // ---- a run in progress: poll /api/progress, draw done / total per candidate -----------------
  function live() {
    var box = document.getElementById("live");
    if (!box) return;
    var task = box.dataset.task, seen = false, url = "/api/progress" + (task ? "?task=" + encodeURIComponent(task) : "");
    function draw(doc) {
      if (doc.error) {   // the project or the store cannot be read just now (a spec being edited): say so, keep polling
        box.hidden = false;
        var line = box.querySelector("p.error-line") || box.appendChild(el("p", "error-line"));
        line.textContent = "progress: " + doc.error;
        return seen;
      }
      box.replaceChildren();
      var runs = doc.runs || [];
      runs = runs.filter(function (r) { return r.tasks.length; });
      if (!runs.length) {
        box.hidden = !seen;
        if (seen) {
          box.appendChild(el("p", "done", "The run finished. "));
          if (page === "decisions") { box.lastChild.appendChild(document.createTextNode("Updating…")); location.reload(); }
          else {
            var a = el("a", null, "Reload to see its results"); a.href = location.pathname + location.search;
            box.lastChild.appendChild(a);
          }
        }
        return false;
      }
      seen = true;
      box.hidden = false;
      runs.forEach(function (r) {
        var head = el("h3", null, "Run " + r.run_id + " in progress" + (r.group ? " (group " + r.group + (r.shard ? ", shard " + r.shard : "") + ")" : ""));
        box.appendChild(head);
        r.tasks.forEach(function (t) {
          var table = el("table", "progress");
          var cap = el("caption", null, t.task + (t.note ? " — " + t.note : ""));
          table.appendChild(cap);
          t.models.forEach(function (m) {
            var tr = el("tr");
            tr.dataset.model = m.model;
            tr.appendChild(el("th", null, m.model));
            var bar = el("td"), p = el("progress");
            p.max = Math.max(1, m.total);
            if (m.done !== null) p.value = m.done;
            p.setAttribute("aria-label", m.model + " cases done");
            bar.appendChild(p);
            tr.appendChild(bar);
            tr.appendChild(el("td", "num count", m.done === null ? "–" : m.done + " / " + m.total));
            tr.appendChild(el("td", "muted", m.note));
            table.appendChild(tr);
          });
          box.appendChild(table);
        });
      });
      return true;
    }
    function poll() {
      fetch(url, {credentials: "same-origin"}).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (doc) {
          return r.ok ? doc : {error: doc.error || "HTTP " + r.status};
        });
      }).then(function (doc) { setTimeout(poll, draw(doc) ? 1500 : 5000); },
              function () { draw({error: "the view is not answering (is tierwise view still running?)"}); setTimeout(poll, 10000); });
    }
    poll();
  }

  // ---- label: one item at a time, by keyboard ------------------------------------------------
  function labelPage() {
    var items = data.items, i = 0, done = 0, editing = null, answered = [];
    var box = document.getElementById("item"), keys = document.getElementById("keys");
    var undoButton = document.getElementById("undo");
    var progress = document.getElementById("progress"), message = document.getElementById("message");

    function say(text, good) { message.textContent = text; message.className = good ? "good" : "bad"; }
    function keyLine(parts) {
      keys.replaceChildren();
      if (answered.length) parts = parts.concat([["u", "undo the last answer"]]);
      parts.forEach(function (p, n) {
        if (n) keys.appendChild(document.createTextNode(" · "));
        keys.appendChild(kbd(p[0])); keys.appendChild(document.createTextNode(" " + p[1]));
      });
    }
    function show() {
      box.replaceChildren();
      editing = null;
      progress.textContent = done + " answered here · " + (items.length - i) + " to go" +
        (data.total > items.length ? " (of " + data.total + ")" : "");
      undoButton.hidden = !answered.length;
      if (i >= items.length) {
        box.appendChild(el("p", "empty", "The queue is empty" + (data.short.length ? ": " : ".")));
        data.short.forEach(function (line) { box.appendChild(el("p", "short", line + ".")); });
        keyLine([]);
        return; }
      var it = items[i], card = el("div", "card");
      card.dataset.kind = it.kind;
      card.appendChild(el("h3", null, it.task + " · " + (it.kind === "golden" ? "sampled input " : "case ") + it.case));
      card.appendChild(el("h5", null, "input")); card.appendChild(el("pre", "input", it.input));
      if (it.kind === "judge") {
        card.appendChild(el("h5", null, "output")); card.appendChild(el("pre", "output", it.outputs[0]));
        if (it.reference) { card.appendChild(el("h5", null, "reference answer (golden set)")); card.appendChild(el("pre", "reference", it.reference)); }
        if (it.rubric) { card.appendChild(el("h5", null, "the judge's rubric")); card.appendChild(el("pre", "rubric", it.rubric)); }
        card.appendChild(el("p", null, "Is this output good enough for the task?"));
        var b = el("div", "buttons");
        b.appendChild(button("pass (p)", function () { judge("pass"); }));
        b.appendChild(button("fail (f)", function () { judge("fail"); }));
        b.appendChild(button("skip (s)", skip));
        card.appendChild(b);
        keyLine([["p", "pass"], ["f", "fail"], ["s", "skip"]]);
      } else if (it.kind === "pairwise") {
        card.appendChild(el("p", null, "Which answer is better for the task? The order is random; neither is named."));
        var two = el("div", "two");
        it.outputs.forEach(function (text, n) {
          var c = el("div", "choice"); c.appendChild(kbd(String(n + 1))); c.appendChild(el("pre", "output", text));
          two.appendChild(c);
        });
        card.appendChild(two);
        if (it.outputs[0].trim() === it.outputs[1].trim()) card.appendChild(el("p", "muted", "(the two answers are the same text)"));
        var pb = el("div", "buttons");
        pb.appendChild(button("1 is better (1)", function () { pick("1"); }));
        pb.appendChild(button("2 is better (2)", function () { pick("2"); }));
        pb.appendChild(button("equally good (t)", function () { pick("tie"); }));
        pb.appendChild(button("skip (s)", skip));
        card.appendChild(pb);
        keyLine([["1", "the first is better"], ["2", "the second is better"], ["t", "equally good"], ["s", "skip"]]);
      } else {
        card.appendChild(el("h5", null, "outputs seen for it (pick the right one as the expected value, or edit)"));
        it.outputs.forEach(function (text, n) {
          var c = el("div", "choice"); c.appendChild(kbd(String(n + 1))); c.appendChild(el("pre", "output", text));
          card.appendChild(c);
        });
        var area = el("textarea"); area.setAttribute("aria-label", "expected value");
        area.value = it.outputs[0] || "";
        var asJson = el("input"); asJson.type = "checkbox"; asJson.id = "as-json";
        var lab = el("label", null, " the expected value is JSON"); lab.prepend(asJson);
        card.appendChild(el("h5", null, "expected value")); card.appendChild(area); card.appendChild(lab);
        var bb = el("div", "buttons");
        bb.appendChild(button("save the edit (Ctrl+Enter)", function () { golden(area.value, asJson.checked); }));
        bb.appendChild(button("skip (s)", skip));
        card.appendChild(bb);
        editing = area;
        keyLine([["1–9", "the output as expected"], ["e", "edit"], ["Ctrl+Enter", "save the edit"], ["Esc", "leave the edit"], ["s", "skip"]]);
      }
      box.appendChild(card);
    }
    function button(text, fn) { var b = el("button", null, text); b.type = "button"; b.addEventListener("click", fn); return b; }
    function send(body) {
      return fetch("/api/label", {method: "POST", headers: {"Content-Type": "application/json"},
                                  body: JSON.stringify(body), credentials: "same-origin"})
        .then(function (r) {
          return r.json().catch(function () { return {error: "HTTP " + r.status}; }).then(function (t) {
            if (!r.ok) { say(t.error || "HTTP " + r.status, false); return false; }
            say("saved to " + t.file, true); done += 1; answered.push(i); i += 1; show(); return true;
          });
        }, function () { say("the view is not answering (is tierwise view still running?)", false); return false; });
    }
    function judge(verdict) { return send({key: items[i].key, verdict: verdict}); }
    function pick(choice) { return send({key: items[i].key, choice: choice}); }
    function golden(expected, isJson) { return send({key: items[i].key, expected: expected, json: !!isJson}); }
    function skip() { i += 1; say("skipped", true); show(); }
    function undo() {
      if (!answered.length) { say("nothing answered on this page to undo", false); return; }
      var last = answered[answered.length - 1];
      fetch("/api/undo", {method: "POST", headers: {"Content-Type": "application/json"},
                          body: JSON.stringify({key: items[last].key}), credentials: "same-origin"})
        .then(function (r) {
          return r.json().catch(function () { return {error: "HTTP " + r.status}; }).then(function (t) {
            if (!r.ok) { say(t.error || "HTTP " + r.status, false); return; }
            answered.pop(); done -= 1; i = last; show();
            say("undone: a retraction line was appended to " + t.file + "; answer this one again or skip it", true);
          });
        }, function () { say("the view is not answering (is tierwise view still running?)", false); });
    }
    undoButton.addEventListener("click", undo);

    document.addEventListener("keydown", function (e) {
      var typing = document.activeElement && document.activeElement.tagName === "TEXTAREA";
      if (e.key === "u" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); undo(); return; }
      if (i >= items.length) return;
      var it = items[i];
      if (typing) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); golden(editing.value, document.getElementById("as-json").checked); }
        else if (e.key === "Escape") { document.activeElement.blur(); }
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (it.kind === "judge" && (e.key === "p" || e.key === "f")) { e.preventDefault(); judge(e.key === "p" ? "pass" : "fail"); }
      else if (it.kind === "pairwise" && (e.key === "1" || e.key === "2" || e.key === "t")) { e.preventDefault(); pick(e.key === "t" ? "tie" : e.key); }
      else if (it.kind === "golden" && /^[1-9]$/.test(e.key) && Number(e.key) <= it.outputs.length) {
        e.preventDefault(); golden(it.outputs[Number(e.key) - 1], false);
      } else if (it.kind === "golden" && e.key === "e") { e.preventDefault(); editing.focus(); }
      else if (e.key === "s") { e.preventDefault(); skip(); }
    });
    show();
  }

  if (page === "task" && data) taskPage();
  if (page === "label" && data) labelPage();
  if (page === "task" || page === "decisions") live();
})();
