/* SOCKS5 load for issue 17's benchmark rows (bench/socks/phase.sh builds it with cc -O2).

   usage: socks_load echo PORT [--close-after B]
          socks_load rate PROXY_PORT ECHO_PORT [--seconds S] [--conns N] [--bytes B] [--from ADDR]
          socks_load idle PROXY_PORT ECHO_PORT --tunnels N --pids PID[,PID...] [--concurrency N]
                          [--hold S] [--settle S] [--time-limit S]

   echo  a loopback TCP echo origin on 127.0.0.1:PORT (epoll, one thread): sends back what it
         reads, closes when its client does, or with --close-after once it has sent B bytes back
         (then the origin closes first and its side keeps the TIME_WAIT: a server's own
         ephemeral ports are not used up by thousands of closed tunnels, which starved the next
         server in the order when it binds before each connect, as dante does). Runs until killed.
   rate  keeps N connections (default 50) to the proxy on 127.0.0.1:PROXY_PORT in flight, each:
         TCP connect; greeting 05 01 00 (one method: no authentication), wait for 05 00; CONNECT
         request 05 01 00 01 127.0.0.1 ECHO_PORT (ATYP IPv4), wait for the whole reply (any ATYP)
         and code 00; send B bytes (default 64) through the tunnel and read them back from the
         echo origin; close; then the next. Each step waits for the one before, as clients do
         (curl, PySocks); each connection must finish within 5 s. Prints:
           connections=.. failed=.. seconds=.. rate=..  (completed connections per second)
   idle  opens N tunnels the same way (at most --concurrency, default 100, in the handshake at
         once), each with one B-byte exchange, and keeps them all open; after --hold seconds
         (default 1) reads the memory of the proxy's processes (the PIDs given and all their
         descendants: dante forks) again, then with --settle S every 0.25 s until it has held
         still for S seconds (at most 10 s more); then closes them. Prints:
           ok=.. still_open=.. failed=.. seconds=.. rss_before_kb=.. rss_after_kb=..
           rss_per_tunnel_b=.. pss_before_kb=.. pss_after_kb=.. pss_per_tunnel_b=.. processes=..
         RSS is VmRSS summed over the processes (as bench/idle_conns.py); PSS (smaps_rollup)
         splits shared pages among the processes that share them, the fairer sum for a forking
         server. Everything is bounded by --time-limit (default 60 s).
   Both client modes connect from 127.0.0.2 (--from ADDR: another source address), so that the
   client's own TIME_WAITs do not use up 127.0.0.1's ephemeral ports, which the servers need
   for their connections to the origin.
   When something failed, one line "errors: ..." goes to stderr. Exit status 1 when nothing
   completed, 2 on bad usage. One thread, one epoll set: the same client for every proxy. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, GREETING, METHOD, REQUEST, REPLY, SENDING, ECHOING, IDLE };

struct slot {
  int fd, state;
  double started;
  unsigned char buf[300];
  int have, need; /* bytes read into buf / bytes the current step waits for */
  int sent;
};

static struct {
  long done, failed;
  long err_connect, err_method, err_reply, err_io, err_timeout;
  int first_code;
} st = {.first_code = -1};

static int g_proxy_port, g_echo_port, g_bytes = 64;
static struct in_addr g_from;
static unsigned char g_payload[4096];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void watch(int ep, struct slot *s, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = s};
  epoll_ctl(ep, op, s->fd, &ev);
}

static void finish(int ep, struct slot *s) {
  if (s->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
  }
  s->fd = -1;
}

static void start(int ep, struct slot *s) {
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  s->started = now();
  s->have = s->sent = 0;
  if (s->fd >= 0) {
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (g_from.s_addr != htonl(INADDR_LOOPBACK)) {
      /* from another loopback address: this client's TIME_WAITs do not take 127.0.0.1's
         ephemeral ports from the server under test (dante binds its external address before
         each connect, and failed with 0x03 once they ran short) */
      setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = g_from};
      bind(s->fd, (struct sockaddr *)&src, sizeof src);
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(g_proxy_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s->fd, (struct sockaddr *)&a, sizeof a) == 0 || errno == EINPROGRESS) {
      s->state = CONNECTING;
      watch(ep, s, EPOLL_CTL_ADD, EPOLLOUT);
      return;
    }
    close(s->fd);
    s->fd = -1;
  }
  st.failed++;
  st.err_connect++;
}

