# The HTTP/2 rows of `make bench` (issue 15), sourced by bench/run.sh after its TLS rows and
# before its report; not run on its own. Every proxy with an HTTP/2 front end on a TLS listener:
#   ferry    --listen https://127.0.0.1:P --tls-cert ... --tls-key ... (ALPN h2 and http/1.1)
#   HAProxy  bind ... ssl crt ... alpn h2,http/1.1, the dynamic forward proxy of haproxy.cfg.in
#            (bench/conf/haproxy-h2.cfg.in; no CONNECT in that mode)
#   Apache   Protocols h2 http/1.1, ProxyRequests On, H2ProxyRequests On, mod_proxy_connect
#            (bench/conf/apache-h2.conf.in)
#   nghttpx  --http2-proxy -n 2 (two worker threads: ferry and HAProxy use both cores too) in
#            front of a backend HTTP/1.1 forward proxy: a second ferry on a plain listener (the
#            fastest HTTP/1 proxy here, so the row shows nghttpx at its best; BENCH_H2_NGHTTPX_BACKEND
#            =squid puts Squid there instead); CPU counts nghttpx and its backend together
# each as its own process on a free port of 127.0.0.1, with the TLS rows' throwaway CA and EC
# P-256 certificate (made here when BENCH_TLS=0). The client is bench/h2/h2load_proxy.c, built
# here (cc ... -lnghttp2 -lssl -lcrypto): one thread, epoll, the same for every proxy. In
# interleaved rounds, the order rotated each round:
#   1. 1 KiB GETs (:scheme http, :authority the origin) on 10 connections x 100 streams in
#      flight, BENCH_SECONDS (BENCH_SLOW_SECONDS for Apache): requests/s and the proxy's CPU µs
#      per request (/proc, user + system, the processes and their children)
#   2. 10 CONNECT streams on one HTTP/2 connection, each an HTTP/1.1 GET of the big file
#      (BENCH_BIG_MB) inside its tunnel, through ferry and Apache; and the same through ferry
#      as 10 HTTP/1.1 CONNECT tunnels over 10 TLS connections (ALPN http/1.1): MB/s in total,
#      and the proxy's CPU s per GiB; and through ferry one CONNECT stream against one HTTP/1.1
#      CONNECT tunnel (what one connection carries: 10 streams share one TLS connection and one
#      worker, 10 HTTP/1.1 tunnels spread over both)
#   3. page load (bench/h2/page_load.py): Chromium headless through ferry's TLS listener, with
#      HTTP/2 (ferry as above) and with HTTP/1.1 (a second ferry with --http2 off), a page of
#      100 scripts in its head (BENCH_H2_PAGE_KIND=img: 100 images, which Chromium throttles
#      itself; see page_load.py) from an origin that answers each request after 20 ms; BENCH_H2_LOADS loads
#      (default 3) each, the median: the ratio h2 ÷ h1 per round. Chromium trusts the proxy's
#      certificate by its key hash (--ignore-certificate-errors-spki-list), not by a CA.
# Once per run, after the rounds: 4. BENCH_H2_IDLE (default 2,000) idle HTTP/2 connections after
# one 1 KiB GET each, through fresh ferry and HAProxy processes (warmed by one second of 10
# streams; a process that has just served 1,000 streams keeps that memory in its pools and
# reads ~0): RSS growth per connection, read once it has held still for 1 s.
# Results go to run.sh's results file as proxy "<name>-h2" (and "ferry-h1page"), metrics "h2_*";
# report.py makes the HTTP/2 section from them. A peer that is missing or fails to start is a
# row saying why.
#
# Knobs: BENCH_H2 (1 in full mode, 0 in compare mode; "only" skips the plain and TLS rows),
# BENCH_H2_PEERS ("haproxy apache nghttpx"), BENCH_H2_DEADLINE (480: no HTTP/2 round starts
# unless it is expected to end this many seconds after the phase began), BENCH_H2_STOP (600:
# the idle scenario is skipped past it), BENCH_H2_IDLE, BENCH_H2_LOADS, BENCH_H2_PAGE_KIND,
# BENCH_H2_NGHTTPX_BACKEND, CHROMIUM (the browser's path);
# BENCH_ROUNDS, BENCH_SECONDS, BENCH_SLOW_SECONDS, BENCH_BIG_MB as for the other rows.
# shellcheck shell=bash

