/* An HTTP/2 load generator for forward proxies (issue 15's benchmark): h2load cannot target a
   proxy, this can. TLS to the proxy on 127.0.0.1:PORT with ALPN h2, then one of three modes.

   usage: h2load_proxy PORT --authority HOST:PORT [--path P] [--size BYTES] MODE...
     get (default)  --conns C --streams S --seconds D
         C connections, each keeping S streams in flight: GET with :scheme http, :authority
         HOST:PORT (the origin), :path P (default /1k.bin). A request counts when its stream
         ends cleanly with :status 200 and exactly --size body bytes (default 1024). The
         connections are opened first (TLS handshake, h2 preface); the D seconds start when
         all are ready. Prints: requests (completed in the D seconds), total (including the
         ones in flight at the end, finished within 5 s: the count for CPU per request),
         errors, seconds, rate = requests / seconds.
     --connect --streams N
         N CONNECT streams (:method CONNECT, :authority HOST:PORT) on one connection; once a
         stream's 2xx HEADERS has come, it sends "GET P HTTP/1.1" inside the tunnel and counts
         the response body (Content-Length, which must equal --size) to the end, then resets
         the stream (CANCEL). Prints bytes (all bodies), seconds (first connect to the last
         byte), mbps = bytes / seconds / 10^6, and errors.
     --connect --h1 --streams N
         the same over N TLS connections with ALPN http/1.1, each "CONNECT HOST:PORT HTTP/1.1"
         then the GET inside: the HTTP/1.1 tunnel to compare with.
     --idle N --pid PID... [--concurrency K] [--hold S] [--settle S]
         N connections (at most K, default 50, opening at once), one GET each (as get mode),
         all kept open; the resident memory (VmRSS) of the PIDs and their descendants before the
         first connection and after: --hold seconds (default 1) after the last response, then
         every 0.25 s until it has held still for --settle seconds (default 1; at most 10 s
         more). Prints ok, still_open (not closed by the proxy), closed, failed, rss_before_kb,
         rss_after_kb, rss_per_conn_b = (after - before) / still_open, seconds.
   Everything within --time-limit seconds (default: D + 20 for get, 600 otherwise); exit status
   1 when nothing succeeded, 2 on bad usage. Errors by kind on stderr: "errors: ...".

   The client window: 6 MiB per stream, 15 MiB per connection, SETTINGS_ENABLE_PUSH 0 (what
   Chromium announces). One thread, one epoll set, level-triggered; the only allocations
   are at start (connections, stream slots) and nghttp2's own per-stream state. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { GET, CONNECT, IDLE };
enum { FREE, CONNECTING, HANDSHAKING, READY, DONE };     /* connection states */
enum { T_PROXY_HEAD, T_HEAD, T_BODY, T_DONE, T_FAILED }; /* a tunnel's phases */

struct conn;
struct stream {
    struct conn* c;
    int32_t id;
    int status;
    long long body;
    /* tunnels */
    int phase, may_send, sent;
    double ended;
    long long clen;
    int head_len;
    char head[4096];
    struct stream* next_free;
};

struct conn {
    int fd, state, events, idle_ok;
    SSL* ssl;
    nghttp2_session* h2;
    double started;
    int active;
    struct stream *slots, *free_slots;
    const uint8_t* pending; /* from nghttp2_session_mem_send, not yet copied to out */
    size_t pending_len;
    size_t out_len, out_off;
    uint8_t out[32768];
};

static struct {
    int mode, h1, port, conns, streams, idle, concurrency;
    double seconds, hold, settle, time_limit;
    const char *authority, *path;
    long long size;
    int npids;
    int pids[16];
} o = {.mode = GET,
       .conns = 10,
       .streams = 100,
       .concurrency = 50,
       .seconds = 5,
       .hold = 1,
       .settle = 1,
       .path = "/1k.bin",
       .size = 1024};

static struct {
    long long ok, total, bytes;
    long err_connect, err_handshake, err_alpn, err_reset, err_status, err_size, err_closed,
        err_proto, err_timeout;
    int first_status;
    uint32_t first_reset, goaway_code;
    long goaways;
    char first_error[200];
    long closed_idle;
} st;

