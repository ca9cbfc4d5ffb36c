// ferry's status page, live. Without this script the page is the server-rendered tables
// (filled into #tables by the admin listener). With it: one GET /api/status for the last
// 15 minutes (one point per second) drawn with uPlot, then one `tick` event a second from
// /api/events (Server-Sent Events) appended to the plots and redrawn into the tables, without
// reloading. EventSource reconnects by itself; after a reconnect the missed seconds are
// fetched again from /api/status. Where EventSource is missing, the stream is refused (the
// status page on a proxy port serves no streams) or no tick arrives, the page polls
// /api/status every 2 s instead.
// Tests read window.ferryStatus: {ticks, polls, mode, lastSample, status, plots: {name: uPlot}}.
(function () {
    'use strict';

    const WINDOW_S = 900;
    const POLL_MS = 2000;
    const TICK_WATCHDOG_MS = 6000;
    const SERIES = ['t', 'requests', 'bytes_from_clients', 'bytes_to_clients', 'status_1xx', 'status_2xx',
        'status_3xx', 'status_4xx', 'status_5xx', 'status_000', 'p50_ms', 'p95_ms', 'p99_ms'];

    const state = {
        ticks: 0, polls: 0, mode: 'starting', lastSample: null, status: null, plots: {}, error: '',
    };
    window.ferryStatus = state;

    // ---------------------------------------------------------------------------------------
    // Formatting: numbers with units, times in UTC (as ferry's logs).

    const nf = new Intl.NumberFormat('en-US');
    const int = (v) => (v === null || v === undefined ? '—' : nf.format(Math.round(v)));
    function bytes(v, suffix) {
        if (v === null || v === undefined) return '—';
        const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        let i = 0;
        let x = v;
        while (Math.abs(x) >= 1024 && i < units.length - 1) {
            x /= 1024;
            i++;
        }
        const digits = i === 0 ? 0 : x < 10 ? 2 : x < 100 ? 1 : 0;
        return x.toFixed(digits) + ' ' + units[i] + (suffix || '');
    }
    function ms(v) {
        if (v === null || v === undefined) return '—';
        return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) + ' ms';
    }
    const pct = (v) => (v === null || v === undefined ? '—' : (v * 100).toFixed(1) + ' %');
    function duration(s) {
        s = Math.max(0, Math.floor(s));
        const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
        const m = Math.floor((s % 3600) / 60), sec = s % 60;
        return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + sec + 's';
    }
    const clock = (t) => new Date(t * 1000).toISOString().slice(11, 19).replace(/:00$/, ''); // HH:MM[:SS] UTC
    const time = (t) => new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

    // ---------------------------------------------------------------------------------------
    // DOM: text only (host names, rule names and messages come from outside), never innerHTML.

    function h(tag, attrs, ...kids) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
        }
        for (const k of kids.flat()) {
            if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
        }
        return e;
    }
    // A number cell; `key` names it for tests and for anyone scripting the page.
    const num = (text, key, title) => h('td', { class: 'num', 'data-key': key, title }, text);
    const txt = (text, key) => h('td', { class: 'text', 'data-key': key }, text);

    function kvTable(rows) { // rows: [label, text, key, title?]; a number unless `text` is a cell
        return h('table', null, h('tbody', null, rows.map(([label, text, key, title]) =>
            h('tr', null, h('th', { scope: 'row' }, label), text instanceof Node ? text : num(text, key, title)))));
    }
    function gridTable(head, rows, empty) { // head: [label, numeric?]; rows: arrays of td
        const thead = h('thead', null, h('tr', null, head.map(([label, n]) => h('th', { class: n ? 'num' : null }, label))));
        const body = rows.length ? rows.map((cells) => h('tr', null, cells))
            : [h('tr', null, h('td', { colspan: head.length, class: 'empty' }, empty))];
        return h('table', null, thead, h('tbody', null, body));
    }
    const section = (id, title, wide, ...content) =>
        h('section', { id: 'sec-' + id, class: wide ? 'wide' : null }, h('h2', null, title), content);

    // ---------------------------------------------------------------------------------------
    // The tables, from /api/status or a tick (the same keys; a tick has no series).

    function processSection(s) {
        const c = s.config || {};
        return section('process', 'Process', false, kvTable([
            ['version', txt(s.version, 'version')],
            ['started', txt(time(s.started), 'started')],
            ['uptime', txt(duration(s.uptime), 'uptime')],
            ['config file', txt(c.file === null || c.file === undefined ? '(none: options only)' : c.file, 'config.file')],
            ['listening on', txt((c.listen || []).join(', '), 'config.listen')],
            ['workers', int(c.workers), 'config.workers'],
        ]));
    }
    function nowSection(s) {
        const g = s.gauges || {};
        return section('now', 'Now', false, kvTable([
            ['client connections', int(g.client_connections), 'gauges.client_connections'],
            ['upstream connections', int(g.upstream_connections), 'gauges.upstream_connections'],
            ['parked clients', int(g.parked), 'gauges.parked'],
            ['tunnels', int(g.tunnels), 'gauges.tunnels'],
            ['HTTP/2 connections', int(g.http2_connections), 'gauges.http2_connections'],
        ]));
    }
    function totalsSection(s) {
        const t = s.totals || {}, st = t.status || {};
        const rows = [
            ['requests', int(t.requests), 'totals.requests'],
            ['from clients', bytes(t.bytes_from_clients), 'totals.bytes_from_clients', int(t.bytes_from_clients) + ' bytes'],
            ['to clients', bytes(t.bytes_to_clients), 'totals.bytes_to_clients', int(t.bytes_to_clients) + ' bytes'],
        ];
        for (const c of ['1xx', '2xx', '3xx', '4xx', '5xx']) rows.push([c, int(st[c]), 'totals.status.' + c]);
        rows.push(['000 (no response)', int(st['000']), 'totals.status.000']);
        return section('totals', 'Since start', false, kvTable(rows));
    }
    function cacheSection(s) {
        const d = s.dns || {}, p = s.pool || {};
        const used = (p.opened || 0) + (p.reused || 0);
        return section('caches', 'DNS cache and upstream pool', false, kvTable([
            ['DNS hits', int(d.hits), 'dns.hits'],
            ['DNS misses', int(d.misses), 'dns.misses'],
            ['DNS hit rate', pct(d.hit_rate), 'dns.hit_rate'],
            ['connections opened', int(p.opened), 'pool.opened'],
            ['connections reused', int(p.reused), 'pool.reused'],
            ['reuse rate', used ? pct(p.reused / used) : '—', 'pool.reuse_rate'],
            ['idle in the pool', int(p.idle), 'pool.idle'],
        ]));
    }
    function aclSection(s) {
        const rows = (s.acl || []).map((r) => [
            h('td', { class: 'num' }, r.rule === 0 ? 'default' : r.rule),
            h('td', null, r.name),
            num(int(r.denials), 'acl.' + r.rule + '.denials'),
            num(int(r.auth_failures), 'acl.' + r.rule + '.auth_failures'),
        ]);
        return section('acl', 'Access rules', false,
            gridTable([['rule', true], ['name'], ['denials', true], ['auth failures', true]], rows, 'no rules'));
    }
    function reloadSection(s) {
        const rows = (s.reloads || []).map((r) => [
            h('td', null, time(r.at)),
            h('td', { class: r.ok ? 'ok' : 'bad' }, r.ok ? 'applied' : 'refused'),
            h('td', null, r.message),
            h('td', null, (r.changed || []).join(', ') || '—'),
            h('td', null, (r.restart_needed || []).join(', ') || '—'),
        ]);
        return section('reloads', 'Reloads (newest first)', true,
            gridTable([['when'], ['result'], ['message'], ['changed'], ['needs a restart']], rows, 'no reload since start'));
    }
    function hostsSection(s) {
        const rows = (s.hosts || []).map((x) => {
            const conns = (x.new_connections || 0) + (x.reused_connections || 0);
            return [
                h('td', null, x.host),
                num(int(x.requests), 'hosts.' + x.host + '.requests'),
                num(bytes(x.bytes_from_clients), null, int(x.bytes_from_clients) + ' bytes'),
                num(bytes(x.bytes_to_clients), null, int(x.bytes_to_clients) + ' bytes'),
                h('td', { class: 'num' + (x.errors ? ' bad' : '') }, int(x.errors)),
                num(int(x.new_connections)),
                num(int(x.reused_connections)),
                num(conns ? pct(x.reused_connections / conns) : '—'),
            ];
        });
        return section('hosts', 'Origins (top 20 by requests)', true, gridTable(
            [['host'], ['requests', true], ['from clients', true], ['to clients', true], ['errors', true],
                ['new conns', true], ['reused conns', true], ['reuse', true]], rows, 'no request yet'));
    }
    // [id, draw, the part of the figures it shows]: a section whose part did not change stays.
    const SECTIONS = [
        ['process', processSection, (s) => [s.version, s.started, s.uptime, s.config]],
        ['now', nowSection, (s) => s.gauges],
        ['totals', totalsSection, (s) => s.totals],
        ['caches', cacheSection, (s) => [s.dns, s.pool]],
        ['acl', aclSection, (s) => s.acl],
        ['reloads', reloadSection, (s) => s.reloads],
        ['hosts', hostsSection, (s) => s.hosts],
    ];
    const drawn = {}; // section id -> the JSON of the part it was drawn from

    function renderTables(s) {
        const box = document.getElementById('tables');
        if (!state.tablesOwned) { // the server's tables give way to the script's, drawn from the same figures
            box.textContent = '';
            state.tablesOwned = true;
        }
        for (const [id, draw, part] of SECTIONS) {
            const key = JSON.stringify(part(s) === undefined ? null : part(s));
            const old = document.getElementById('sec-' + id);
            if (old && drawn[id] === key) continue;
            const fresh = draw(s);
            drawn[id] = key;
            if (old) old.replaceWith(fresh);
            else box.append(fresh);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Plots: one column store, each plot's data [t, ys...] pointing into it.

    const cols = {};
    for (const k of SERIES) cols[k] = [];

    const PLOTS = {
        requests: {
            series: [{ key: 'requests', label: 'requests', stroke: '#0b5cad', fill: 'rgba(11,92,173,.08)' }],
            value: (v) => int(v) + ' /s', axis: (v) => nf.format(v), now: (s) => int(s.requests) + ' req/s',
        },
        bytes: {
            series: [{ key: 'bytes_from_clients', label: 'from clients', stroke: '#7a3fb0' },
                { key: 'bytes_to_clients', label: 'to clients', stroke: '#1e6b35' }],
            value: (v) => bytes(v, '/s'), axis: (v) => bytes(v, '/s'),
            now: (s) => 'in ' + bytes(s.bytes_from_clients, '/s') + ' · out ' + bytes(s.bytes_to_clients, '/s'),
        },
        errors: {
            series: [{ key: 'status_4xx', label: '4xx', stroke: '#c77c00' }, { key: 'status_5xx', label: '5xx', stroke: '#b3261e' },
                { key: 'status_000', label: '000 (no response)', stroke: '#555' },
                { key: 'status_1xx', label: '1xx', stroke: '#8899aa', show: false },
                { key: 'status_2xx', label: '2xx', stroke: '#1e6b35', show: false },
                { key: 'status_3xx', label: '3xx', stroke: '#0b5cad', show: false }],
            value: (v) => int(v) + ' /s', axis: (v) => nf.format(v),
            now: (s) => '4xx ' + int(s.status_4xx) + ' · 5xx ' + int(s.status_5xx) + ' · 000 ' + int(s.status_000) + ' /s',
        },
        latency: {
            series: [{ key: 'p50_ms', label: 'p50', stroke: '#1e6b35' }, { key: 'p95_ms', label: 'p95', stroke: '#c77c00' },
                { key: 'p99_ms', label: 'p99', stroke: '#b3261e' }],
            value: (v) => ms(v), axis: (v) => ms(v),
            now: (s) => (s.p50_ms === null || s.p50_ms === undefined ? 'no request'
                : 'p50 ' + ms(s.p50_ms) + ' · p95 ' + ms(s.p95_ms) + ' · p99 ' + ms(s.p99_ms)),
        },
    };

    const plotData = (name) => [cols.t, ...PLOTS[name].series.map((s) => cols[s.key])];
    const zoomed = {};

    // A value with no value on either side (a second with requests between idle ones, for
    // latency) has no line to be part of: it is drawn as a dot.
    function isolated(u, si) {
        const ys = u.data[si], idxs = [];
        for (let i = 0; i < ys.length; i++) {
            if (ys[i] !== null && ys[i] !== undefined && (i === 0 || ys[i - 1] === null) && (i === ys.length - 1 || ys[i + 1] === null)) idxs.push(i);
        }
        return idxs.length ? idxs : null;
    }

    function plotWidth(box) { return Math.max(280, box.clientWidth || 460); }

    function makePlots() {
        document.getElementById('plots').hidden = false;
        for (const [name, p] of Object.entries(PLOTS)) {
            const box = document.getElementById('plot-' + name);
            const opts = {
                width: plotWidth(box),
                height: 170,
                cursor: { drag: { x: true, y: false } },
                scales: { y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] } },
                axes: [{ grid: { stroke: '#eee' }, values: (u, splits) => splits.map(clock) },
                    { size: 84, grid: { stroke: '#eee' }, values: (u, splits) => splits.map(p.axis) }],
                series: [{ label: 'time (UTC)', value: (u, v) => (v === null ? '—' : time(v)) }].concat(p.series.map((s) => ({
                    label: s.label, stroke: s.stroke, fill: s.fill, width: 1.5, show: s.show !== false,
                    points: { show: false, size: 5, filter: isolated }, spanGaps: false, value: (u, v) => (v === null || v === undefined ? '—' : p.value(v)),
                }))),
                hooks: { setSelect: [(u) => { if (u.select.width > 0) zoomed[name] = true; }] },
            };
            const u = new uPlot(opts, plotData(name), box);
            u.over.addEventListener('dblclick', () => { zoomed[name] = false; });
            state.plots[name] = u;
        }
        window.addEventListener('resize', () => {
            for (const [name, u] of Object.entries(state.plots)) {
                u.setSize({ width: plotWidth(document.getElementById('plot-' + name)), height: 170 });
            }
        });
    }

    function redrawPlots() {
        for (const [name, u] of Object.entries(state.plots)) u.setData(plotData(name), !zoomed[name]);
        const s = state.lastSample;
        for (const [name, p] of Object.entries(PLOTS)) {
            document.querySelector('#plot-' + name + ' .now').textContent = s ? p.now(s) : '';
        }
    }

    // The whole window from /api/status's series (the first load, a poll, a refill after a reconnect).
    function loadSeries(series) {
        if (!series || !Array.isArray(series.t)) return;
        for (const k of SERIES) {
            const v = series[k];
            cols[k].length = 0;
            for (let i = 0; i < series.t.length; i++) cols[k].push(Array.isArray(v) && v[i] !== undefined ? v[i] : null);
        }
        const n = cols.t.length;
        if (n) {
            const last = {};
            for (const k of SERIES) last[k] = cols[k][n - 1];
            state.lastSample = last;
        }
    }

    // One second, from a tick: appended unless already there; points older than the window go.
    function appendSample(sample) {
        if (!sample || typeof sample.t !== 'number') return;
        const n = cols.t.length;
        if (n && sample.t <= cols.t[n - 1]) return;
        for (const k of SERIES) cols[k].push(sample[k] === undefined ? null : sample[k]);
        let drop = 0;
        while (drop < cols.t.length && cols.t[drop] <= sample.t - WINDOW_S) drop++;
        if (drop) for (const k of SERIES) cols[k].splice(0, drop);
        state.lastSample = sample;
    }

    // ---------------------------------------------------------------------------------------
    // Getting the figures: /api/status, then the event stream or polling.

    function setLive(kind, text) {
        const e = document.getElementById('live');
        e.className = 'live ' + kind;
        e.textContent = text;
    }
    const noPlots = typeof uPlot !== 'function' ? 'the plotting library did not load: tables only. ' : '';
    function showError(text) {
        text = noPlots + (text || '');
        state.error = text;
        const e = document.getElementById('error');
        e.hidden = !text;
        e.textContent = text;
    }

    async function fetchStatus() {
        const r = await fetch('/api/status', { cache: 'no-store', credentials: 'same-origin' });
        if (!r.ok) throw new Error('/api/status answered ' + r.status + ' ' + r.statusText);
        return r.json();
    }

    function applyStatus(s) {
        state.status = s;
        loadSeries(s.series);
        renderTables(s);
        redrawPlots();
    }

    function onTick(msg) {
        state.ticks++;
        state.status = msg;
        appendSample(msg.sample);
        renderTables(msg);
        redrawPlots();
        showError('');
    }

    let pollTimer = null;
    function startPolling(why) {
        if (pollTimer) return;
        state.mode = 'poll';
        setLive('poll', 'polling every ' + POLL_MS / 1000 + ' s (' + why + ')');
        const poll = async () => {
            try {
                applyStatus(await fetchStatus());
                state.polls++;
                showError('');
            } catch (e) {
                showError('cannot read the figures: ' + e.message);
            }
        };
        pollTimer = setInterval(poll, POLL_MS);
    }

    function startEvents() {
        if (typeof EventSource !== 'function') return startPolling('this browser has no EventSource');
        const es = new EventSource('/api/events');
        let refill = false;
        let watchdog = null;
        const giveUp = (why) => {
            clearTimeout(watchdog);
            es.close();
            startPolling(why);
        };
        const armWatchdog = () => {
            clearTimeout(watchdog);
            watchdog = setTimeout(() => giveUp('no event for ' + TICK_WATCHDOG_MS / 1000 + ' s'), TICK_WATCHDOG_MS);
        };
        es.addEventListener('open', async () => {
            state.mode = 'sse';
            setLive('on', 'live (one update a second)');
            armWatchdog();
            if (!refill) return;
            refill = false; // seconds were missed while disconnected: take the window again
            try {
                applyStatus(await fetchStatus());
            } catch (e) {
                showError('cannot read the figures: ' + e.message);
            }
        });
        es.addEventListener('tick', (ev) => {
            armWatchdog();
            let msg;
            try {
                msg = JSON.parse(ev.data);
            } catch (e) {
                return;
            }
            onTick(msg);
        });
        es.addEventListener('error', () => {
            if (es.readyState === EventSource.CLOSED) return giveUp('the event stream was refused');
            clearTimeout(watchdog);
            refill = true;
            state.mode = 'reconnecting';
            setLive('off', 'disconnected: reconnecting…');
        });
    }

    async function start() {
        let s;
        try {
            s = await fetchStatus();
        } catch (e) {
            showError('cannot read the figures (' + e.message + '): the tables are as the page was served');
            setLive('off', 'not live');
            setTimeout(start, 5000);
            return;
        }
        showError('');
        if (!noPlots && !Object.keys(state.plots).length) makePlots();
        applyStatus(s);
        startEvents();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
    else start();
})();