static int send_all(int fd, const void *p, size_t n) { return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n; }

/* Reads into buf up to s->need bytes; 1 when they are all there, 0 to wait, -1 on EOF/error. */
static int fill(struct slot *s) {
  while (s->have < s->need) {
    ssize_t n = recv(s->fd, s->buf + s->have, s->need - s->have, 0);
    if (n > 0) {
      s->have += n;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      return 0;
    } else {
      return -1;
    }
  }
  return 1;
}

static int fail(long *counter) {
  st.failed++;
  (*counter)++;
  return -1;
}

/* Advances a slot; 1 when its exchange is complete, 0 to wait, -1 when it failed. */
static int step(int ep, struct slot *s) {
  int r;
  switch (s->state) {
  case CONNECTING: {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail(&st.err_connect);
    static const unsigned char hello[] = {5, 1, 0};
    if (!send_all(s->fd, hello, sizeof hello)) return fail(&st.err_io);
    s->state = METHOD;
    s->have = 0;
    s->need = 2;
    watch(ep, s, EPOLL_CTL_MOD, EPOLLIN);
    return 0;
  }
  case METHOD:
    if ((r = fill(s)) <= 0) return r < 0 ? fail(&st.err_method) : 0;
    if (s->buf[0] != 5 || s->buf[1] != 0) return fail(&st.err_method);
    {
      unsigned char req[10] = {5, 1, 0, 1, 127, 0, 0, 1, g_echo_port >> 8, g_echo_port & 0xff};
      if (!send_all(s->fd, req, sizeof req)) return fail(&st.err_io);
    }
    s->state = REPLY;
    s->have = 0;
    s->need = 5; /* VER REP RSV ATYP and the first address byte (a name's length) */
    return 0;
  case REPLY:
    if ((r = fill(s)) <= 0) return r < 0 ? fail(&st.err_reply) : 0;
    if (s->buf[0] != 5 || s->buf[1] != 0) {
      if (st.first_code < 0) st.first_code = s->buf[1];
      return fail(&st.err_reply);
    }
    {
      int total = s->buf[3] == 1 ? 10 : s->buf[3] == 4 ? 22 : s->buf[3] == 3 ? 7 + s->buf[4] : -1;
      if (total < 0) return fail(&st.err_reply);
      if (s->need < total) {
        s->need = total;
        return step(ep, s);
      }
    }
    s->state = SENDING;
    /* fall through */
  case SENDING:
    if (!send_all(s->fd, g_payload, g_bytes)) return fail(&st.err_io);
    s->state = ECHOING;
    s->have = 0;
    s->need = g_bytes < (int)sizeof s->buf ? g_bytes : (int)sizeof s->buf;
    s->sent = g_bytes;
    return 0;
  case ECHOING:
    for (;;) {
      if ((r = fill(s)) <= 0) return r < 0 ? fail(&st.err_io) : 0;
      s->sent -= s->have;
      s->have = 0;
      if (s->sent <= 0) return 1;
      s->need = s->sent < (int)sizeof s->buf ? s->sent : (int)sizeof s->buf;
    }
  }
  return -1;
}

/* ---- echo origin ---- */
static int run_echo(int port, long close_after) {
  enum { MAXFD = 1 << 16 };
  static long echoed[MAXFD];
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
    perror("socks_load echo: bind/listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[256];
  char buf[16384];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          if (c < MAXFD) echoed[c] = 0;
        }
        continue;
      }
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got > 0) {
        /* small exchanges: a full send buffer would drop the rest, which the client reports */
        if (send(fd, buf, got, MSG_NOSIGNAL) == got) {
          if (!close_after || fd >= MAXFD || (echoed[fd] += got) < close_after) continue;
        }
      } else if (got < 0 && errno == EAGAIN) {
        continue;
      }
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      close(fd);
    }
  }
}

/* ---- memory of a process tree ---- */
static long proc_field_kb(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[256];
  long v = 0;
  size_t k = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, k)) {
      v = atol(line + k);
      break;
    }
  fclose(f);
  return v;
}

