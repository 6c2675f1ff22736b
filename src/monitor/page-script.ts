/**
 * The status page's browser script, shipped inline (no build step, no external
 * asset). It polls the monitor API, renders both tables with DOM text nodes
 * only (queue and group names come from Redis keys: never parsed as HTML), and
 * ticks the "N seconds ago" cells every second from the API's ages, so the
 * browser's clock never matters.
 *
 * Kept as plain ES2017 text: no template literals, so it can live in a raw string.
 * Reads its settings from `<script type="application/json" id="qs-config">`:
 * `{ api, refreshMs, pageSize, strings }` (see `page.ts`). The queue table
 * shows one page of the API's queues (`?limit=&offset=`) with a pager.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('qs-config').textContent);
  var T = cfg.strings;
  var num = new Intl.NumberFormat(T.locale, { maximumFractionDigits: 1 });
  var num2 = new Intl.NumberFormat(T.locale, { maximumFractionDigits: 2 });
  var clock = new Intl.DateTimeFormat(T.locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  var full = new Intl.DateTimeFormat(T.locale, { dateStyle: 'medium', timeStyle: 'medium' });
  var state = { data: null, fetchedAt: 0, error: null, inFlight: false, again: false, offset: 0 };
  var pager = document.getElementById('queue-pager');
  var prevBtn = document.getElementById('queue-prev');
  var nextBtn = document.getElementById('queue-next');
  var range = document.getElementById('queue-range');
  var statusBody = document.getElementById('status-body');
  var queueBody = document.getElementById('queue-body');
  var alertBox = document.getElementById('qs-alert');
  var updated = document.getElementById('qs-updated');

  function fill(template, value) { return template.split('{n}').join(value); }
  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmt(v) { return isNum(v) ? num.format(v) : '—'; }
  function fmtRate(v) { return isNum(v) ? (Math.abs(v) < 10 ? num2.format(v) : num.format(v)) : null; }

  /** Seconds elapsed since the last successful fetch (ages in the API are relative to it). */
  function elapsed() { return state.fetchedAt ? Math.max(0, (Date.now() - state.fetchedAt) / 1000) : 0; }

  function span(seconds, s, m, h, d) {
    if (seconds < 60) return fill(s, String(Math.floor(seconds)));
    if (seconds < 3600) return fill(m, String(Math.floor(seconds / 60)));
    if (seconds < 86400) return fill(h, String(Math.floor(seconds / 3600)));
    return fill(d, String(Math.floor(seconds / 86400)));
  }
  function ago(seconds) { return span(Math.max(0, seconds), T.secondsAgo, T.minutesAgo, T.hoursAgo, T.daysAgo); }
  function duration(seconds) {
    if (!isNum(seconds)) return '—';
    if (seconds < 10) return fill(T.seconds, num.format(seconds));
    return span(seconds, T.seconds, T.minutes, T.hours, T.days);
  }

  function cell(row, label, text, cls) {
    var td = document.createElement('td');
    td.setAttribute('data-label', label);
    if (cls) td.className = cls;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function statusText(status) {
    if (status === 'running') return '\u{1F7E2} ' + T.running;
    if (status === 'stopped') return '\u{1F534} ' + T.stopped;
    return '\u26AA ' + T.unknown;
  }
  function message(body, colspan, text) {
    var tr = document.createElement('tr');
    var td = document.createElement('td');
    td.colSpan = colspan;
    td.className = 'empty';
    td.textContent = text;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  function keys(obj) { return obj ? Object.keys(obj) : []; }

  function renderStatus(d) {
    statusBody.textContent = '';
    var names = keys(d.components);
    if (names.length === 0) message(statusBody, 5, T.noComponents);
    names.forEach(function (name) {
      var c = d.components[name];
      var tr = document.createElement('tr');
      tr.className = 'component ' + c.status;
      tr.setAttribute('data-component', name);
      tr.setAttribute('data-status', c.status);
      cell(tr, T.colModule, name, 'name');
      var st = cell(tr, T.colStatus, statusText(c.status), 'status');
      st.title = fill(T.staleAfter, String(c.staleAfterSeconds));
      cell(tr, T.colTotal, fmt(c.total), 'num total');
      var up = cell(tr, T.colUpdated, '—', 'age');
      if (isNum(c.heartbeatAgeSeconds)) {
        up.setAttribute('data-age', String(c.heartbeatAgeSeconds));
        up.textContent = ago(c.heartbeatAgeSeconds + elapsed());
      }
      if (isNum(c.lastHeartbeat)) up.title = full.format(new Date(c.lastHeartbeat * 1000));
      var parts = [];
      var r = fmtRate(c.ratePerSecond);
      if (r !== null) parts.push(fill(T.perSecond, r));
      else if (c.total !== null) parts.push(T.sampling);
      var ms = isNum(c.avgDurationMs) ? c.avgDurationMs : c.lastDurationMs;
      if (isNum(ms)) parts.push(fill(T.perItemMs, num.format(ms)));
      cell(tr, T.colRate, parts.length ? parts.join(' · ') : '—', 'rate');
      statusBody.appendChild(tr);
    });

    // Over every queue, not only this page's.
    var waiting = d.totalWaiting;
    var bl = document.createElement('tr');
    bl.className = 'summary';
    bl.setAttribute('data-row', 'backlog');
    cell(bl, T.colModule, T.backlog, 'name');
    cell(bl, T.colStatus, d.redis.up ? '-' : '\u{1F534} ' + T.unreachable, 'status');
    cell(bl, T.colTotal, fmt(waiting), 'num total');
    cell(bl, T.colUpdated, '-', 'age');
    cell(bl, T.colRate, '-', 'rate');
    statusBody.appendChild(bl);

    if (d.mysql) {
      var m = d.mysql;
      var my = document.createElement('tr');
      my.className = 'summary';
      my.setAttribute('data-row', 'mysql');
      my.setAttribute('data-status', m.up ? 'running' : 'stopped');
      cell(my, T.colModule, T.mysqlConnections, 'name');
      cell(my, T.colStatus, m.up ? '\u{1F7E2} ' + T.running : '\u{1F534} ' + T.unreachable, 'status');
      cell(my, T.colTotal, isNum(m.maxConnections) && isNum(m.threadsConnected) ? fmt(m.threadsConnected) + ' / ' + fmt(m.maxConnections) : fmt(m.threadsConnected), 'num total');
      cell(my, T.colUpdated, '-', 'age');
      var extra = [];
      if (isNum(m.threadsRunning)) extra.push(fill(T.threadsRunning, fmt(m.threadsRunning)));
      if (isNum(m.slowQueries)) extra.push(fill(T.slowQueries, fmt(m.slowQueries)));
      cell(my, T.colRate, extra.length ? extra.join(' · ') : '-', 'rate');
      statusBody.appendChild(my);
    }
  }

  function queueRow(label, q, cls) {
    var tr = document.createElement('tr');
    tr.className = cls;
    cell(tr, T.colQueue, label, 'name');
    return tr;
  }

  function renderQueues(d) {
    queueBody.textContent = '';
    var ks = keys(d.queues);
    if (ks.length === 0) message(queueBody, 8, d.redis.up ? T.noQueues : T.redisDown);
    ks.forEach(function (k) {
      var q = d.queues[k];
      var tr = queueRow(k + (q.paused ? ' (' + T.paused + ')' : ''), q, 'queue');
      tr.setAttribute('data-queue', k);
      // The queue's task view (src/inspect/): the same URL shape chat messages and Grafana links use.
      var link = document.createElement('a');
      link.href = 'queues/' + encodeURIComponent(q.name) + '?framework=' + encodeURIComponent(q.framework);
      link.textContent = tr.firstChild.textContent;
      tr.firstChild.textContent = '';
      tr.firstChild.appendChild(link);
      cell(tr, T.colFramework, q.framework, 'framework');
      cell(tr, T.colWaiting, fmt(q.waiting), 'num waiting');
      cell(tr, T.colActive, fmt(q.active), 'num active');
      cell(tr, T.colProcessed, fmt(q.processed), 'num processed');
      cell(tr, T.colFailed, fmt(q.failed), 'num failed');
      cell(tr, T.colOldest, duration(q.oldestTaskAgeSeconds), 'num oldest');
      var r = fmtRate(q.ratePerSecond);
      cell(tr, T.colQueueRate, r !== null ? fill(T.perSecond, r) : (q.processed !== null ? T.sampling : '—'), 'rate');
      queueBody.appendChild(tr);
      var groups = keys(q.groups);
      if (groups.length > 1) {
        groups.forEach(function (g) {
          var gv = q.groups[g];
          var gr = queueRow('\u21B3 ' + T.group + ' ' + g, q, 'group');
          gr.setAttribute('data-group', g);
          cell(gr, T.colFramework, '', 'framework');
          cell(gr, T.colWaiting, fmt(gv.waiting), 'num waiting');
          cell(gr, T.colActive, fmt(gv.active), 'num active');
          cell(gr, T.colProcessed, '', 'num');
          cell(gr, T.colFailed, '', 'num');
          cell(gr, T.colOldest, duration(gv.oldestTaskAgeSeconds), 'num oldest');
          cell(gr, T.colQueueRate, '', 'rate');
          queueBody.appendChild(gr);
        });
      }
    });
  }

  function renderPager(d) {
    var p = d.page;
    if (!p || p.total <= p.limit && p.offset === 0) {
      pager.hidden = true;
      return;
    }
    pager.hidden = false;
    var shown = keys(d.queues).length;
    range.textContent = T.queueRange.split('{from}').join(String(shown ? p.offset + 1 : 0))
      .split('{to}').join(String(p.offset + shown)).split('{total}').join(String(p.total));
    prevBtn.disabled = p.offset === 0;
    nextBtn.disabled = p.nextOffset === null;
  }

  function go(offset) {
    state.offset = Math.max(0, offset);
    refresh(true);
  }
  prevBtn.addEventListener('click', function () { go(state.offset - cfg.pageSize); });
  nextBtn.addEventListener('click', function () {
    if (state.data && state.data.page && state.data.page.nextOffset !== null) go(state.data.page.nextOffset);
  });

  function renderAlert() {
    var text = null;
    if (state.error !== null) text = T.fetchFailed.split('{error}').join(state.error);
    else if (state.data && !state.data.redis.up) text = T.redisDown;
    document.body.setAttribute('data-redis', state.data ? (state.data.redis.up ? 'up' : 'down') : 'unknown');
    document.body.classList.toggle('stale', state.error !== null);
    if (text === null) {
      alertBox.hidden = true;
      alertBox.textContent = '';
    } else {
      alertBox.hidden = false;
      alertBox.textContent = text;
    }
  }

  function tick() {
    var els = statusBody.querySelectorAll('td[data-age]');
    for (var i = 0; i < els.length; i++) els[i].textContent = ago(Number(els[i].getAttribute('data-age')) + elapsed());
    if (state.data) {
      updated.textContent = fill(T.updated, clock.format(new Date(state.data.generatedAt))) + ' · ' + fill(T.refreshEvery, String(cfg.refreshMs / 1000));
    }
  }

  function render() {
    renderAlert();
    if (state.data) {
      renderStatus(state.data);
      renderQueues(state.data);
      renderPager(state.data);
      document.body.setAttribute('data-generated', state.data.generatedAt);
    }
    tick();
  }

  var pollTimer = null;
  function refresh(now) {
    if (state.inFlight) {
      // A page change during a fetch: fetch again as soon as this one is done.
      if (now) state.again = true;
      return;
    }
    if (now && pollTimer !== null) clearTimeout(pollTimer);
    state.inFlight = true;
    var url = cfg.api + '?limit=' + cfg.pageSize + '&offset=' + state.offset;
    var ctl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = setTimeout(function () { if (ctl) ctl.abort(); }, Math.max(cfg.refreshMs * 3, 10000));
    fetch(url, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' }, signal: ctl ? ctl.signal : undefined })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) {
        state.data = data;
        state.fetchedAt = Date.now();
        state.error = null;
        // Queues disappeared past this page: go back to the last page there is.
        if (data.page && state.offset > 0 && state.offset >= data.page.total) state.offset = Math.max(0, data.page.total - cfg.pageSize);
      }, function (err) {
        state.error = err && err.name === 'AbortError' ? 'timeout' : String(err && err.message ? err.message : err);
      })
      .then(function () {
        clearTimeout(timer);
        state.inFlight = false;
        render();
        var again = state.again;
        state.again = false;
        pollTimer = setTimeout(refresh, again ? 0 : cfg.refreshMs);
      });
  }

  setInterval(tick, 1000);
  refresh();
})();
`;
