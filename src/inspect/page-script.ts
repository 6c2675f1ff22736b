/**
 * The task view's browser script, inline (no build step, no external asset).
 * It renders the view's data (embedded in the page, refreshed from the JSON
 * API on demand) as DOM text nodes only: task ids, error messages and
 * payloads come from Redis and are never parsed as HTML. States are tabs;
 * the filter box hides rows that do not contain its text; the search form
 * looks a task id up through the API.
 *
 * Plain ES2017 without template literals, so it can live in a raw string.
 * Settings in `<script type="application/json" id="qs-config">`:
 * `{ api, lookup, query, state, strings, data }` (see `page.ts`).
 */
export const INSPECT_SCRIPT = String.raw`
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('qs-config').textContent);
  var T = cfg.strings;
  var data = cfg.data;
  var current = cfg.state;
  var tabs = document.getElementById('qs-tabs');
  var panels = document.getElementById('qs-panels');
  var filter = document.getElementById('qs-filter');
  var alertBox = document.getElementById('qs-alert');
  var form = document.getElementById('qs-search');
  var idInput = document.getElementById('qs-id');
  var result = document.getElementById('qs-result');
  var generated = document.getElementById('qs-generated');
  var dt = new Intl.DateTimeFormat(T.locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  var num = new Intl.NumberFormat(T.locale, { maximumFractionDigits: 1 });

  function fill(t, v) { return t.split('{n}').join(String(v)); }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function span(s) {
    var u = T.units;
    if (s < 60) return num.format(Math.floor(s)) + u[0];
    if (s < 3600) return Math.floor(s / 60) + u[1];
    if (s < 86400) return Math.floor(s / 3600) + u[2];
    return Math.floor(s / 86400) + u[3];
  }
  function when(unixS) { return isNum(unixS) ? dt.format(new Date(unixS * 1000)) : '—'; }

  function cell(tr, label, cls) {
    var td = el('td', cls);
    td.setAttribute('data-label', label);
    tr.appendChild(td);
    return td;
  }
  function line(parent, text, cls) { var d = el('div', cls, text); parent.appendChild(d); return d; }

  function taskRow(t) {
    var tr = el('tr', 'task');
    tr.setAttribute('data-task-id', t.id);
    tr.setAttribute('data-state', t.state);
    var idc = cell(tr, T.colId, 'id');
    idc.appendChild(el('code', 'iso', t.id));
    if (t.ref !== null) idc.appendChild(el('div', 'iso muted ref', t.ref));
    cell(tr, T.colName, 'name').appendChild(el('span', 'iso', t.name === null ? '—' : t.name));
    var enq = cell(tr, T.colEnqueued, 'enq');
    line(enq, when(t.enqueuedAt));
    if (isNum(t.ageSeconds)) line(enq, fill(T.ago, span(t.ageSeconds)), 'muted');
    cell(tr, T.colAttempts, 'num attempts').textContent = isNum(t.attempts) ? String(t.attempts) : '—';
    var err = cell(tr, T.colError, 'error');
    if (t.error !== null) err.appendChild(el('span', 'iso', t.error));
    cell(tr, T.colFailedAt, 'failed').textContent = when(t.failedAt);
    var det = cell(tr, T.colDetails, 'details');
    if (t.group !== null) line(det, T.group + ': ' + t.group, 'iso');
    if (t.consumer !== null) line(det, T.consumer + ': ' + t.consumer, 'iso');
    if (isNum(t.idleSeconds)) line(det, T.idle + ': ' + span(t.idleSeconds));
    if (isNum(t.deliveries)) line(det, T.deliveries + ': ' + t.deliveries);
    if (isNum(t.dueAt)) line(det, (t.state === 'stuck' ? T.leaseExpired : T.due) + ': ' + when(t.dueAt));
    var pay = cell(tr, T.colPayload, 'payload');
    if (t.payload !== null) pay.appendChild(el('pre', 'iso', t.payload));
    if (isNum(t.payloadBytes)) line(pay, fill(T.bytes, t.payloadBytes) + (t.payloadTruncated ? T.truncated : ''), 'muted');
    var hay = [t.id, t.ref, t.name, t.error, t.consumer, t.group, t.payload].filter(function (v) { return v !== null; }).join('\n').toLowerCase();
    tr.setAttribute('data-search', hay);
    return tr;
  }

  function table(tasks, emptyText) {
    var wrap = el('div', 'scroll');
    var tbl = el('table');
    var head = el('thead');
    var hr = el('tr');
    [T.colId, T.colName, T.colEnqueued, T.colAttempts, T.colError, T.colFailedAt, T.colDetails, T.colPayload].forEach(function (h) {
      var th = el('th', null, h);
      th.scope = 'col';
      hr.appendChild(th);
    });
    head.appendChild(hr);
    tbl.appendChild(head);
    var body = el('tbody');
    tasks.forEach(function (t) { body.appendChild(taskRow(t)); });
    var none = el('tr', 'none');
    var td = el('td', 'empty', tasks.length === 0 ? emptyText : T.noMatch);
    td.colSpan = 8;
    none.appendChild(td);
    none.hidden = tasks.length !== 0;
    body.appendChild(none);
    tbl.appendChild(body);
    wrap.appendChild(tbl);
    return wrap;
  }

  function pickDefault() {
    if (current && data.sections.some(function (s) { return s.state === current; })) return current;
    var order = ['dead', 'stuck', 'retry', 'active', 'waiting', 'scheduled'];
    for (var i = 0; i < order.length; i++) {
      for (var j = 0; j < data.sections.length; j++) {
        if (data.sections[j].state === order[i] && data.sections[j].tasks.length > 0) return order[i];
      }
    }
    return data.sections.length ? data.sections[0].state : null;
  }

  function select(state) {
    current = state;
    var bs = tabs.querySelectorAll('button');
    for (var i = 0; i < bs.length; i++) bs[i].setAttribute('aria-selected', bs[i].getAttribute('data-state') === state ? 'true' : 'false');
    var ps = panels.querySelectorAll('section');
    for (var k = 0; k < ps.length; k++) ps[k].hidden = ps[k].getAttribute('data-state') !== state;
    applyFilter();
  }

  function applyFilter() {
    var q = filter.value.trim().toLowerCase();
    var ps = panels.querySelectorAll('section');
    for (var k = 0; k < ps.length; k++) {
      var rows = ps[k].querySelectorAll('tr.task');
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = q === '' || rows[i].getAttribute('data-search').indexOf(q) >= 0;
        rows[i].hidden = !hit;
        if (hit) shown++;
      }
      var none = ps[k].querySelector('tr.none');
      if (none) none.hidden = shown !== 0;
    }
  }

  function showAlert(text) {
    alertBox.hidden = text === null;
    alertBox.textContent = text === null ? '' : text;
  }

  function render() {
    tabs.textContent = '';
    panels.textContent = '';
    data.sections.forEach(function (s) {
      var b = el('button', 'tab');
      b.type = 'button';
      b.setAttribute('role', 'tab');
      b.setAttribute('data-state', s.state);
      b.textContent = (T.states[s.state] || s.state) + ' ' + (isNum(s.total) ? num.format(s.total) : (s.tasks.length ? String(s.tasks.length) + '+' : '0'));
      b.addEventListener('click', function () { select(s.state); });
      tabs.appendChild(b);
      var p = el('section', 'panel');
      p.setAttribute('data-state', s.state);
      p.setAttribute('role', 'tabpanel');
      var meta = [];
      if (isNum(s.total)) meta.push(fill(T.total, num.format(s.total)));
      if (s.tasks.length) meta.push(fill(T.showing, s.tasks.length));
      if (s.noteKey && T.notes[s.noteKey]) meta.push(fill(T.notes[s.noteKey], s.noteValue === null ? '' : s.noteValue));
      else if (s.note) meta.push(s.note);
      if (meta.length) line(p, meta.join(' · '), 'muted meta');
      p.appendChild(table(s.tasks, T.empty));
      panels.appendChild(p);
    });
    var problems = data.problems || [];
    if (!data.redisUp) showAlert(fill(T.redisDown, data.error || ''));
    else if (problems.length) showAlert(T.problems + ' ' + problems.slice(0, 5).join('; '));
    else showAlert(null);
    generated.textContent = fill(T.generated, when(Date.parse(data.generatedAt) / 1000));
    document.body.setAttribute('data-ready', 'true');
    select(pickDefault());
  }

  function getJson(url) {
    return fetch(url, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (res) {
      if (res.status === 404) return res.json();
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    });
  }

  filter.addEventListener('input', applyFilter);
  document.getElementById('qs-refresh').addEventListener('click', function () {
    getJson(cfg.api + cfg.query).then(function (d) { data = d; render(); }, function (e) { showAlert(fill(T.fetchFailed, e.message)); });
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = idInput.value.trim();
    if (id === '') return;
    result.hidden = false;
    result.textContent = T.searching;
    getJson(cfg.lookup + encodeURIComponent(id) + cfg.query).then(function (d) {
      result.textContent = '';
      var tasks = d && d.tasks ? d.tasks : [];
      if (tasks.length === 0) {
        line(result, fill(T.notFound, id), 'empty notfound');
        return;
      }
      line(result, T.lookupResult, 'meta');
      result.appendChild(table(tasks, ''));
      var rows = result.querySelectorAll('tr.task');
      for (var i = 0; i < rows.length; i++) {
        var st = rows[i].getAttribute('data-state');
        var idc = rows[i].querySelector('td.id');
        idc.appendChild(el('div', 'badge state-' + st, T.states[st] || st));
      }
    }, function (e) { result.textContent = fill(T.fetchFailed, e.message); });
  });
  render();
})();
`;
