/* Bulk orders: the batch page polls its counts every 3 s until every order is final. */
(function () {
  "use strict";

  var card = document.querySelector("[data-batch-poll]");
  if (!card) { return; }

  function cell(text, dir) {
    var td = document.createElement("td");
    td.textContent = text;
    if (dir) { td.setAttribute("dir", dir); }
    return td;
  }

  function render(data) {
    card.querySelector("[data-final]").textContent = data.final;
    card.querySelector("[data-total]").textContent = data.total;
    var bar = card.querySelector("[data-progress]");
    bar.max = data.total; bar.value = data.final;
    data.counts.forEach(function (c) {
      var box = card.querySelector("[data-count='" + c.status + "']");
      if (!box) { return; }
      box.hidden = !c.count;
      box.querySelector("[data-count-value]").textContent = c.count;
    });
    var body = document.querySelector("[data-failures]");
    if (body && data.failures.length) {
      body.textContent = "";
      data.failures.forEach(function (f) {
        var tr = document.createElement("tr");
        tr.appendChild(cell(f.ref, "ltr")); tr.appendChild(cell(f.number, "ltr"));
        tr.appendChild(cell(f.status)); tr.appendChild(cell(f.reason));
        body.appendChild(tr);
      });
      body.closest("table").hidden = false;
      document.querySelector("[data-no-failures]").hidden = true;
    }
    if (data.done) {
      card.querySelector("[data-done-label]").hidden = false;
      card.querySelector("[data-results]").hidden = false;
    }
  }

  var timer = window.setInterval(function () {
    fetch(card.dataset.batchPoll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { render(data); if (data.done) { window.clearInterval(timer); } })
      .catch(function () { /* a network hiccup: try again at the next tick */ });
  }, 3000);
})();