static int ep;
static int running = 1; /* get mode: new streams may start */
static double window_end;
static SSL_CTX* ctx;
static struct conn* conns;
static int nconns;
static nghttp2_session_callbacks* callbacks;
static nghttp2_nv get_nv[4], connect_nv[2];
static char tunnel_get[512], h1_connect[512];
static int tunnel_get_len, h1_connect_len;
static double first_start, last_end;
static int tunnels_done;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void remember(const char* fmt, const char* what) {
    if (st.first_error[0]) return;
    unsigned long e = ERR_peek_error();
    char buf[120] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    snprintf(st.first_error, sizeof st.first_error, fmt, what);
    if (buf[0]) {
        size_t n = strlen(st.first_error);
        snprintf(st.first_error + n, sizeof st.first_error - n, ": %s", buf);
    }
}

static void set_events(struct conn* c, int events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev);
    c->events = events;
}

static void open_conn(struct conn* c) {
    memset(c, 0, offsetof(struct conn, out));
    c->started = now();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (c->fd >= 0) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->fd < 0 || (connect(c->fd, (struct sockaddr*)&a, sizeof a) < 0 && errno != EINPROGRESS)) {
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
        c->state = DONE;
        st.err_connect++;
        remember("connect: %s", strerror(errno));
        return;
    }
    c->state = CONNECTING;
    set_events(c, EPOLLOUT);
}

static void close_conn(struct conn* c) {
    if (c->h2) nghttp2_session_del(c->h2);
    c->h2 = NULL;
    if (c->ssl) SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->events = 0;
    c->state = DONE;
}

/* ---- the HTTP/1.1 response inside a tunnel (and the proxy's answer to an HTTP/1.1 CONNECT) ----
 */

static int parse_head(struct stream* s) { /* 1: complete, 0: more, -1: bad */
    char* end = memmem(s->head, s->head_len, "\r\n\r\n", 4);
    if (!end) return s->head_len >= (int)sizeof s->head - 1 ? -1 : 0;
    *end = 0;
    if (strncmp(s->head, "HTTP/1.", 7) || s->head_len < 12) return -1;
    s->status = atoi(s->head + 9);
    s->clen = -1;
    for (char* p = s->head; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (!strncasecmp(p, "content-length:", 15)) s->clen = atoll(p + 15);
    }
    return 1;
}

static void tunnel_failed(struct stream* s, long* counter) {
    if (s->phase == T_DONE || s->phase == T_FAILED) return;
    s->phase = T_FAILED;
    (*counter)++;
    tunnels_done++;
}

/* Feeds tunnel bytes; returns 1 when the body is complete. */
static int tunnel_feed(struct stream* s, const uint8_t* p, size_t n) {
    while (n > 0 && (s->phase == T_PROXY_HEAD || s->phase == T_HEAD)) {
        size_t room = sizeof s->head - 1 - s->head_len, take = n < room ? n : room;
        int before = s->head_len;
        memcpy(s->head + s->head_len, p, take);
        s->head_len += take;
        s->head[s->head_len] = 0;
        int r = parse_head(s);
        if (r < 0) {
            tunnel_failed(s, &st.err_proto);
            remember("%s", "a bad HTTP/1.1 head in the tunnel");
            return 0;
        }
        if (r == 0) {
            p += take, n -= take;
            continue;
        }
        size_t used =
            strlen(s->head) + 4 - before; /* bytes of this chunk that belonged to the head */
        p += used, n -= used;
        s->head_len = 0;
        if (s->status != 200) {
            if (!st.first_status) st.first_status = s->status;
            tunnel_failed(s, &st.err_status);
            return 0;
        }
        if (s->phase == T_PROXY_HEAD) { /* the proxy's 200 to CONNECT: now the GET */
            s->phase = T_HEAD;
            s->may_send = 1;
            return 0;
        }
        if (s->clen != o.size) {
            tunnel_failed(s, &st.err_size);
            return 0;
        }
        s->phase = T_BODY;
    }
    if (s->phase == T_BODY) {
        s->body += n;
        st.bytes += n;
        if (s->body >= s->clen) {
            if (s->body > s->clen) {
                tunnel_failed(s, &st.err_size);
                return 0;
            }
            s->phase = T_DONE;
            s->ended = last_end = now();
            tunnels_done++;
            st.ok++;
            return 1;
        }
    }
    return 0;
}

