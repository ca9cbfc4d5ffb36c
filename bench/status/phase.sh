# The status-page rows of `make bench` (issue 16), sourced by bench/run.sh after its HTTP/2 rows
# and before its report; not run on its own. The question: does the live status page cost the
# proxy path anything (issue 16: "costs nothing measurable on the proxy path when nobody is
# watching", and what it costs when somebody is)?
#
# One ferry of its own ("ferry-status": ferry's flags plus --admin-listen on a free port, so the
# timeline, host table and flow ring record as they always do), measured in interleaved rounds
# (BENCH_STATUS_ROUNDS, default 5), in each round three wrk -t1 -c50 runs of BENCH_SECONDS, 1 KiB
# through ferry to the origin, as the plain rows: req/s and ferry's CPU µs per request (/proc,
# user + system, all its threads)
#   unwatched  nobody on the admin listener
#   status     headless Chromium with the status page open and live (/: the plots, one SSE
#              tick a second)
#   flow       the status page and the flow page (/flow: one SSE event per exchange, drawn in
#              batches) open and live
# (tests/integration/status/driver.py watch; ready once the pages' streams are open and a tick
# has come; the browser is started before the run and stopped after it), the order rotated
# each round. Reported: the medians, and each watched kind ÷ unwatched as the median of
# per-round ratios. The browser runs on the same 2 cores as wrk and
# ferry: its CPU (every process of its session) is recorded as a figure of its own, and req/s
# watched includes that competition; ferry's CPU per request is the cleaner measure of what
# the watchers cost ferry itself. ferry_admin_clients (the open SSE streams) is read from
# /metrics halfway through each run: 1 with the status page; with the flow page too, 2, or 1
# while the flow page reads the ring once a second instead of its stream (a flood, see
# web/flow.js).
# Results go to run.sh's results file as proxy "ferry-status", metrics "status_*"; the report's
# section is bench/status/report_section.py. Knobs: BENCH_STATUS (1 in full mode, 0 in
# compare mode; "only": these rows alone), BENCH_STATUS_ROUNDS, CHROMIUM, BENCH_SECONDS.
# shellcheck shell=bash

st_dir=$tmp/status