h2_dir=$tmp/h2
h2_client=""
declare -A h2_prog=([haproxy]=haproxy [apache]=apache2 [nghttpx]=nghttpx)
h2_streams=100
h2_conns=10
h2_tunnels=10

h2_ticks() {  # h2_ticks TAG: CPU ticks of the processes that count for TAG
  local pids=("${pid[$1]}")
  [[ $1 == nghttpx-h2 && -n ${pid[nghttpx-backend]:-} ]] && pids+=("${pid[nghttpx-backend]}")
  cpu_ticks "${pids[@]}"
}

h2_units() {  # h2_units TICKS COUNT SCALE: CPU time per unit (SCALE 1e6: µs)
  awk -v d="$1" -v hz="$clk_tck" -v n="$2" -v s="$3" 'BEGIN {printf "%.2f", d * s / hz / n}'
}

h2_build_client() {  # builds bench/h2/h2load_proxy.c; sets h2_client
  local out=$h2_dir/h2load_proxy cc=${CC:-cc}
  if ! command -v "$cc" >/dev/null 2>&1; then
    note "HTTP/2 rows: no C compiler ($cc) to build bench/h2/h2load_proxy.c"; return 1
  fi
  if "$cc" -O2 -Wall -o "$out" "$here/h2/h2load_proxy.c" -lnghttp2 -lssl -lcrypto >"$h2_dir/cc.out" 2>&1; then
    h2_client=$out
  else
    note "HTTP/2 rows: bench/h2/h2load_proxy.c did not build (libnghttp2-dev, libssl-dev?): $(head -n 2 "$h2_dir/cc.out" | tr '\n' ' ')"
    return 1
  fi
}

h2_start() {  # h2_start NAME [TAG [PORT]]: start NAME's HTTP/2 proxy as TAG (default NAME-h2)
  local name=$1 tag=${2:-$1-h2} dir
  dir=$tmp/$tag
  if [[ $name != ferry* ]] && ! command -v "${h2_prog[$name]}" >/dev/null 2>&1; then
    status[$tag]="not installed"; return
  fi
  mkdir -p "$dir"
  case $name in
    # A pool as large as the streams in flight (10 × 100): HAProxy's config reuses without a
    # limit (http-reuse always, pool-max-conn -1); ferry's default keeps 32 idle per host.
    ferry) start_bg "$tag" "$ferry_bin" --listen "https://127.0.0.1:${port[$tag]}" \
             --tls-cert "$tls_dir/proxy.pem" --tls-key "$tls_dir/proxy.key" \
             --pool-per-host 1024 --pool-total 4096 "${ferry_flags[@]}" ;;
    ferry-h1) start_bg "$tag" "$ferry_bin" --listen "https://127.0.0.1:${port[$tag]}" \
                --tls-cert "$tls_dir/proxy.pem" --tls-key "$tls_dir/proxy.key" --http2 off "${ferry_flags[@]}" ;;
    haproxy) render haproxy-h2.cfg.in "$dir/haproxy.cfg" "$dir" "${port[$tag]}"
             sed -i "s|@TLS@|$tls_dir|g" "$dir/haproxy.cfg"
             start_bg "$tag" haproxy -db -f "$dir/haproxy.cfg" ;;
    apache) render apache-h2.conf.in "$dir/apache.conf" "$dir" "${port[$tag]}"
            local user=""
            [[ $(id -u) -eq 0 ]] && user="User www-data\nGroup www-data"
            sed -i -e "s|@TLS@|$tls_dir|g" -e "s|@APACHE_USER@|$user|" "$dir/apache.conf"
            start_bg "$tag" apache2 -f "$dir/apache.conf" -DFOREGROUND ;;
    nghttpx)
      local backend=${BENCH_H2_NGHTTPX_BACKEND:-ferry}
      case $backend in
        ferry) start_bg nghttpx-backend "$ferry_bin" --listen "127.0.0.1:${port[nghttpx-backend]}" "${ferry_flags[@]}" ;;
        squid) if ! command -v squid >/dev/null 2>&1; then status[$tag]="not measured (no squid for its backend)"; return; fi
               mkdir -p "$tmp/nghttpx-backend"
               render squid.conf.in "$tmp/nghttpx-backend/squid.conf" "$tmp/nghttpx-backend" "${port[nghttpx-backend]}"
               chmod 777 "$tmp/nghttpx-backend"
               start_bg nghttpx-backend squid -N -f "$tmp/nghttpx-backend/squid.conf" ;;
        *) status[$tag]="not measured (BENCH_H2_NGHTTPX_BACKEND is ferry or squid, got '$backend')"; return ;;
      esac
      if ! wait_ready nghttpx-backend; then
        status[$tag]="failed (its backend $backend: ${status[nghttpx-backend]})"; return
      fi
      # --conf /dev/null: nothing from /etc/nghttpx; no OCSP fetch (a throwaway certificate).
      start_bg "$tag" nghttpx --conf=/dev/null --http2-proxy -n 2 --no-ocsp \
        "--frontend=127.0.0.1,${port[$tag]}" "--backend=127.0.0.1,${port[nghttpx-backend]}" \
        "--errorlog-file=$dir/error.log" "$tls_dir/proxy.key" "$tls_dir/proxy.pem" ;;
  esac
}