/* ---- HTTP/2 ---- */

static ssize_t tunnel_read(nghttp2_session* h2, int32_t id, uint8_t* buf, size_t len,
                           uint32_t* flags, nghttp2_data_source* src, void* user) {
    (void)h2, (void)id, (void)flags, (void)user;
    struct stream* s = src->ptr;
    if (!s->may_send || s->sent >= tunnel_get_len) return NGHTTP2_ERR_DEFERRED;
    size_t n = (size_t)(tunnel_get_len - s->sent) < len ? (size_t)(tunnel_get_len - s->sent) : len;
    memcpy(buf, tunnel_get + s->sent, n);
    s->sent += n;
    return n;
}

static int submit_stream(struct conn* c) {
    struct stream* s = c->free_slots;
    if (!s) return 0;
    c->free_slots = s->next_free;
    memset(s, 0, offsetof(struct stream, head));
    s->c = c;
    int32_t id;
    if (o.mode == CONNECT) {
        s->phase = T_HEAD;
        nghttp2_data_provider prd = {.source.ptr = s, .read_callback = tunnel_read};
        id = nghttp2_submit_request(c->h2, NULL, connect_nv, 2, &prd, s);
    } else {
        id = nghttp2_submit_request(c->h2, NULL, get_nv, 4, NULL, s);
    }
    if (id < 0) {
        s->next_free = c->free_slots;
        c->free_slots = s;
        remember("submit: %s", nghttp2_strerror(id));
        return 0;
    }
    s->id = id;
    c->active++;
    return 1;
}

static int on_header(nghttp2_session* h2, const nghttp2_frame* f, const uint8_t* name,
                     size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                     void* user) {
    (void)flags, (void)user, (void)valuelen;
    if (f->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7)) return 0;
    struct stream* s = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (s && !s->status) s->status = atoi((const char*)value);
    return 0;
}

static int on_frame(nghttp2_session* h2, const nghttp2_frame* f, void* user) {
    (void)user;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        st.goaways++;
        if (!st.goaway_code && f->goaway.error_code) st.goaway_code = f->goaway.error_code;
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS || o.mode != CONNECT) return 0;
    struct stream* s = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!s || s->may_send) return 0;
    if (s->status / 100 == 2) {
        s->may_send = 1;
        s->status = 0;
        nghttp2_session_resume_data(h2, f->hd.stream_id);
    } else {
        if (!st.first_status) st.first_status = s->status;
        tunnel_failed(s, &st.err_status);
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_data(nghttp2_session* h2, uint8_t flags, int32_t id, const uint8_t* data, size_t len,
                   void* user) {
    (void)flags, (void)user;
    struct stream* s = nghttp2_session_get_stream_user_data(h2, id);
    if (!s) return 0;
    if (o.mode != CONNECT) {
        s->body += len;
        return 0;
    }
    if (tunnel_feed(s, data, len) || s->phase == T_FAILED)
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    return 0;
}

static int on_close(nghttp2_session* h2, int32_t id, uint32_t code, void* user) {
    struct conn* c = user;
    struct stream* s = nghttp2_session_get_stream_user_data(h2, id);
    if (!s) return 0;
    if (o.mode == CONNECT) {
        if (s->phase != T_DONE && s->phase != T_FAILED) {
            if (!st.first_reset) st.first_reset = code;
            tunnel_failed(s, code ? &st.err_reset : &st.err_closed);
        }
    } else if (code) {
        st.err_reset++;
        if (!st.first_reset) st.first_reset = code;
    } else if (s->status != 200) {
        st.err_status++;
        if (!st.first_status) st.first_status = s->status;
    } else if (s->body != o.size) {
        st.err_size++;
    } else {
        st.total++;
        if (o.mode == GET && now() <= window_end) st.ok++;
        if (o.mode == IDLE) {
            c->idle_ok = 1;
            st.ok++;
        }
    }
    s->next_free = c->free_slots;
    c->free_slots = s;
    c->active--;
    return 0;
}

static void start_h2(struct conn* c) {
    nghttp2_session_client_new(&c->h2, callbacks, c);
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 6291456}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 15728640);
    int n = o.mode == GET ? o.streams : o.mode == CONNECT ? o.streams : 1;
    c->slots = calloc(n, sizeof *c->slots);
    for (int i = n - 1; i >= 0; i--) {
        c->slots[i].next_free = c->free_slots;
        c->free_slots = &c->slots[i];
    }
    if (o.mode == IDLE) submit_stream(c);
    if (o.mode == CONNECT)
        for (int i = 0; i < o.streams; i++)
            submit_stream(c);
}

