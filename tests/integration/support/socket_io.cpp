#include "support/socket_io.h"

#include "support/text.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry_test {

tcp_stream::~tcp_stream() {
    close();
}

tcp_stream& tcp_stream::operator=(tcp_stream&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        pending_ = std::move(o.pending_);
        o.fd_ = -1;
    }
    return *this;
}

tcp_stream tcp_stream::connect_to(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return tcp_stream{};
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return tcp_stream{fd};
}

bool tcp_stream::send_all(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(std::size_t(n));
    }
    return true;
}

void tcp_stream::shutdown_write() {
    ::shutdown(fd_, SHUT_WR);
}

void tcp_stream::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

int tcp_stream::read_some(std::string& into, std::chrono::milliseconds timeout) {
    if (!pending_.empty()) {
        into += pending_;
        pending_.clear();
        return 1;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, int(timeout.count()));
    if (r <= 0) return -1;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return errno == ECONNRESET ? 0 : -1;
    into.append(buf, std::size_t(n));
    return n > 0 ? 1 : 0;
}

std::string tcp_stream::read_until_close(std::chrono::milliseconds timeout) {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (read_some(data, std::max(left, 1ms)) <= 0) break;
    }
    return data;
}

std::string tcp_stream::read_until(std::string_view needle, std::chrono::milliseconds timeout) {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto at = data.find(needle);
        if (at != std::string::npos) {
            pending_ = data.substr(at + needle.size());
            data.resize(at + needle.size());
            return data;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || read_some(data, left) <= 0) return data;
    }
}

std::string tcp_stream::read_exact(std::size_t n, std::chrono::milliseconds timeout) {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (data.size() < n) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || read_some(data, left) <= 0) break;
    }
    if (data.size() > n) {
        pending_ = data.substr(n) + pending_;
        data.resize(n);
    }
    return data;
}

bool tcp_stream::peer_closed(std::chrono::milliseconds timeout) {
    std::string data;
    int r = read_some(data, timeout);
    if (r == 0) return true;
    if (r > 0) pending_ = data + pending_;
    return false;
}

std::string tcp_stream::read_response(std::chrono::milliseconds timeout, bool head_only) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
        return std::max(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                 deadline - std::chrono::steady_clock::now()));
    };
    std::string message;
    // Interim 1xx responses are part of what is returned, followed by the final one.
    for (;;) {
        auto head = read_until("\r\n\r\n", left());
        if (head.find("\r\n\r\n") == std::string::npos) return message + head;
        message += head;
        int status = status_of(head);
        if (status >= 200 || status == 101) {
            if (head_only || status == 204 || status == 304 || status == 101) return message;
            auto cl = header_value(head, "content-length");
            if (!cl.empty()) return message + read_exact(std::stoull(cl), left());
            auto te = header_value(head, "transfer-encoding");
            if (strcasecmp(te.c_str(), "chunked") == 0) {
                std::string body;
                for (;;) { // size line, data, CRLF ... last chunk, trailers, CRLF
                    auto line = read_until("\r\n", left());
                    body += line;
                    if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n") break;
                    auto size = std::stoull(line, nullptr, 16);
                    if (size == 0) {
                        for (;;) {
                            auto t = read_until("\r\n", left());
                            body += t;
                            if (t == "\r\n" || t.size() < 2) break;
                        }
                        break;
                    }
                    body += read_exact(size + 2, left());
                }
                return message + body;
            }
            return message + read_until_close(left());
        }
    }
}

cut_response read_cut_response(int port, std::string_view request, std::chrono::milliseconds wait) {
    cut_response r;
    auto s = tcp_stream::connect_to(port);
    if (!s.ok() || !s.send_all(request)) return r;
    r.head = s.read_until("\r\n\r\n", 5s);
    r.rest = s.read_until_close(wait);
    r.closed = s.peer_closed(1s);
    return r;
}

char pattern_byte(std::uint64_t i, std::uint64_t seed) {
    std::uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return static_cast<char>(x >> ((i % 8) * 8));
}

std::string pattern(std::size_t n, std::uint64_t seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = pattern_byte(i, seed);
    return s;
}

std::uint64_t hash_pattern(std::size_t n, std::uint64_t seed) {
    fnv1a h;
    char buf[65536];
    for (std::size_t i = 0; i < n;) {
        std::size_t k = std::min(sizeof buf, n - i);
        for (std::size_t j = 0; j < k; ++j)
            buf[j] = pattern_byte(i + j, seed);
        h.update(buf, k);
        i += k;
    }
    return h.h;
}

bool dechunk(std::string_view raw, std::string& out) {
    out.clear();
    for (;;) {
        auto eol = raw.find("\r\n");
        if (eol == std::string_view::npos) return false;
        std::size_t size = 0;
        try {
            size = std::stoull(std::string(raw.substr(0, eol)), nullptr, 16);
        } catch (...) {
            return false;
        }
        raw.remove_prefix(eol + 2);
        if (size == 0) return true; // trailers follow
        if (raw.size() < size + 2 || raw.substr(size, 2) != "\r\n") return false;
        out.append(raw.substr(0, size));
        raw.remove_prefix(size + 2);
    }
}

std::vector<std::string> header_values(std::string_view head, std::string_view name) {
    std::vector<std::string> values;
    head = head_of(head);
    for (auto pos = head.find("\r\n"); pos != std::string_view::npos;) {
        auto start = pos + 2;
        auto end = head.find("\r\n", start);
        if (end == std::string_view::npos || end == start) break;
        auto line = head.substr(start, end - start);
        auto colon = line.find(':');
        if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
            values.emplace_back(trim(line.substr(colon + 1)));
        }
        pos = end;
    }
    return values;
}

std::string header_value(std::string_view head, std::string_view name) {
    auto values = header_values(head, name);
    return values.empty() ? std::string{} : values.front();
}

int status_of(std::string_view response) {
    if (response.size() < 12 || response.substr(0, 5) != "HTTP/") return 0;
    return std::atoi(std::string(response.substr(9, 3)).c_str());
}

std::string_view head_of(std::string_view message) {
    auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 4);
}

std::string_view body_of(std::string_view message) {
    auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? std::string_view{} : message.substr(end + 4);
}

} // namespace ferry_test