h2_get() {  # h2_get TAG CONNS STREAMS SECONDS OUTFILE: the client in get mode
  for_generator timeout -k 2 $(($4 + 30)) "$h2_client" "${port[$1]}" --authority "127.0.0.1:${port[origin]}" \
    --path /1k.bin --size 1024 --conns "$2" --streams "$3" --seconds "$4" >"$5" 2>&1
}

declare -A h2_broken   # TAG -> why its HTTP/2 does not work (it may still be up: ferry's HTTP/1.1 CONNECT)
h2_check() {  # h2_check TAG: listening (else status says why) and answering HTTP/2 GETs (else h2_broken)
  local tag=$1 outf=$tmp/h2-check-$1.txt why
  [[ ${status[$tag]:-} == "not installed" ]] && { note "$tag: not installed (scripts/install-deps.sh --bench)"; return; }
  [[ -n ${status[$tag]:-} ]] && { note "$tag: ${status[$tag]}"; return; }
  if wait_ready "$tag"; then
    h2_get "$tag" 1 10 1 "$outf"
    if ! grep -q '^requests=[1-9]' "$outf"; then
      why=$(grep -m1 -o 'first: .*' "$outf" | cut -c8- | cut -c1-100)
      h2_broken[$tag]="failed (${why:-no HTTP/2 GET answered})"
    fi
  fi
  local what=${status[$tag]:-${h2_broken[$tag]:-}}
  [[ -n $what ]] &&
    note "$tag: $what: $(tail -n 3 "$tmp/$tag.out" "$tmp/$tag/error.log" 2>/dev/null | grep -v '^==' | tr '\n' ' ' | cut -c1-300)"
}
h2_up() {  # h2_up TAG: alive and speaking HTTP/2; otherwise prints the cell that says why
  if ! alive "$1"; then down "$1"; return 1; fi
  [[ -z ${h2_broken[$1]:-} ]] || { echo "${h2_broken[$1]}"; return 1; }
}

h2_secs() { if [[ $1 == apache-h2 ]]; then echo "$slow_secs"; else echo "$secs"; fi; }

h2_requests() {  # scenario 1
  local tag=$1 r=$2 outf=$tmp/h2-get-$1-$2.txt t0 t1 line kv
  local -A f
  local why
  if ! why=$(h2_up "$tag"); then rec "$r" "$tag" h2_rps "$why"; rec "$r" "$tag" h2_cpu "$why"; return; fi
  t0=$(h2_ticks "$tag")
  h2_get "$tag" "$h2_conns" "$h2_streams" "$(h2_secs "$tag")" "$outf"
  t1=$(h2_ticks "$tag")
  line=$(grep -m1 '^requests=' "$outf")
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  if [[ -z ${f[requests]:-} || ${f[requests]} == 0 ]]; then
    rec "$r" "$tag" h2_rps failed; rec "$r" "$tag" h2_cpu failed
    note "round $r, $tag, HTTP/2 GETs: $(tail -n 2 "$outf" | tr '\n' ' ' | cut -c1-300)"; return
  fi
  (( f[errors] > 0 )) && note "round $r, $tag, HTTP/2 GETs: ${f[errors]} failed; $(grep -m1 "^errors:" "$outf" | cut -c1-300)"
  rec "$r" "$tag" h2_rps "${f[rate]}"
  rec "$r" "$tag" h2_cpu "$(h2_units $((t1 - t0)) "${f[total]}" 1e6)"
  log "round $r  $tag  ${h2_conns}x${h2_streams} streams: ${f[rate]} req/s"
}