/* Writes what is queued; returns -1 when the connection failed. */
static int flush(struct conn* c) {
    for (;;) {
        while (c->out_len < sizeof c->out) {
            if (!c->pending_len && c->h2) {
                ssize_t n = nghttp2_session_mem_send(c->h2, &c->pending);
                if (n < 0) {
                    remember("nghttp2: %s", nghttp2_strerror(n));
                    return -1;
                }
                c->pending_len = n;
            }
            if (!c->pending_len) break;
            size_t take = sizeof c->out - c->out_len;
            if (take > c->pending_len) take = c->pending_len;
            memcpy(c->out + c->out_len, c->pending, take);
            c->out_len += take, c->pending += take, c->pending_len -= take;
        }
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
            return 0;
        }
        ERR_clear_error();
        int w = SSL_write(c->ssl, c->out + c->out_off, c->out_len - c->out_off);
        if (w <= 0) {
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 1;
            remember("%s", "TLS write");
            return -1;
        }
        c->out_off += w;
        if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    }
}

static void fail_conn(struct conn* c, long* counter) {
    (*counter)++;
    if (o.mode == GET) st.err_closed += c->active; /* the streams in flight on it */
    if (o.mode == CONNECT) {
        int n = o.h1 ? 1 : o.streams;
        for (int i = 0; c->slots && i < n; i++)
            if (c->slots[i].c) tunnel_failed(&c->slots[i], &st.err_closed);
    }
    if (c->idle_ok) {
        st.closed_idle++;
        c->idle_ok = 0;
    }
    close_conn(c);
}

static void h1_queue(struct conn* c, const char* p, int n) {
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* Advances a connection on an event. */
static void pump(struct conn* c) {
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            remember("connect: %s", strerror(err));
            fail_conn(c, &st.err_connect);
            return;
        }
        c->ssl = SSL_new(ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        c->state = HANDSHAKING;
    }
    if (c->state == HANDSHAKING) {
        ERR_clear_error();
        int rc = SSL_connect(c->ssl);
        if (rc != 1) {
            int e = SSL_get_error(c->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                set_events(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
                return;
            }
            remember("%s", "TLS handshake");
            fail_conn(c, &st.err_handshake);
            return;
        }
        const unsigned char* alpn;
        unsigned alpn_len;
        SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
        const char* want = o.h1 ? "http/1.1" : "h2";
        if (alpn_len != strlen(want) || memcmp(alpn, want, alpn_len)) {
            char got[64];
            if (alpn_len)
                snprintf(got, sizeof got, "%.*s", (int)alpn_len, (const char*)alpn);
            else
                snprintf(got, sizeof got, "no protocol");
            remember("ALPN: the proxy chose %s", got);
            fail_conn(c, &st.err_alpn);
            return;
        }
        c->state = READY;
        if (o.h1) {
            c->slots = calloc(1, sizeof *c->slots);
            c->slots[0].c = c;
            c->slots[0].phase = T_PROXY_HEAD;
            h1_queue(c, h1_connect, h1_connect_len);
        } else {
            start_h2(c);
        }
    }
    /* READY: read what there is, then write what is queued. */
    uint8_t buf[65536];
    for (int rounds = 0; rounds < 16; rounds++) {
        ERR_clear_error();
        int r = SSL_read(c->ssl, buf, sizeof buf);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
            if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
                if (!c->idle_ok) remember("%s", "the proxy closed the connection");
                fail_conn(c, &st.err_closed);
            } else {
                remember("%s", "TLS read");
                fail_conn(c, &st.err_proto);
            }
            return;
        }
        if (c->h2) {
            ssize_t n = nghttp2_session_mem_recv(c->h2, buf, r);
            if (n < 0) {
                remember("nghttp2: %s", nghttp2_strerror(n));
                fail_conn(c, &st.err_proto);
                return;
            }
        } else {
            struct stream* s = &c->slots[0];
            int was = s->phase;
            if (tunnel_feed(s, buf, r)) {
                SSL_shutdown(c->ssl);
                close_conn(c);
                return;
            }
            if (s->phase == T_FAILED) {
                close_conn(c);
                return;
            }
            if (was == T_PROXY_HEAD && s->phase == T_HEAD) h1_queue(c, tunnel_get, tunnel_get_len);
        }
    }
    if (c->h2 && o.mode == GET && running)
        while (c->active < o.streams && submit_stream(c)) {
        }
    int w = flush(c);
    if (w < 0) {
        fail_conn(c, &st.err_proto);
        return;
    }
    if (c->h2 && !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) {
        if (!c->idle_ok) remember("%s", "the proxy ended the HTTP/2 session (GOAWAY)");
        fail_conn(c, &st.err_closed);
        return;
    }
    set_events(c, EPOLLIN | (w > 0 ? EPOLLOUT : 0));
}