st_session_ticks() {  # st_session_ticks SID: CPU ticks of every process in session SID
  local f line rest total=0
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest=${line##*) }
    read -ra a <<<"$rest"
    # after "pid (comm) ": state ppid pgrp session ... utime is the 12th field, stime the 13th
    [[ ${a[3]} == "$1" ]] && total=$((total + a[11] + a[12]))
  done
  echo "$total"
}

st_session_kill() {  # st_session_kill SID: SIGKILL to each process left in session SID, by pid
  local f line rest
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest=${line##*) }
    read -ra a <<<"$rest"
    [[ ${a[3]} == "$1" ]] && kill -KILL "${line%% *}" 2>/dev/null
  done
}

st_watch_start() {  # st_watch_start ROUND PAGES: the pages open and live, or a note and return 1
  local r=$1 i out=$tmp/status-watch.out
  start_bg status-watch python3 "$root/tests/integration/status/driver.py" watch "pages=$2" \
    "chromium=$st_chromium" "workdir=$st_dir/browser-$r-$2" "admin=${port[ferry-status-admin]}" hold=3600
  for ((i = 0; i < 600; i++)); do
    grep -q '^ready=1' "$out" 2>/dev/null && break
    if grep -q '^error=' "$out" 2>/dev/null || ! kill -0 "${pid[status-watch]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if ! grep -q '^ready=1' "$out" 2>/dev/null; then
    note "round $r, status page ($2): the browser's pages did not become live within 60 s: $(tail -n 3 "$out" | tr '\n' ' ' | cut -c1-300)"
    st_watch_stop; return 1
  fi
  st_browser=$(awk -F= '/^browser_pid=/ {print $2; exit}' "$out")
  cp "$out" "$st_dir/watch-$r-$2.out" 2>/dev/null
  sleep 1   # the browser's start and the pages' first load are not part of the run
}

st_watch_stop() {  # the browser's CPU goes into retired_ticks (it is this script's, not other load)
  local p=${pid[status-watch]} q keep=() i
  [[ -n ${st_browser:-} ]] && retired_ticks=$((retired_ticks + $(st_session_ticks "$st_browser")))
  retired_ticks=$((retired_ticks + $(cpu_ticks "$p")))
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  [[ -n ${st_browser:-} ]] && st_session_kill "$st_browser"   # what is left of its session (the driver closes it)
  wait "$p" 2>/dev/null
  for q in "${started[@]}"; do [[ $q != "$p" ]] && keep+=("$q"); done
  started=("${keep[@]}")
  st_browser=""
}

st_run() {  # st_run ROUND KIND: one wrk run through ferry-status; KIND unwatched, status or flow
  local r=$1 kind=$2 outf=$tmp/status-$2-$1.txt t0 t1 b0=0 b1=0 rc n rps watchers want
  if ! alive ferry-status; then rec "$r" ferry-status "status_rps_$kind" "$(down ferry-status)"; return; fi
  if [[ $kind != unwatched ]]; then
    if [[ $kind == status ]]; then want=1; else want="1 or 2"; fi
    st_watch_start "$r" "$([[ $kind == status ]] && echo status || echo status,flow)" ||
      { rec "$r" ferry-status "status_rps_$kind" "failed (no browser)"; return; }
    b0=$(st_session_ticks "$st_browser")
  fi
  # The open streams, read halfway through the run (the flow page leaves its stream for
  # once-a-second reads while the flood lasts, and comes back after).
  (sleep "$(awk -v s="$secs" 'BEGIN {print s / 2}')"
   curl -s --max-time 5 "http://127.0.0.1:${port[ferry-status-admin]}/metrics" |
     awk '/^ferry_admin_clients / {print $2; exit}') >"$tmp/status-watchers.txt" 2>/dev/null &
  local sampler=$!
  t0=$(cpu_ticks "${pid[ferry-status]}")
  wrk_run ferry-status 50 "$secs" "$outf"; rc=$?
  t1=$(cpu_ticks "${pid[ferry-status]}")
  wait "$sampler"
  if [[ $kind != unwatched ]]; then
    b1=$(st_session_ticks "$st_browser")
    watchers=$(<"$tmp/status-watchers.txt")
    rec "$r" ferry-status "status_watchers_$kind" "${watchers:-none}"
    rec "$r" ferry-status "status_browser_cpu_$kind" "$(awk -v d=$((b1 - b0)) -v hz="$clk_tck" -v s="$secs" 'BEGIN {printf "%.0f", d * 100 / hz / s}')"
    [[ " ${want/ or / } " == *" ${watchers:-none} "* ]] ||
      note "round $r, status page ($kind): ferry_admin_clients was '${watchers:-none}' at the end of the run ($want expected)"
    st_watch_stop
  fi
  if ! n=$(wrk_check ferry-status "$r" "$outf" "$rc"); then
    rec "$r" ferry-status "status_rps_$kind" failed; rec "$r" ferry-status "status_cpu_$kind" failed; return
  fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$outf")
  rec "$r" ferry-status "status_rps_$kind" "$rps"
  rec "$r" ferry-status "status_cpu_$kind" "$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v n="$n" 'BEGIN {printf "%.2f", d * 1e6 / hz / n}')"
  log "status round $r  $kind: $rps req/s"
}

status_phase() {
  local t_phase=$SECONDS r mark kinds kind st_rounds=${BENCH_STATUS_ROUNDS:-5} sp ap
  [[ $st_rounds =~ ^[1-9][0-9]?$ ]] || { note "BENCH_STATUS_ROUNDS must be 1-99 (got '$st_rounds'): 5 used"; st_rounds=5; }
  st_chromium=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
  mkdir -p "$st_dir"
  if [[ ! -x $st_chromium ]]; then
    note "status page rows: not measured, no Chromium (Debian package chromium)"; return
  fi
  read -r sp ap <<<"$(free_ports 2)"
  port[ferry-status]=$sp
  port[ferry-status-admin]=$ap
  start_bg ferry-status "$ferry_bin" --listen "127.0.0.1:${port[ferry-status]}" \
    --admin-listen "127.0.0.1:$ap" "${ferry_flags[@]}"
  if ! wait_ready ferry-status; then note "status page rows: ferry-status ${status[ferry-status]}: $(tail -n 2 "$tmp/ferry-status.out" | tr '\n' ' ')"; return; fi
  if ! curl -s --max-time 5 "http://127.0.0.1:$ap/api/status" | grep -q '"series"'; then
    note "status page rows: not measured, this ferry has no /api/status on its admin listener"; return
  fi
  wrk_run ferry-status 50 1 "$tmp/status-warmup.txt"
  for ((r = 1; r <= st_rounds; r++)); do
    mark=$(load_mark)
    kinds=(unwatched status flow)
    kinds=("${kinds[@]:$(( (r - 1) % 3 ))}" "${kinds[@]:0:$(( (r - 1) % 3 ))}")   # rotated each round
    log "status round $r: ${kinds[*]}"
    for kind in "${kinds[@]}"; do st_run "$r" "$kind"; sleep 0.5; done
    rec "$r" machine status_other "$(other_load "$mark")"
    status_rounds_done=$r
  done
  log "status page phase: $status_rounds_done rounds in $((SECONDS - t_phase))s"
}
