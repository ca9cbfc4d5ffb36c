#!/usr/bin/env bash
# Installs the Debian 12 packages ferry needs to build, test (and, with --bench, benchmark).
# Idempotent: packages already present are skipped without touching the network.
# Needs only Debian's base system (bash, dpkg, apt): ./run and ./test call it before make
# exists, so it installs make too.
set -euo pipefail

# dpkg-dev (dpkg-shlibdeps), adduser, logrotate and systemd (systemd-analyze): make deb and
# the Packaging tests, which install the .deb and verify its unit and logrotate file.
packages=(make build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev
          libboost1.81-dev libfmt-dev
          libc-ares-dev libgtest-dev libcurl4-openssl-dev curl openssl python3
          libtomlplusplus-dev libcrypt-dev libssl-dev libnghttp2-dev apache2-utils man-db groff-base
          tinyproxy squid libyaml-cpp-dev
          dpkg-dev adduser logrotate systemd
          git python3-requests python3-h2 chromium nodejs python3-pacparser
          haproxy python3-socks openssh-server openssh-client netcat-openbsd iproute2)
# The HTTPS proxy's clients (issue 14, tests/integration/https_*): git (in the base image),
# python3-requests (~0.5 MB with urllib3, for Debian's /usr/bin/python3) and chromium
# (headless; with --no-install-recommends ~120 MB to download in ~30 packages, ~300 MB on
# disk, 20-40 s of CI install time). Each test says so and is skipped when its client is
# missing. chromium and python3 (its standard library) are also all that the status pages'
# browser test needs (issue 16, tests/integration/status/: the DevTools protocol over a pipe,
# so no chromium-driver or python3-selenium).
# nodejs (Debian 12's is 18; ~25 MB on disk): Node's http2 module is issue 15's HTTP/2 client
# for CONNECT streams and extended CONNECT (tests/integration/http2_clients_test.cpp).
# python3-pacparser (with libpacparser1, ~1 MB: a PAC engine on SpiderMonkey, for Debian's
# /usr/bin/python3): tests/integration/pac_test.cpp evaluates ferry's /proxy.pac with it.
# Issue 17 (SOCKS5, the PROXY protocol): haproxy (~4 MB) is the load balancer that sends PROXY
# headers in front of ferry (tests/integration/proxy_protocol_*, fleet_test; the benchmark uses
# it too); python3-socks is PySocks; openssh-server, openssh-client and netcat-openbsd (nc -X 5)
# are ssh through ferry's SOCKS5 listener to an sshd the test starts on loopback. Their
# packaged services are kept from starting (policy-rc.d below) and no test uses them.
# Issue 18: iproute2 (`ip`, in the base system; named to be sure) sets up the network
# namespaces the egress and loop tests run in (tests/integration/support/netns).
if [[ "${1:-}" == "--bench" ]]; then
  # The peers of /work/shared/ANCHORS.md beside HAProxy and nginx: squid and tinyproxy are
  # already above (the integration tests use them), privoxy is only for the benchmark;
  # slowhttptest is for the denial-of-service soak (bench/soak.sh); apache2 (mod_ssl and
  # mod_proxy are in apache2-bin) is issue 14's TLS peer, run by bench/tls/phase.sh with its own
  # config, never as the packaged service. Issue 15's HTTP/2 rows (bench/h2/phase.sh): nghttp2-proxy
  # (nghttpx, an h2 front end for a forward proxy; apache2's mod_http2 and haproxy are the other
  # peers); the load generator bench/h2/h2load_proxy.c builds on libnghttp2-dev, above.
  # Issue 17's SOCKS5 rows (bench/socks/): dante-server (danted) and microsocks.
  packages+=(wrk nginx-light privoxy slowhttptest apache2 nghttp2-proxy dante-server microsocks)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "ferry: installing ${missing[*]} needs root, and sudo is not installed: run this as root" >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "ferry: installing ${missing[*]}"
# Debian's server packages (nginx, haproxy, squid, tinyproxy, privoxy) start themselves on install; the benchmarks
# start their own instances on free ports, so keep the packaged services from starting.
policy=/usr/sbin/policy-rc.d
placed_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
  $sudo chmod +x $policy
  placed_policy=1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
[[ $placed_policy -eq 1 ]] && $sudo rm -f $policy
exit 0