/* ---- memory of the proxy's processes ---- */

static long rss_kb(void) {
    int set[512], n = 0;
    for (int i = 0; i < o.npids; i++)
        set[n++] = o.pids[i];
    for (int pass = 0; pass < 3; pass++) { /* descendants: nginx's workers, Apache's children */
        DIR* d = opendir("/proc");
        struct dirent* e;
        while (d && (e = readdir(d)) != NULL) {
            if (!isdigit((unsigned char)e->d_name[0])) continue;
            char path[300], line[512];
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            FILE* f = fopen(path, "r");
            if (!f) continue;
            int pid = 0, ppid = 0;
            if (fgets(line, sizeof line, f)) {
                char* rp = strrchr(line, ')');
                pid = atoi(line);
                if (rp) sscanf(rp + 2, "%*c %d", &ppid);
            }
            fclose(f);
            int have_parent = 0, have_self = 0;
            for (int i = 0; i < n; i++)
                have_parent |= set[i] == ppid, have_self |= set[i] == pid;
            if (have_parent && !have_self && n < 512) set[n++] = pid;
        }
        if (d) closedir(d);
    }
    long total = 0;
    for (int i = 0; i < n; i++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", set[i]);
        FILE* f = fopen(path, "r");
        if (!f) continue;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmRSS:", 6)) total += atol(line + 6);
        fclose(f);
    }
    return total;
}

/* ---- main ---- */

static void usage(void) {
    fprintf(stderr, "usage: h2load_proxy PORT --authority HOST:PORT [--path P] [--size BYTES] "
                    "[--time-limit S]\n"
                    "         [--conns C --streams S --seconds D]  (get, the default)\n"
                    "       | --connect [--h1] --streams N\n"
                    "       | --idle N --pid PID... [--concurrency K] [--hold S] [--settle S]\n");
    exit(2);
}

static void run_events(int timeout_ms) {
    struct epoll_event evs[128];
    int n = epoll_wait(ep, evs, 128, timeout_ms);
    for (int i = 0; i < n; i++)
        pump(evs[i].data.ptr);
}

static int all_settled(void) { /* no connection still opening */
    for (int i = 0; i < nconns; i++)
        if (conns[i].state == CONNECTING || conns[i].state == HANDSHAKING) return 0;
    return 1;
}

static void print_errors(void) {
    long e = st.err_connect + st.err_handshake + st.err_alpn + st.err_reset + st.err_status +
             st.err_size + st.err_closed + st.err_proto + st.err_timeout;
    if (!e) return;
    fprintf(
        stderr,
        "errors: connect %ld, handshake %ld, alpn %ld, reset %ld (first code %u), status %ld "
        "(first %d), "
        "size %ld, closed %ld, protocol %ld, timeout %ld; GOAWAYs %ld (first error code %u)%s%s\n",
        st.err_connect, st.err_handshake, st.err_alpn, st.err_reset, st.first_reset, st.err_status,
        st.first_status, st.err_size, st.err_closed, st.err_proto, st.err_timeout, st.goaways,
        st.goaway_code, st.first_error[0] ? "; first: " : "", st.first_error);
}