h2_tunnel() {  # scenario 2: h2_tunnel TAG ROUND METRIC COUNT [--h1]
  local tag=$1 r=$2 metric=$3 count=$4 outf=$tmp/h2-tunnel-$1-$2-$3.txt t0 t1 line kv; shift 4
  local -A f
  local why
  if [[ $metric == h1_tunnel* ]] && ! alive "$tag"; then rec "$r" "$tag" "$metric" "$(down "$tag")"; return; fi
  if [[ $metric != h1_tunnel* ]] && ! why=$(h2_up "$tag"); then rec "$r" "$tag" "$metric" "$why"; return; fi
  t0=$(h2_ticks "$tag")
  for_generator timeout -k 2 $((big_timeout * 2)) "$h2_client" "${port[$tag]}" --authority "127.0.0.1:${port[origin]}" \
    --path /big.bin --size "$big_bytes" --connect --streams "$count" --time-limit $((big_timeout * 2 - 5)) "$@" \
    >"$outf" 2>&1
  t1=$(h2_ticks "$tag")
  line=$(grep -m1 '^tunnels=' "$outf")
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  if [[ ${f[tunnels]:-0} != "$count" ]]; then
    rec "$r" "$tag" "$metric" failed
    note "round $r, $tag, $metric: ${f[tunnels]:-0} of $count tunnels: $(tail -n 2 "$outf" | tr '\n' ' ' | cut -c1-300)"
    return
  fi
  rec "$r" "$tag" "$metric" "${f[mbps]}"
  rec "$r" "$tag" "${metric}_cpu" "$(h2_units $((t1 - t0)) $((count * big_mb)) 1024)"
  log "round $r  $tag  $metric: ${f[mbps]} MB/s"
}

h2_page() {  # scenario 3: h2_page TAG ROUND
  local tag=$1 r=$2 outf=$tmp/h2-page-$1-$2.txt line kv
  local -A f
  local why
  if ! why=$(h2_up "$tag"); then rec "$r" "$tag" h2_page "$why"; return; fi
  [[ -n $h2_spki ]] || { rec "$r" "$tag" h2_page "not measured (no key hash)"; return; }
  timeout -k 2 $((40 * h2_loads + 20)) python3 "$here/h2/page_load.py" --proxy-port "${port[$tag]}" --spki "$h2_spki" \
    --loads "$h2_loads" --resources 100 --delay-ms 20 --kind "${BENCH_H2_PAGE_KIND:-script}" --chromium "$h2_chromium" --time-limit 40 --workdir "$h2_dir" \
    >"$outf" 2>&1
  line=$(grep -m1 '^loads=' "$outf")
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  if [[ -z ${f[median]:-} ]]; then
    rec "$r" "$tag" h2_page failed
    note "round $r, $tag, page load: $(tail -n 2 "$outf" | tr '\n' ' ' | cut -c1-300)"; return
  fi
  grep -q '^error:' "$outf" && note "round $r, $tag, page load: $(grep -c '^error:' "$outf") of $h2_loads loads failed: $(grep -m1 '^error:' "$outf" | cut -c1-200)"
  rec "$r" "$tag" h2_page "${f[median]}"
  rec "$r" "$tag" h2_page_full "${f[median_full]}"
  log "round $r  $tag  page load: ${f[median]} ms (${f[ms]}), with the page ${f[median_full]} ms"
}

