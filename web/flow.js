// ferry's flow log, live. Without this script the page is the exchanges the server rendered
// (<pre class="flow-block" data-seq data-client data-host data-status data-method>, oldest
// first). With it: those blocks are kept, new ones come from /api/flow/events (Server-Sent
// Events, `id:` = the exchange's sequence number) and are added at the bottom, the page
// following them while it is scrolled to the bottom. Every (re)connection first catches up
// with /api/flow?after=<the last shown>, so nothing between the page and the stream is lost;
// while that runs, events wait. Filters hide blocks (client, host, status, method; all must
// match); Pause stops adding (counting what comes), Resume catches up from the ring; at most
// MAX_BLOCKS blocks stay in the page, the oldest go. No EventSource, or a refused stream:
// /api/flow?after= every 2 s. A flood (over FLOOD_RATE a second): the newest from the ring once
// a second, until it calms down.
// Tests read window.ferryFlow: {mode, cursor, received, paused, missed, rate, skipped}.
(function () {
    'use strict';

    const MAX_BLOCKS = 1000;
    const POLL_MS = 2000;
    const FLOOD_RATE = 200;

    const box = document.getElementById('flow');
    const form = document.getElementById('filters');
    const pauseButton = document.getElementById('pause');
    const state = { mode: 'starting', cursor: 0, received: 0, paused: false, missed: 0, error: '', rate: 0, skipped: 0 };
    window.ferryFlow = state;

    // ---------------------------------------------------------------------------------------
    // Filters: pure functions of a block's data-* attributes and the form's text.

    // "127.0.0.1:5555" or "[::1]:5555" -> the address alone.
    function clientAddress(client) {
        const m = /^\[([^\]]*)\](?::\d+)?$/.exec(client) || /^([^:]*)(?::\d+)?$/.exec(client);
        return m ? m[1] : client;
    }
    // client: an address, an address:port, or a prefix that ends in "." or ":" (10.1.).
    function clientMatches(filter, client) {
        const f = filter.replace(/^\[|\](?=:|$)/g, '');
        const c = client.replace(/^\[|\](?=:|$)/g, '');
        if (f === c || f === clientAddress(client)) return true;
        return /[.:]$/.test(f) && c.startsWith(f);
    }
    // status: terms separated by commas or spaces, each a code (200), a class (4xx) or 000
    // (no answer); a block matches any term. Terms that are none of these are reported invalid.
    function parseStatus(text) {
        const terms = [], bad = [];
        for (const t of text.toLowerCase().split(/[\s,]+/).filter(Boolean)) {
            if (/^[1-5]xx$/.test(t)) terms.push({ cls: t[0] });
            else if (/^\d{3}$/.test(t) || t === '0') terms.push({ code: Number(t) });
            else bad.push(t);
        }
        return { terms, bad };
    }
    function statusMatches(terms, status) {
        return terms.some((t) => (t.cls !== undefined
            ? status >= 100 && String(status)[0] === t.cls : status === t.code));
    }

    let filters = {};
    function readFilters() {
        const v = (name) => form.elements[name].value.trim();
        const status = parseStatus(v('status'));
        form.elements.status.setCustomValidity(status.bad.length ? 'not a status: ' + status.bad.join(', ') : '');
        filters = {
            client: v('client'),
            host: v('host').toLowerCase(),
            status: status.terms,
            methods: v('method').toUpperCase().split(/[\s,]+/).filter(Boolean),
        };
    }
    function matches(el) {
        const d = el.dataset;
        if (filters.client && !clientMatches(filters.client, d.client || '')) return false;
        if (filters.host && !(d.host || '').toLowerCase().includes(filters.host)) return false;
        if (filters.status.length && !statusMatches(filters.status, Number(d.status))) return false;
        if (filters.methods.length && !filters.methods.includes((d.method || '').toUpperCase())) return false;
        return true;
    }
    function applyFilters() {
        readFilters();
        for (const el of box.querySelectorAll('pre.flow-block')) el.hidden = !matches(el);
        // The filters go into the address, so that a filtered view can be bookmarked or shared.
        const q = new URLSearchParams();
        for (const name of ['client', 'host', 'status', 'method']) {
            const value = form.elements[name].value.trim();
            if (value) q.set(name, value);
        }
        const s = q.toString();
        history.replaceState(null, '', s ? '?' + s : location.pathname);
        showCounts();
    }

    // ---------------------------------------------------------------------------------------
    // Blocks.

    function showCounts() {
        const all = box.querySelectorAll('pre.flow-block').length;
        const shown = box.querySelectorAll('pre.flow-block:not([hidden])').length;
        let text = shown === all ? all + ' exchanges' : shown + ' of ' + all + ' exchanges shown';
        if (state.paused) text += ' · paused, ' + state.missed + ' new';
        document.getElementById('flow-counts').textContent = text;
        pauseButton.textContent = state.paused ? 'Resume' + (state.missed ? ' (' + state.missed + ' new)' : '') : 'Pause';
    }

    const stamp = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
    function makeBlock(e) {
        const pre = document.createElement('pre');
        pre.className = 'flow-block fresh';
        pre.dataset.seq = e.seq;
        pre.dataset.client = e.client;
        pre.dataset.host = e.host;
        pre.dataset.status = e.status;
        pre.dataset.method = e.method;
        pre.dataset.user = e.user || '';
        pre.dataset.label = stamp(e.time) + '  ' + e.client + (e.user ? '  user ' + e.user : '');
        pre.textContent = e.block;
        return pre;
    }
    const atBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;

    // Adds the exchanges (oldest first) that are newer than the last shown. Under a flood (a
    // busy proxy sends thousands a second) only the last MAX_BLOCKS of a batch become blocks.
    function add(exchanges) {
        const list = [];
        let last = state.cursor;
        for (const e of exchanges) {
            if (typeof e.seq !== 'number' || e.seq <= last) continue;
            list.push(e);
            last = e.seq;
        }
        if (!list.length) return;
        const follow = atBottom();
        const kept = list.slice(-MAX_BLOCKS);
        let prev = list.length > kept.length ? kept[0].seq - 1 : state.cursor;
        for (const e of kept) {
            if (state.resuming && prev && e.seq > prev + 1) {
                const gap = document.createElement('p');
                gap.className = 'note gap';
                gap.textContent = '… ' + (e.seq - prev - 1) + ' exchanges left the ring before they could be shown';
                box.append(gap);
            }
            prev = e.seq;
            const el = makeBlock(e);
            el.hidden = !matches(el);
            box.append(el);
        }
        state.cursor = last;
        state.received += list.length;
        while (box.children.length > MAX_BLOCKS) box.firstElementChild.remove();
        if (follow) window.scrollTo(0, document.documentElement.scrollHeight);
        showCounts();
    }

    // Events are drawn in batches, at most ten a second: one layout per batch, not per exchange.
    let queue = [];
    let flushTimer = null;
    function enqueue(list) {
        queue.push(...list);
        if (!flushTimer) flushTimer = setTimeout(flush, 100);
    }
    function flush() {
        clearTimeout(flushTimer);
        flushTimer = null;
        const batch = queue;
        queue = [];
        add(batch);
    }

    // The server's blocks become the first ones: sorted by sequence, the cursor at the last.
    function adoptServerBlocks() {
        const blocks = Array.from(box.querySelectorAll('pre.flow-block'))
            .sort((a, b) => Number(a.dataset.seq) - Number(b.dataset.seq));
        box.textContent = '';
        for (const b of blocks.slice(-MAX_BLOCKS)) {
            box.append(b);
            state.cursor = Math.max(state.cursor, Number(b.dataset.seq) || 0);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The stream, catching up, pause.

    function setLive(kind, text) {
        const e = document.getElementById('live');
        e.className = 'live ' + kind;
        e.textContent = text;
    }

    let catchingUp = null; // the promise of a catch-up in flight
    let waiting = []; // events that came during it
    async function catchUp() {
        if (catchingUp) return catchingUp;
        catchingUp = (async () => {
            try {
                const r = await fetch('/api/flow?after=' + state.cursor, { cache: 'no-store', credentials: 'same-origin' });
                if (!r.ok) throw new Error('/api/flow answered ' + r.status);
                const body = await r.json();
                if (typeof body.next === 'number' && body.next < state.cursor) {
                    // ferry restarted: its sequence numbers start again from 1.
                    state.cursor = 0;
                    const note = document.createElement('p');
                    note.className = 'note gap';
                    note.textContent = '… ferry restarted: the exchanges below are from its new run';
                    box.append(note);
                }
                const list = body.exchanges || [];
                if (state.mode === 'flood') {
                    arrived += list.filter((e) => e.seq > state.cursor).length;
                    if (list.length && state.cursor && list[0].seq > state.cursor + 1) state.skipped += list[0].seq - state.cursor - 1;
                }
                if (!state.paused) {
                    flush(); // what the stream brought before this answer, then the answer
                    add(list);
                }
                state.error = '';
            } catch (e) {
                state.error = e.message;
                setLive('off', 'cannot read the flow: ' + e.message);
            } finally {
                catchingUp = null;
                state.resuming = false;
                const later = waiting;
                waiting = [];
                onExchanges(later);
            }
        })();
        return catchingUp;
    }

    function onExchanges(list) {
        if (!list.length) return;
        if (state.paused) {
            state.missed += list.filter((e) => e.seq > state.cursor).length;
            showCounts();
        } else if (catchingUp) {
            waiting.push(...list);
        } else {
            enqueue(list);
        }
    }

    let pollTimer = null;
    function startPolling(why) {
        if (pollTimer) return;
        state.mode = 'poll';
        setLive('poll', 'polling every ' + POLL_MS / 1000 + ' s (' + why + ')');
        const poll = () => { if (!state.paused) catchUp(); };
        poll();
        pollTimer = setInterval(poll, POLL_MS);
    }

    // A flood (more than FLOOD_RATE exchanges a second) is not followed event by event: nobody
    // reads thousands of blocks a second, and an event each costs ferry a JSON line per watcher
    // and the browser a task. The page closes the stream and takes the newest from the ring once
    // a second instead (at most the ring's size, and it keeps 1,000), saying how many went by
    // unshown; when a second brings fewer than FLOOD_RATE / 2, it goes back to the stream.
    let es = null;
    let arrived = 0; // exchanges that came in the current second
    let floodTimer = null;
    function floodCheck() {
        const rate = arrived;
        arrived = 0;
        state.rate = rate;
        if (state.mode === 'sse' && rate > FLOOD_RATE) {
            es.close();
            es = null;
            state.mode = 'flood';
        } else if (state.mode === 'flood' && rate < FLOOD_RATE / 2 && !state.paused) {
            startEvents();
            return;
        }
        if (state.mode === 'flood') {
            setLive('poll', 'busy: ' + rate + ' exchanges/s, the newest shown once a second (' + state.skipped + ' not shown)');
            if (!state.paused) catchUp();
        }
    }

    function startEvents() {
        if (typeof EventSource !== 'function') return startPolling('this browser has no EventSource');
        if (!floodTimer) floodTimer = setInterval(floodCheck, 1000);
        const source = new EventSource('/api/flow/events');
        es = source;
        source.addEventListener('open', () => {
            state.mode = 'sse';
            setLive('on', 'live');
            catchUp();
        });
        source.addEventListener('exchange', (ev) => {
            arrived++;
            let e;
            try {
                e = JSON.parse(ev.data);
            } catch (err) {
                return;
            }
            onExchanges([e]);
        });
        source.addEventListener('error', () => {
            if (source !== es) return;
            if (source.readyState === EventSource.CLOSED) {
                source.close();
                clearInterval(floodTimer);
                startPolling('the event stream was refused');
                return;
            }
            state.mode = 'reconnecting';
            setLive('off', 'disconnected: reconnecting…');
        });
    }

    function togglePause() {
        state.paused = !state.paused;
        if (state.paused) {
            state.missed = 0;
        } else {
            state.resuming = true; // a jump in sequence numbers now means the ring moved on
            state.missed = 0;
            catchUp();
        }
        showCounts();
    }

    function start() {
        const q = new URLSearchParams(location.search);
        for (const name of ['client', 'host', 'status', 'method']) {
            if (q.has(name)) form.elements[name].value = q.get(name);
        }
        form.hidden = false;
        adoptServerBlocks();
        applyFilters();
        form.addEventListener('input', applyFilters);
        form.addEventListener('submit', (ev) => ev.preventDefault());
        pauseButton.addEventListener('click', togglePause);
        document.getElementById('clear').addEventListener('click', () => {
            box.textContent = '';
            showCounts();
        });
        startEvents();
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
    else start();
})();
