#include "support/origin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry_test {

std::string origin_connection::read_head(std::chrono::milliseconds timeout) {
    auto head = stream.read_until("\r\n\r\n", timeout);
    received += head;
    if (head.find("\r\n\r\n") == std::string::npos) return {};
    return head;
}

std::string origin_connection::read_body(std::string_view head, bool& ok,
                                         std::chrono::milliseconds timeout) {
    ok = true;
    auto cl = header_value(head, "content-length");
    if (!cl.empty()) {
        auto n = std::stoull(cl);
        auto body = stream.read_exact(n, timeout);
        received += body;
        ok = body.size() == n;
        return body;
    }
    if (strcasecmp(header_value(head, "transfer-encoding").c_str(), "chunked") != 0) return {};
    std::string raw, body;
    for (;;) {
        auto line = stream.read_until("\r\n", timeout);
        raw += line;
        if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") {
            ok = false;
            break;
        }
        auto size = std::stoull(line, nullptr, 16);
        if (size == 0) {
            for (;;) {
                auto t = stream.read_until("\r\n", timeout);
                raw += t;
                if (t == "\r\n" || t.size() < 2) break;
            }
            break;
        }
        auto data = stream.read_exact(size + 2, timeout);
        raw += data;
        if (data.size() != size + 2) {
            ok = false;
            break;
        }
        body.append(data, 0, size);
    }
    received += raw;
    return body;
}

test_origin::test_origin(handler h, bool ipv6) : handler_(h ? std::move(h) : standard_handler) {
    listen_fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ipv6) {
        setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 addr{};
        addr.sin6_family = AF_INET6;
        addr.sin6_addr = in6addr_loopback;
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        listen(listen_fd_, 1024);
        socklen_t len = sizeof addr;
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin6_port);
    } else {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        listen(listen_fd_, 1024);
        socklen_t len = sizeof addr;
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    acceptor_ = std::thread([this] { accept_loop(); });
}

test_origin::~test_origin() {
    stopping_ = true;
    acceptor_.join();
    {
        std::lock_guard lock(mutex_);
        for (auto* c : live_)
            ::shutdown(c->stream.fd(), SHUT_RDWR);
    }
    for (auto& t : workers_)
        t.join();
    ::close(listen_fd_);
}

void test_origin::accept_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        // Heads and bodies go out in separate writes: without this, Nagle and the peer's
        // delayed ACK stall each response by tens of milliseconds.
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ++accepted_;
        std::lock_guard lock(mutex_);
        workers_.emplace_back([this, fd] {
            origin_connection c{tcp_stream{fd}};
            {
                std::lock_guard l(mutex_);
                live_.push_back(&c);
            }
            handler_(c);
            c.stream.close();
            std::lock_guard l(mutex_);
            std::erase(live_, &c);
            finished_.push_back(std::move(c.received));
            ++ended_;
        });
    }
}

std::string test_origin::received() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& r : finished_)
        all += r;
    for (const auto* c : live_)
        all += c->received;
    return all;
}

bool test_origin::wait_closed(int n, std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (ended_.load() >= n) return true;
        std::this_thread::sleep_for(10ms);
    }
    return ended_.load() >= n;
}

namespace {

std::string path_of(std::string_view head) {
    auto sp1 = head.find(' ');
    auto sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return {};
    return std::string(head.substr(sp1 + 1, sp2 - sp1 - 1));
}

std::string response(int status, std::string_view body, std::string_view extra = {}) {
    return "HTTP/1.1 " + std::to_string(status) +
           " Test\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nContent-Type: application/octet-stream\r\n" + std::string(extra) + "\r\n" +
           std::string(body);
}

std::size_t number_after(const std::string& path, std::string_view prefix) {
    return std::stoull(path.substr(prefix.size()));
}

// Sends n pattern bytes in pieces, without building the whole body in memory.
bool send_pattern(origin_connection& c, std::size_t n, bool chunked) {
    std::string piece;
    for (std::size_t i = 0; i < n;) {
        std::size_t k = std::min<std::size_t>(chunked ? 1000 : 65536, n - i);
        piece.resize(k);
        for (std::size_t j = 0; j < k; ++j)
            piece[j] = pattern_byte(i + j);
        if (chunked) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", k);
            if (!c.send(size + piece + "\r\n")) return false;
        } else if (!c.send(piece)) {
            return false;
        }
        i += k;
    }
    return !chunked || c.send("0\r\n\r\n");
}

} // namespace

void test_origin::standard_handler(origin_connection& c) {
    for (;;) {
        auto head = c.read_head();
        if (head.empty()) return;
        bool ok = true;
        auto path = path_of(head);
        const bool is_head = head.rfind("HEAD ", 0) == 0;
        if (path == "/continue" &&
            strcasecmp(header_value(head, "expect").c_str(), "100-continue") == 0)
            c.send("HTTP/1.1 100 Continue\r\n\r\n");
        auto body = c.read_body(head, ok);
        if (!ok) return;
        if (path.rfind("/size/", 0) == 0) {
            auto n = number_after(path, "/size/");
            c.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                   std::to_string(n) + "\r\n\r\n");
            if (!is_head && !send_pattern(c, n, false)) return;
        } else if (path.rfind("/chunked/", 0) == 0) {
            c.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
            if (!is_head && !send_pattern(c, number_after(path, "/chunked/"), true)) return;
        } else if (path.rfind("/close/", 0) == 0) {
            c.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   "Connection: close\r\n\r\n");
            if (!is_head) send_pattern(c, number_after(path, "/close/"), false);
            return;
        } else if (path == "/echo" || path == "/continue") {
            c.send(response(200, is_head ? "" : body));
        } else if (path == "/headers") {
            c.send(response(200, head));
        } else if (path.rfind("/status/", 0) == 0) {
            int status = int(number_after(path, "/status/"));
            c.send("HTTP/1.1 " + std::to_string(status) + " Test\r\n" +
                   (status == 204 || status == 304 ? "" : "Content-Length: 0\r\n") + "\r\n");
        } else if (path.rfind("/slow/", 0) == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(number_after(path, "/slow/")));
            c.send(response(200, "slow\n"));
        } else {
            c.send(response(200, is_head ? "" : "hello\n", is_head ? "" : ""));
        }
    }
}

} // namespace ferry_test