h2_idle() {  # scenario 4, once per run: a fresh process of NAME
  local name=$1 tag=$1-h2-idle outf line kv
  local -A f
  outf=$tmp/h2-idle-$name.txt
  port[$tag]=$(free_ports 1)
  status[$tag]=""
  h2_start "$name" "$tag"
  if [[ -n ${status[$tag]:-} ]] || ! wait_ready "$tag"; then
    rec 0 "$name-h2" h2_idle "${status[$tag]}"; return
  fi
  h2_get "$tag" 1 10 1 "$tmp/h2-idle-warmup-$name.txt"
  sleep 0.5
  for_generator timeout -k 2 120 "$h2_client" "${port[$tag]}" --authority "127.0.0.1:${port[origin]}" --path /1k.bin \
    --size 1024 --idle "$h2_idle_conns" --concurrency 50 --time-limit 100 --hold 1 --settle 1 --pid "${pid[$tag]}" \
    >"$outf" 2>&1
  line=$(grep -m1 '^ok=' "$outf")
  for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
  if [[ -z ${f[ok]:-} ]]; then
    rec 0 "$name-h2" h2_idle failed; note "HTTP/2 idle, $name: $(tail -n 2 "$outf" | tr '\n' ' ' | cut -c1-300)"
  elif (( f[ok] == 0 )); then
    rec 0 "$name-h2" h2_idle "failed ($(grep -m1 -o 'first: .*' "$outf" | cut -c8- | cut -c1-100))"
  elif (( f[still_open] == h2_idle_conns )); then
    rec 0 "$name-h2" h2_idle "${f[rss_per_conn_b]}"
    rec 0 "$name-h2" h2_idle_total "${f[rss_after_kb]}"
  else
    rec 0 "$name-h2" h2_idle "only ${f[still_open]} of $h2_idle_conns kept (${f[rss_per_conn_b]} B each)"
  fi
  note "HTTP/2 idle, $name (fresh process): $line $(grep -m1 '^errors:' "$outf" | cut -c1-200)"
  log "HTTP/2 idle  $name: ${f[rss_per_conn_b]:-failed} B per connection (${f[still_open]:-0} of $h2_idle_conns open)"
  retire "$tag"
}

