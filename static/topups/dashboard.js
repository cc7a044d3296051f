/* The staff dashboard's small behaviours. Everything works without it; it only adds comfort. */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Language select submits on change.
  $all("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Disable the submit button once sent (the hidden ref is the real guard against doubles).
  $all("[data-disable-on-submit]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      window.setTimeout(function () {
        button.disabled = true;
        if (button.dataset.busyLabel) { button.textContent = button.dataset.busyLabel; }
      }, 0);
    });
  });
  // Coming back with the Back button: the page may be restored from cache with the button disabled.
  window.addEventListener("pageshow", function () {
    $all("[data-disable-on-submit]").forEach(function (b) { b.disabled = false; });
  });

  // New order: show only the values of the chosen type, and the expected number form.
  var form = $("#new-order");
  if (form) {
    var select = $("#id_value", form), help = $("#number-help", form), result = $("#number-check", form);
    var currentType = function () { var r = $("input[name=line_type]:checked", form); return r ? r.value : ""; };
    var filterValues = function () {
      var type = currentType();
      $all("option[data-type]", select).forEach(function (option) {
        var show = option.dataset.type === type;
        option.hidden = !show; option.disabled = !show || "outOfStock" in option.dataset;
        if (!show && option.selected) { select.value = ""; }
      });
      if (help) { help.textContent = type === "4G" ? help.dataset.help4g : help.dataset.helpAdsl; }
    };
    // A number the check refused cannot be sent until it is corrected (or the type changed).
    var blockSend = function (blocked) {
      $all("button[type=submit]", form).forEach(function (b) { b.disabled = blocked; });
      form.classList.toggle("number-refused", blocked);
    };
    var numberChanged = function () { result.textContent = ""; result.className = "check-result"; blockSend(false); };
    $all("input[name=line_type]", form).forEach(function (r) {
      r.addEventListener("change", function () { filterValues(); numberChanged(); });
    });
    $("#id_number", form).addEventListener("input", numberChanged);
    filterValues();

    $("#check-number", form).addEventListener("click", function () {
      var button = this;
      var params = new URLSearchParams({ line_type: currentType(), number: $("#id_number", form).value });
      button.disabled = true; result.className = "check-result"; result.textContent = "…";
      fetch(form.dataset.checkUrl + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (data) { data.refused = !data.ok && r.status < 500 && !data.throttled; return data; }); })
        .then(function (data) {
          result.textContent = data.message || "";
          result.className = "check-result " + (data.ok ? "ok" : "bad");
          if (data.ok && data.number) { $("#id_number", form).value = data.number; }
          blockSend(data.refused);  // the format or the API said no; an API outage or a throttle does not block
        })
        .catch(function () { result.textContent = "?"; result.className = "check-result bad"; })
        .then(function () { button.disabled = false; });
    });
  }

  // New flexy order: as the clerk types, the server says the number's operator (its plans alone are
  // offered), the chosen plan's range, and the cost and price once everything fits. The same checks
  // as sending; without the script the "Show plans and price" button asks the same.
  var flexy = $("#flexy-order");
  if (flexy) {
    var fNumber = $("#id_number", flexy), fPlan = $("#id_plan_code", flexy), fAmount = $("#id_amount", flexy);
    var fOperator = $("#flexy-operator", flexy), fRange = $("#amount-range", flexy), fQuote = $("#flexy-quote", flexy);
    var defaultRange = fRange.textContent, asked = 0, typing = null;
    var showNetwork = function (network) {
      $all("optgroup[data-network]", fPlan).forEach(function (group) {
        var show = !network || group.dataset.network === network;
        group.hidden = !show;
        $all("option", group).forEach(function (option) {
          option.hidden = !show;
          if (!show && option.selected) { fPlan.value = ""; }
        });
      });
    };
    var line = function (label, value, id) {
      var span = document.createElement("span"), strong = document.createElement("strong");
      span.textContent = label + ": "; strong.textContent = value; strong.id = id; span.appendChild(strong);
      return span;
    };
    var show = function (data) {
      fOperator.textContent = data.operator ? fOperator.dataset.label + " " + data.operator : "";
      showNetwork(data.operator);
      fRange.textContent = data.range || defaultRange;
      fQuote.textContent = ""; fQuote.className = "quote";
      if (data.ok) {
        if ("cost" in data) { fQuote.appendChild(line(fQuote.dataset.costLabel, data.cost || data.cost_unknown, "quote-cost")); }
        fQuote.appendChild(line(fQuote.dataset.priceLabel, data.price, "quote-price"));
      } else if (data.message || (data.errors && data.errors.amount)) {
        var text = data.message || data.errors.amount;
        // Said once: not again when the page already shows it (the server's answer to a send).
        var shown = Array.prototype.some.call(document.querySelectorAll("#flexy-errors p, #flexy-order .error"),
          function (el) { return el.textContent.trim() === text; });
        if (!shown) { fQuote.textContent = text; fQuote.className = "quote bad"; }
      }
    };
    var ask = function () {
      var mine = ++asked;
      var params = new URLSearchParams({ number: fNumber.value, plan_code: fPlan.value, amount: fAmount.value });
      fetch(flexy.dataset.checkUrl + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) { if (mine === asked) { show(data); } })
        .catch(function () { /* the server checks again on sending */ });
    };
    var askSoon = function () { window.clearTimeout(typing); typing = window.setTimeout(ask, 250); };
    fNumber.addEventListener("input", askSoon);
    fAmount.addEventListener("input", askSoon);
    fPlan.addEventListener("change", ask);
    if (fNumber.value) { ask(); }
  }

  // Live status: the order page polls its status every 3 s until it is final. It sends the tag of
  // the state it holds: the server answers 304, with no body, while nothing changed.
  var card = $("[data-poll]");
  if (card) {
    var etag = null;
    var timer = window.setInterval(function () {
      var headers = { Accept: "application/json" };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(card.dataset.poll, { credentials: "same-origin", headers: headers, cache: "no-store" })
        .then(function (r) {
          if (r.status === 304) { return null; }
          if (!r.ok) { throw new Error(r.status); }
          etag = r.headers.get("ETag");
          return r.json();
        })
        .then(function (data) {
          if (!data) { return; }
          var badge = $("[data-status]", card);
          if (badge.textContent !== data.label) {
            badge.textContent = data.label; badge.className = "status " + data.tone;
            $("[data-explanation]", card).textContent = data.explanation;
          }
          if (data.final) { window.clearInterval(timer); window.location.reload(); }
        })
        .catch(function () { /* a network hiccup: try again at the next tick */ });
    }, 3000);
  }

  // Lists: one request every 3 s for all the rows that are not final yet.
  $all("table[data-live-statuses]").forEach(function (table) {
    var tick = function () {
      var rows = $all("tr[data-live]", table);
      if (!rows.length) { window.clearInterval(timer); return; }
      var params = new URLSearchParams();
      rows.forEach(function (row) { params.append("id", row.dataset.order); });
      fetch(table.dataset.liveStatuses + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          data.orders.forEach(function (o) {
            var row = $("tr[data-order='" + o.id + "']", table);
            if (!row) { return; }
            var badge = $("[data-status]", row);
            badge.textContent = o.label; badge.className = "status " + o.tone;
            $("[data-code]", row).textContent = o.card_code;
            if (o.final) { row.removeAttribute("data-live"); }
          });
        })
        .catch(function () {});
    };
    var timer = window.setInterval(tick, 3000);
  });

  // Copy the card code.
  $all("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = $(button.dataset.copy).textContent.trim(), label = button.textContent;
      var done = function () { button.textContent = button.dataset.copiedLabel; setTimeout(function () { button.textContent = label; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
      }
    });
  });

  $all("[data-print]").forEach(function (b) { b.addEventListener("click", function () { window.print(); }); });
  // A receipt counted by its POST goes straight to the printer.
  if (document.body.hasAttribute("data-autoprint")) { window.addEventListener("load", function () { window.print(); }); }
})();
