// Blocking socket helpers with timeouts, for raw-byte clients and test origins.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry_test {

using namespace std::chrono_literals;

// A connected TCP socket (owning its descriptor).
class tcp_stream {
public:
    tcp_stream() = default;
    explicit tcp_stream(int fd) : fd_(fd) {}
    ~tcp_stream();
    tcp_stream(tcp_stream&& o) noexcept : fd_(o.fd_), pending_(std::move(o.pending_)) {
        o.fd_ = -1;
    }
    tcp_stream& operator=(tcp_stream&& o) noexcept;

    // Connects to 127.0.0.1:port; check ok().
    static tcp_stream connect_to(int port);

    bool ok() const { return fd_ >= 0; }
    int fd() const { return fd_; }

    bool send_all(std::string_view data);
    // Shuts down the write side (the peer reads EOF).
    void shutdown_write();
    void close();

    // Reads whatever arrives until the peer closes or `timeout` passes.
    std::string read_until_close(std::chrono::milliseconds timeout = 5s);
    // Reads until `needle` is in the data read so far (returns all, needle included,
    // and keeps any bytes after it for the next read), or timeout/close.
    std::string read_until(std::string_view needle, std::chrono::milliseconds timeout = 5s);
    // Reads exactly n bytes (fewer on close or timeout).
    std::string read_exact(std::size_t n, std::chrono::milliseconds timeout = 5s);
    // True when the peer has closed (EOF or reset) within `timeout` and sent nothing more.
    bool peer_closed(std::chrono::milliseconds timeout = 5s);

    // One HTTP/1.1 response: head plus a body framed by Content-Length or chunked (raw,
    // undecoded), or up to close when neither. `head_only`: a response to HEAD.
    std::string read_response(std::chrono::milliseconds timeout = 5s, bool head_only = false);

private:
    int read_some(std::string& into,
                  std::chrono::milliseconds timeout); // >0 got, 0 eof, -1 timeout/err
    int fd_ = -1;
    std::string pending_;
};

// A response ferry is expected to cut short: `request` sent on a new connection to `port`,
// the head read, then the rest until ferry closes (`closed`: it did, within `wait`).
struct cut_response {
    std::string head, rest;
    bool closed = false;
};
cut_response read_cut_response(int port, std::string_view request, std::chrono::milliseconds wait);

// Deterministic body bytes: byte i of a body made by pattern is the same for every test.
std::string pattern(std::size_t n, std::uint64_t seed = 1);
char pattern_byte(std::uint64_t i, std::uint64_t seed = 1);

// FNV-1a 64, for comparing large bodies.
struct fnv1a {
    std::uint64_t h = 1469598103934665603ull;
    void update(const char* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            h ^= static_cast<unsigned char>(p[i]);
            h *= 1099511628211ull;
        }
    }
};
std::uint64_t hash_pattern(std::size_t n, std::uint64_t seed = 1);

// Decodes a chunked body (raw bytes from "<size>\r\n" to the end); false if malformed.
bool dechunk(std::string_view raw, std::string& out);

// The value of a header in a raw head ("" when absent), case-insensitive name.
std::string header_value(std::string_view head, std::string_view name);
// Every value of a header in a raw head, in order.
std::vector<std::string> header_values(std::string_view head, std::string_view name);
// The status code of a raw response ("HTTP/1.1 200 OK..." → 200), 0 if none.
int status_of(std::string_view response);
// Head and body of a raw message.
std::string_view head_of(std::string_view message);
std::string_view body_of(std::string_view message);

} // namespace ferry_test
