/* New TLS handshakes per second against a TLS listener (issue 14's benchmark).

   usage: tls_handshakes PORT [--seconds S] [--conns N] [--resume] [--tls12] [--cafile FILE]

   Keeps N connections to 127.0.0.1:PORT in flight (default 8), each doing: TCP connect, a TLS
   handshake (ALPN http/1.1, no SNI: the target is an IP address), close_notify, close; then the
   next. With --resume every handshake offers one session, taken from a first connection that
   waited for the server's session tickets (TLS 1.3 sends them after the handshake): a resumed
   handshake is then psk_dhe_ke in TLS 1.3 (a new ECDHE, no certificate or signature), the mode
   browsers and curl use. --tls12 caps the version at TLS 1.2 (resumption by ticket then skips
   the key exchange as well). Each handshake must finish within 5 s. The same client, one
   thread and one epoll set, for every proxy: what differs between proxies is the server side.

   Prints one line of key=value pairs on stdout:
     handshakes  completed in the time (full + resumed)
     full, resumed  of those, by SSL_session_reused()
     failed      connects or handshakes that failed or took over 5 s
     seconds     measured time; rate = handshakes / seconds
     version, cipher, group  of the first completed handshake
   and, when something failed, one line "errors: ..." on stderr. Exit status 1 when no
   handshake completed (it gives up after 200 failures without one), 2 on bad usage. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, HANDSHAKING };

struct slot {
  int fd;
  int state;
  SSL *ssl;
  double started;
};

static struct {
  long full, resumed, failed;
  long err_connect, err_handshake, err_timeout;
  char first_error[160];
} st;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void remember_error(const char *what) {
  if (st.first_error[0]) return;
  unsigned long e = ERR_peek_error();
  char buf[120] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  snprintf(st.first_error, sizeof st.first_error, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static int open_socket(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static SSL_CTX *make_ctx(int tls12, const char *cafile) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (tls12) SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
  if (cafile) {
    if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) return NULL;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  }
  /* The session to resume is set by hand; no client cache beyond it. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

/* A first, blocking connection: handshake, then read until the server's session tickets have
   come (TLS 1.3) or 2 s have passed. Returns a resumable session, or NULL. */
static SSL_SESSION *prime_session(SSL_CTX *ctx, int port) {
  int fd = open_socket(port);
  if (fd < 0) return NULL;
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_SESSION *sess = NULL;
  double end = now() + 2;
  int done = 0;
  while (now() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (!done) {
      int rc = SSL_connect(ssl);
      if (rc == 1) {
        done = 1;
      } else {
        int e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
          remember_error("priming handshake");
          break;
        }
        p.events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        poll(&p, 1, 200);
        continue;
      }
    }
    SSL_SESSION *s = SSL_get1_session(ssl);
    if (s && SSL_SESSION_is_resumable(s)) {
      sess = s;
      break;
    }
    SSL_SESSION_free(s);
    char b[256];
    if (SSL_read(ssl, b, sizeof b) <= 0) {
      int e = SSL_get_error(ssl, -1);
      if (e != SSL_ERROR_WANT_READ) break;
    }
    p.events = POLLIN;
    poll(&p, 1, 200);
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  return sess;
}

static void finish(int ep, struct slot *s) {
  if (s->ssl) SSL_free(s->ssl);
  s->ssl = NULL;
  if (s->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
  }
  s->fd = -1;
}