static long errors_total(void) {
    return st.err_connect + st.err_handshake + st.err_alpn + st.err_reset + st.err_status +
           st.err_size + st.err_closed + st.err_proto + st.err_timeout;
}

int main(int argc, char** argv) {
    if (argc < 2) usage();
    o.port = atoi(argv[1]);
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--authority") && more)
            o.authority = argv[++i];
        else if (!strcmp(a, "--path") && more)
            o.path = argv[++i];
        else if (!strcmp(a, "--size") && more)
            o.size = atoll(argv[++i]);
        else if (!strcmp(a, "--conns") && more)
            o.conns = atoi(argv[++i]);
        else if (!strcmp(a, "--streams") && more)
            o.streams = atoi(argv[++i]);
        else if (!strcmp(a, "--seconds") && more)
            o.seconds = atof(argv[++i]);
        else if (!strcmp(a, "--time-limit") && more)
            o.time_limit = atof(argv[++i]);
        else if (!strcmp(a, "--connect"))
            o.mode = CONNECT;
        else if (!strcmp(a, "--h1"))
            o.h1 = 1;
        else if (!strcmp(a, "--idle") && more)
            o.mode = IDLE, o.idle = atoi(argv[++i]);
        else if (!strcmp(a, "--concurrency") && more)
            o.concurrency = atoi(argv[++i]);
        else if (!strcmp(a, "--hold") && more)
            o.hold = atof(argv[++i]);
        else if (!strcmp(a, "--settle") && more)
            o.settle = atof(argv[++i]);
        else if (!strcmp(a, "--pid") && more) {
            while (i + 1 < argc && argv[i + 1][0] != '-' && o.npids < 16)
                o.pids[o.npids++] = atoi(argv[++i]);
        } else
            usage();
    }
    if (o.port <= 0 || o.port > 65535 || !o.authority || o.conns < 1 || o.conns > 10000 ||
        o.streams < 1 || o.streams > 10000 || o.seconds <= 0 || o.size < 0 ||
        (o.h1 && o.mode != CONNECT) ||
        (o.mode == IDLE && (o.idle < 1 || o.idle > 100000 || !o.npids || o.concurrency < 1)))
        usage();
    if (!o.time_limit) o.time_limit = o.mode == GET ? o.seconds + 20 : 600;
    signal(SIGPIPE, SIG_IGN);

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE,
                       NULL); /* the throwaway CA: nothing to gain from checking */
    if (o.h1)
        SSL_CTX_set_alpn_protos(ctx, (const unsigned char*)"\x08http/1.1", 9);
    else
        SSL_CTX_set_alpn_protos(ctx, (const unsigned char*)"\x02h2", 3);

    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