/* Sums VmRSS and Pss over the roots and all their descendants; returns the process count. */
static int tree_memory(const int *roots, int nroots, long *rss_kb, long *pss_kb) {
  enum { MAXP = 65536 };
  static int pids[MAXP], ppids[MAXP];
  int n = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d)) && n < MAXP) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char path[300], stat[512];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[len] = 0;
    char *close_paren = strrchr(stat, ')');
    int ppid = 0;
    if (!close_paren || sscanf(close_paren + 2, "%*c %d", &ppid) != 1) continue;
    pids[n] = atoi(e->d_name);
    ppids[n++] = ppid;
  }
  if (d) closedir(d);
  static char in_tree[4194305];
  memset(in_tree, 0, sizeof in_tree);
  for (int i = 0; i < nroots; i++)
    if (roots[i] > 0 && roots[i] < (int)sizeof in_tree) in_tree[roots[i]] = 1;
  for (int changed = 1; changed;) { /* descendants: repeat until no process joins */
    changed = 0;
    for (int i = 0; i < n; i++)
      if (!in_tree[pids[i]] && ppids[i] > 0 && ppids[i] < (int)sizeof in_tree && in_tree[ppids[i]])
        in_tree[pids[i]] = changed = 1;
  }
  int count = 0;
  *rss_kb = *pss_kb = 0;
  for (int i = 0; i < n; i++) {
    if (!in_tree[pids[i]]) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
    *rss_kb += proc_field_kb(path, "VmRSS:");
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pids[i]);
    *pss_kb += proc_field_kb(path, "Pss:");
    count++;
  }
  return count;
}

static void report_errors(void) {
  if (!st.failed) return;
  fprintf(stderr, "errors: connect %ld, method %ld, reply %ld (first code %d), io %ld, timeout %ld\n", st.err_connect,
          st.err_method, st.err_reply, st.first_code, st.err_io, st.err_timeout);
}

static void usage(void) {
  fprintf(stderr, "usage: socks_load echo PORT [--close-after B]\n"
                  "       socks_load rate PROXY_PORT ECHO_PORT [--seconds S] [--conns N] [--bytes B] [--from ADDR]\n"
                  "       socks_load idle PROXY_PORT ECHO_PORT --tunnels N --pids PID[,PID...] [--concurrency N]\n"
                  "                       [--hold S] [--settle S] [--time-limit S] [--bytes B] [--from ADDR]\n");
  exit(2);
}

static int run_rate(double seconds, int conns) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(conns, sizeof *slots);
  double t0 = now(), end = t0 + seconds;
  for (int i = 0; i < conns; i++) start(ep, &slots[i]);
  struct epoll_event evs[256];
  while (now() < end) {
    if (st.failed >= 200 && st.done == 0) break; /* nothing listens, or nothing works */
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      struct slot *s = evs[i].data.ptr;
      int r = step(ep, s);
      if (r == 0) continue;
      if (r > 0) st.done++;
      finish(ep, s);
      if (now() < end) start(ep, s);
    }
    double t = now();
    for (int i = 0; i < conns; i++) {
      struct slot *s = &slots[i];
      if (s->fd >= 0 && t - s->started > 5) {
        fail(&st.err_timeout);
        finish(ep, s);
        start(ep, s);
      } else if (s->fd < 0 && t < end) {
        start(ep, s); /* a connect that failed at once */
      }
    }
  }
  double took = now() - t0;
  for (int i = 0; i < conns; i++) finish(ep, &slots[i]);
  printf("connections=%ld failed=%ld seconds=%.2f rate=%.1f\n", st.done, st.failed, took, st.done / took);
  report_errors();
  free(slots);
  return st.done > 0 ? 0 : 1;
}