h2_phase() {
  local t_phase=$SECONDS name tag r i n round_time=0 t_start mark rounds_done=0
  local -a h2_names=(ferry) order
  h2_loads=${BENCH_H2_LOADS:-3}
  h2_idle_conns=${BENCH_H2_IDLE:-2000}
  [[ $h2_loads =~ ^[1-9][0-9]?$ ]] || { note "BENCH_H2_LOADS must be 1-99 (got '$h2_loads'): 3 used"; h2_loads=3; }
  [[ $h2_idle_conns =~ ^[1-9][0-9]*$ ]] && (( h2_idle_conns <= 9000 )) ||
    { note "BENCH_H2_IDLE must be 1-9000 (got '$h2_idle_conns'): 2000 used"; h2_idle_conns=2000; }
  read -ra more <<<"${BENCH_H2_PEERS:-haproxy apache nghttpx}"
  for name in "${more[@]}"; do
    [[ -n ${h2_prog[$name]:-} ]] || { note "BENCH_H2_PEERS: unknown '$name' (known: haproxy apache nghttpx): skipped"; continue; }
    h2_names+=("$name")
  done
  mkdir -p "$h2_dir"
  if [[ ! -s ${tls_dir:-/nonexistent}/proxy.pem ]]; then
    # shellcheck source=bench/tls/phase.sh
    [[ $(type -t tls_make_certs) == function ]] || source "$here/tls/phase.sh"
    if ! command -v openssl >/dev/null 2>&1 || ! tls_make_certs; then
      note "HTTP/2 rows: skipped, openssl could not make the certificates"; return
    fi
  fi
  h2_build_client || return
  h2_spki=$(openssl x509 -in "$tls_dir/proxy.pem" -pubkey -noout | openssl pkey -pubin -outform der |
            openssl dgst -sha256 -binary | base64)
  h2_chromium=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
  local page=1
  if [[ ! -x $h2_chromium ]]; then
    page=""; note "HTTP/2 page load: not measured, no Chromium (Debian package chromium)"
  fi

  read -ra ports_h2 <<<"$(free_ports $((${#h2_names[@]} + 2)))"
  port[nghttpx-backend]=${ports_h2[${#h2_names[@]}]}
  port[ferry-h1page]=${ports_h2[${#h2_names[@]} + 1]}
  for ((i = 0; i < ${#h2_names[@]}; i++)); do
    port[${h2_names[i]}-h2]=${ports_h2[i]}
    h2_start "${h2_names[i]}"
  done
  [[ -n $page ]] && h2_start ferry-h1 ferry-h1page
  for name in "${h2_names[@]}"; do h2_check "$name-h2"; done
  if [[ -n $page ]] && wait_ready ferry-h1page; then
    local code
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' --proxy "https://127.0.0.1:${port[ferry-h1page]}" \
      --proxy-cacert "$tls_dir/ca.pem" "http://127.0.0.1:${port[origin]}/1k.bin")
    [[ $code == 200 ]] || status[ferry-h1page]="failed (answered ${code:-nothing} to a 1 KiB GET over TLS)"
  fi
  [[ -n $page && -n ${status[ferry-h1page]:-} ]] &&
    note "ferry --http2 off (page load over HTTP/1.1): ${status[ferry-h1page]}: $(tail -n 2 "$tmp/ferry-h1page.out" | tr '\n' ' ' | cut -c1-200)"
  for name in "${h2_names[@]}"; do
    alive "$name-h2" && h2_get "$name-h2" 2 20 1 "$tmp/h2-warmup-$name.txt"
  done

  # Who tunnels: ferry (HTTP/2 and HTTP/1.1 CONNECT) and Apache. HAProxy forwards no CONNECT in
  # this mode; nghttpx hands CONNECT to its backend, not measured (time).
  for ((r = 1; r <= rounds; r++)); do
    if (( SECONDS - t_phase + round_time > ${BENCH_H2_DEADLINE:-480} )); then
      note "HTTP/2: stopped after $rounds_done of $rounds rounds: the next would pass the ${BENCH_H2_DEADLINE:-480}s HTTP/2 deadline"
      break
    fi
    t_start=$SECONDS
    mark=$(load_mark)
    n=${#h2_names[@]}
    order=()
    for ((i = 0; i < n; i++)); do order+=("${h2_names[(i + r - 1) % n]}-h2"); done
    log "HTTP/2 round $r: ${order[*]}"
    for tag in "${order[@]}"; do h2_requests "$tag" "$r"; sleep 0.5; done
    cat "$tmp/www/big.bin" >/dev/null
    local tunnels=()
    for tag in "${order[@]}"; do
      case $tag in
        ferry-h2) if (( r % 2 )); then tunnels+=("ferry-h2 h2_tunnel $h2_tunnels" "ferry-h2 h1_tunnel $h2_tunnels --h1")
                  else tunnels+=("ferry-h2 h1_tunnel $h2_tunnels --h1" "ferry-h2 h2_tunnel $h2_tunnels"); fi
                  # one tunnel each way: what one connection carries
                  tunnels+=("ferry-h2 h2_tunnel1 1" "ferry-h2 h1_tunnel1 1 --h1") ;;
        apache-h2) tunnels+=("apache-h2 h2_tunnel $h2_tunnels") ;;
      esac
    done
    local t a
    for t in "${tunnels[@]}"; do
      read -ra a <<<"$t"
      h2_tunnel "${a[0]}" "$r" "${a[1]}" "${a[@]:2}"; sleep 0.5
    done
    if [[ -n $page ]]; then
      local pages=(ferry-h2 ferry-h1page)
      (( r % 2 )) || pages=(ferry-h1page ferry-h2)
      for tag in "${pages[@]}"; do h2_page "$tag" "$r"; done
    fi
    rec "$r" machine h2_other "$(other_load "$mark")"
    rounds_done=$r
    round_time=$((SECONDS - t_start))
  done

  log "HTTP/2, once per run: $h2_idle_conns idle HTTP/2 connections (fresh processes)"
  for name in ferry haproxy; do
    [[ $name == ferry || " ${h2_names[*]} " == *" $name "* ]] || continue
    if (( SECONDS - t_phase > ${BENCH_H2_STOP:-600} )); then
      rec 0 "$name-h2" h2_idle "skipped (time)"; note "HTTP/2 idle $name: skipped, past ${BENCH_H2_STOP:-600}s of the HTTP/2 phase"
      continue
    fi
    h2_idle "$name"
  done
  for tag in "${h2_names[@]/%/-h2}" ferry-h1page nghttpx-backend; do
    [[ -n ${pid[$tag]:-} ]] || continue
    if [[ -z ${status[$tag]:-} ]] && ! kill -0 "${pid[$tag]}" 2>/dev/null; then
      how_ended "$tag"
      note "$tag exited during the run ($ended): $(tail -n 2 "$tmp/$tag.out" 2>/dev/null | tr '\n' ' ' | cut -c1-200)"
    fi
  done
  h2_rounds_done=$rounds_done   # for run.sh's facts line
  log "HTTP/2 phase: $rounds_done rounds in $((SECONDS - t_phase))s"
}