#define NV(n, v)                                                                                   \
    (nghttp2_nv){(uint8_t*)(n), (uint8_t*)(v), strlen(n), strlen(v),                               \
                 NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE}
    get_nv[0] = NV(":method", "GET");
    get_nv[1] = NV(":scheme", "http");
    get_nv[2] = NV(":authority", o.authority);
    get_nv[3] = NV(":path", o.path);
    connect_nv[0] = NV(":method", "CONNECT");
    connect_nv[1] = NV(":authority", o.authority);
    tunnel_get_len = snprintf(tunnel_get, sizeof tunnel_get, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                              o.path, o.authority);
    h1_connect_len = snprintf(h1_connect, sizeof h1_connect,
                              "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", o.authority, o.authority);

    ep = epoll_create1(EPOLL_CLOEXEC);
    double t_start = now(), limit = t_start + o.time_limit;
    if (o.mode == GET) {
        nconns = o.conns;
        conns = calloc(nconns, sizeof *conns);
        for (int i = 0; i < nconns; i++)
            open_conn(&conns[i]);
        /* the connections first (at most 10 s), with no stream yet: running = 0 */
        running = 0;
        while (!all_settled() && now() < t_start + 10)
            run_events(100);
        double t0 = now();
        window_end = t0 + o.seconds;
        running = 1;
        for (int i = 0; i < nconns; i++)
            if (conns[i].state == READY) pump(&conns[i]);
        while (now() < window_end && now() < limit)
            run_events(50);
        running = 0;
        double drain_end = now() + 5;
        for (;;) {
            int busy = 0;
            for (int i = 0; i < nconns; i++)
                busy += conns[i].state == READY ? conns[i].active : 0;
            if (!busy || now() > drain_end || now() > limit) {
                st.err_timeout += busy;
                break;
            }
            run_events(50);
        }
        printf("requests=%lld total=%lld errors=%ld seconds=%.2f rate=%.1f conns=%d streams=%d\n",
               st.ok, st.total, errors_total(), o.seconds, st.ok / o.seconds, o.conns, o.streams);
    } else if (o.mode == CONNECT) {
        nconns = o.h1 ? o.streams : 1;
        conns = calloc(nconns, sizeof *conns);
        for (int i = 0; i < nconns; i++)
            open_conn(&conns[i]);
        first_start =
            t_start; /* from the first connect: the handshakes take milliseconds of many seconds */
        int expected = o.streams;
        while (tunnels_done < expected && now() < limit) {
            int open = 0;
            for (int i = 0; i < nconns; i++)
                open += conns[i].state != DONE;
            if (!open) break;
            run_events(100);
        }
        long missing = expected - tunnels_done;
        if (missing > 0) st.err_timeout += missing;
        double took = (last_end > first_start ? last_end : now()) - first_start;
        printf("tunnels=%lld of %d bytes=%lld seconds=%.3f mbps=%.1f errors=%ld proto=%s\n", st.ok,
               expected, st.bytes, took, took > 0 ? st.bytes / took / 1e6 : 0.0, errors_total(),
               o.h1 ? "http/1.1" : "h2");
    } else {
        nconns = o.idle;
        conns = calloc(nconns, sizeof *conns);
        long before = rss_kb();
        int next = 0;
        while (now() < limit) {
            int opening = 0, done_count = 0;
            for (int i = 0; i < next; i++) {
                struct conn* c = &conns[i];
                if (c->state == CONNECTING || c->state == HANDSHAKING ||
                    (c->state == READY && !c->idle_ok))
                    opening++;
                else
                    done_count++;
            }
            while (opening < o.concurrency && next < nconns)
                open_conn(&conns[next++]), opening++;
            if (done_count == nconns) break;
            run_events(50);
        }
        double opened = now() - t_start;
        for (int i = 0; i < nconns; i++)
            if (conns[i].state != DONE && !conns[i].idle_ok)
                st.err_timeout++, close_conn(&conns[i]);
        double hold_end = now() + o.hold;
        while (now() < hold_end)
            run_events(50);
        long after = rss_kb(), last = after;
        double still_since = now(), settle_end = now() + 10;
        while (o.settle > 0 && now() < settle_end && now() - still_since < o.settle) {
            double tick = now() + 0.25;
            while (now() < tick)
                run_events(50);
            after = rss_kb();
            if (after != last) last = after, still_since = now();
        }
        long still = 0;
        for (int i = 0; i < nconns; i++)
            still += conns[i].state == READY && conns[i].idle_ok;
        printf("ok=%lld still_open=%ld closed=%ld failed=%ld rss_before_kb=%ld rss_after_kb=%ld "
               "rss_per_conn_b=%.0f "
               "seconds=%.2f\n",
               st.ok, still, st.closed_idle, errors_total() - st.closed_idle, before, after,
               still ? (after - before) * 1024.0 / still : 0.0, opened);
    }
    print_errors();
    for (int i = 0; i < nconns; i++) {
        if (conns[i].ssl && conns[i].state == READY) SSL_shutdown(conns[i].ssl);
        close_conn(&conns[i]);
        free(conns[i].slots);
    }
    free(conns);
    nghttp2_session_callbacks_del(callbacks);
    SSL_CTX_free(ctx);
    return st.ok > 0 ? 0 : 1;
}