static void start(int ep, struct slot *s, int port) {
  s->fd = open_socket(port);
  s->started = now();
  if (s->fd < 0) {
    st.failed++;
    st.err_connect++;
    return;
  }
  s->state = CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

static char version[16], cipher[64], group[32];

/* Advances a slot; returns 1 when its connection is over (done or failed). */
static int step(int ep, struct slot *s, SSL_CTX *ctx, SSL_SESSION *sess) {
  if (s->state == CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      st.failed++;
      st.err_connect++;
      return 1;
    }
    s->ssl = SSL_new(ctx);
    SSL_set_fd(s->ssl, s->fd);
    if (sess) SSL_set_session(s->ssl, sess);
    s->state = HANDSHAKING;
  }
  ERR_clear_error();
  int rc = SSL_connect(s->ssl);
  if (rc == 1) {
    if (SSL_session_reused(s->ssl))
      st.resumed++;
    else
      st.full++;
    if (!version[0]) {
      snprintf(version, sizeof version, "%s", SSL_get_version(s->ssl));
      snprintf(cipher, sizeof cipher, "%s", SSL_get_cipher_name(s->ssl));
      int g = SSL_get_negotiated_group(s->ssl);
      const char *n = g ? SSL_group_to_name(s->ssl, g) : NULL;
      snprintf(group, sizeof group, "%s", n ? n : "-");
    }
    SSL_shutdown(s->ssl); /* close_notify; the server's answer is not awaited */
    return 1;
  }
  int e = SSL_get_error(s->ssl, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    struct epoll_event ev = {.events = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
    return 0;
  }
  remember_error("handshake");
  st.failed++;
  st.err_handshake++;
  return 1;
}

static void usage(void) {
  fprintf(stderr, "usage: tls_handshakes PORT [--seconds S] [--conns N] [--resume] [--tls12] [--cafile FILE]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  int port = atoi(argv[1]), conns = 8, resume = 0, tls12 = 0;
  double seconds = 5;
  const char *cafile = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
      conns = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--resume"))
      resume = 1;
    else if (!strcmp(argv[i], "--tls12"))
      tls12 = 1;
    else if (!strcmp(argv[i], "--cafile") && i + 1 < argc)
      cafile = argv[++i];
    else
      usage();
  }
  if (port <= 0 || port > 65535 || conns < 1 || conns > 1000 || seconds <= 0 || seconds > 120) usage();

  SSL_CTX *ctx = make_ctx(tls12, cafile);
  if (!ctx) {
    fprintf(stderr, "tls_handshakes: cannot set up the TLS client (CA file %s)\n", cafile ? cafile : "-");
    return 2;
  }
  SSL_SESSION *sess = NULL;
  if (resume) {
    sess = prime_session(ctx, port);
    if (!sess) {
      fprintf(stderr, "tls_handshakes: no resumable session from the server within 2 s%s%s\n",
              st.first_error[0] ? "; " : "", st.first_error);
      return 1;
    }
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(conns, sizeof *slots);
  double t0 = now(), end = t0 + seconds;
  for (int i = 0; i < conns; i++) start(ep, &slots[i], port);
  struct epoll_event evs[64];
  while (now() < end) {
    if (st.failed >= 200 && st.full + st.resumed == 0) break; /* nothing listens, or nothing works */
    int n = epoll_wait(ep, evs, 64, 100);
    for (int i = 0; i < n; i++) {
      struct slot *s = evs[i].data.ptr;
      if (step(ep, s, ctx, sess)) {
        finish(ep, s);
        if (now() < end) start(ep, s, port);
      }
    }
    double t = now();
    for (int i = 0; i < conns; i++) {
      struct slot *s = &slots[i];
      if (s->fd >= 0 && t - s->started > 5) {
        st.failed++;
        st.err_timeout++;
        finish(ep, s);
        start(ep, s, port);
      } else if (s->fd < 0 && t < end) {
        start(ep, s, port); /* a connect that failed at once */
      }
    }
  }
  double took = now() - t0;
  for (int i = 0; i < conns; i++) finish(ep, &slots[i]);
  long total = st.full + st.resumed;
  printf("handshakes=%ld full=%ld resumed=%ld failed=%ld seconds=%.2f rate=%.1f version=%s cipher=%s group=%s\n",
         total, st.full, st.resumed, st.failed, took, total / took, version[0] ? version : "-",
         cipher[0] ? cipher : "-", group[0] ? group : "-");
  if (st.failed)
    fprintf(stderr, "errors: connect %ld, handshake %ld, timeout %ld%s%s\n", st.err_connect, st.err_handshake,
            st.err_timeout, st.first_error[0] ? "; first: " : "", st.first_error);
  SSL_SESSION_free(sess);
  SSL_CTX_free(ctx);
  free(slots);
  return total > 0 ? 0 : 1;
}