static int still_open(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
  if (poll(&p, 1, 0) == 0) return 1;
  char b;
  return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static int run_idle(int tunnels, int concurrency, const int *roots, int nroots, double hold, double settle,
                    double limit) {
  long rss0, pss0, rss1, pss1;
  tree_memory(roots, nroots, &rss0, &pss0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(tunnels, sizeof *slots);
  for (int i = 0; i < tunnels; i++) slots[i].fd = -1;
  double t0 = now(), end = t0 + limit;
  int next = 0, active = 0, ok = 0;
  struct epoll_event evs[256];
  while ((next < tunnels || active > 0) && now() < end) {
    while (next < tunnels && active < concurrency) {
      start(ep, &slots[next]);
      if (slots[next].fd >= 0) active++;
      next++;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      struct slot *s = evs[i].data.ptr;
      int r = step(ep, s);
      if (r == 0) continue;
      active--;
      if (r > 0) {
        ok++;
        s->state = IDLE;
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL); /* kept open, no longer watched */
      } else {
        finish(ep, s);
      }
    }
    double t = now();
    for (int i = 0; i < next; i++) {
      struct slot *s = &slots[i];
      if (s->fd >= 0 && s->state != IDLE && t - s->started > 5) {
        fail(&st.err_timeout);
        finish(ep, s);
        active--;
      }
    }
  }
  double took = now() - t0;
  for (int i = 0; i < tunnels; i++)
    if (slots[i].fd >= 0 && slots[i].state != IDLE) {
      fail(&st.err_timeout);
      finish(ep, &slots[i]);
    }
  usleep((useconds_t)(hold * 1e6));
  int procs = tree_memory(roots, nroots, &rss1, &pss1);
  if (settle > 0) { /* until the RSS has held still for `settle` seconds, at most 10 s more */
    double last_change = now(), stop = now() + 10;
    while (now() - last_change < settle && now() < stop) {
      usleep(250000);
      long r, p;
      procs = tree_memory(roots, nroots, &r, &p);
      if (r != rss1) last_change = now();
      rss1 = r;
      pss1 = p;
    }
  }
  int open = 0;
  for (int i = 0; i < tunnels; i++)
    if (slots[i].fd >= 0 && still_open(slots[i].fd)) open++;
  printf("ok=%d still_open=%d failed=%ld seconds=%.2f rss_before_kb=%ld rss_after_kb=%ld rss_per_tunnel_b=%.0f "
         "pss_before_kb=%ld pss_after_kb=%ld pss_per_tunnel_b=%.0f processes=%d\n",
         ok, open, st.failed, took, rss0, rss1, open ? (rss1 - rss0) * 1024.0 / open : 0.0, pss0, pss1,
         open ? (pss1 - pss0) * 1024.0 / open : 0.0, procs);
  report_errors();
  for (int i = 0; i < tunnels; i++) finish(ep, &slots[i]);
  free(slots);
  return ok > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3) usage();
  if (!strcmp(argv[1], "echo"))
    return run_echo(atoi(argv[2]), argc == 5 && !strcmp(argv[3], "--close-after") ? atol(argv[4]) : 0);
  if (argc < 4 || (strcmp(argv[1], "rate") && strcmp(argv[1], "idle"))) usage();
  g_proxy_port = atoi(argv[2]);
  g_echo_port = atoi(argv[3]);
  inet_pton(AF_INET, "127.0.0.2", &g_from);
  int conns = 50, tunnels = 0, concurrency = 100, roots[64], nroots = 0;
  double seconds = 5, hold = 1, settle = 0, limit = 60;
  for (int i = 4; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) usage();
    i++;
    if (!strcmp(a, "--seconds"))
      seconds = atof(v);
    else if (!strcmp(a, "--conns"))
      conns = atoi(v);
    else if (!strcmp(a, "--from")) {
      if (inet_pton(AF_INET, v, &g_from) != 1) usage();
    } else if (!strcmp(a, "--bytes"))
      g_bytes = atoi(v);
    else if (!strcmp(a, "--tunnels"))
      tunnels = atoi(v);
    else if (!strcmp(a, "--concurrency"))
      concurrency = atoi(v);
    else if (!strcmp(a, "--hold"))
      hold = atof(v);
    else if (!strcmp(a, "--settle"))
      settle = atof(v);
    else if (!strcmp(a, "--time-limit"))
      limit = atof(v);
    else if (!strcmp(a, "--pids")) {
      for (char *p = (char *)v; *p && nroots < 64;) {
        roots[nroots++] = (int)strtol(p, &p, 10);
        if (*p == ',') p++;
        else if (*p) usage();
      }
    } else
      usage();
  }
  if (g_proxy_port <= 0 || g_proxy_port > 65535 || g_echo_port <= 0 || g_echo_port > 65535 || g_bytes < 1 ||
      g_bytes > (int)sizeof g_payload || conns < 1 || conns > 10000 || seconds <= 0 || seconds > 120 ||
      concurrency < 1 || limit <= 0)
    usage();
  memset(g_payload, 'x', sizeof g_payload);
  if (!strcmp(argv[1], "rate")) return run_rate(seconds, conns);
  if (tunnels < 1 || tunnels > 60000 || nroots == 0) usage();
  return run_idle(tunnels, concurrency, roots, nroots, hold, settle, limit);
}
