#include "support/test_dns.h"

#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry_test {

namespace {

constexpr std::uint16_t type_a = 1, type_aaaa = 28, class_in = 1;

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::uint16_t get16(const std::string& m, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(m[at]) << 8) |
                                      static_cast<unsigned char>(m[at + 1]));
}

void put16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}

void put32(std::string& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v >> 16));
    put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

// The question's name (dotted, as sent) and where the question's type begins; false if the
// name is malformed. Queries carry no compression pointers; one is refused here.
bool parse_name(const std::string& m, std::size_t& at, std::string& name) {
    name.clear();
    for (int labels = 0; labels < 128; ++labels) {
        if (at >= m.size()) return false;
        auto len = static_cast<unsigned char>(m[at++]);
        if (len == 0) return true;
        if (len > 63 || at + len > m.size()) return false;
        if (!name.empty()) name += '.';
        name.append(m, at, len);
        at += len;
    }
    return false;
}

} // namespace

test_dns::test_dns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

test_dns::~test_dns() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

void test_dns::set(const std::string& name, const std::vector<std::string>& addresses,
                   std::uint32_t ttl) {
    std::vector<record> records;
    for (const auto& a : addresses) {
        in_addr v4{};
        in6_addr v6{};
        if (inet_pton(AF_INET, a.c_str(), &v4) == 1)
            records.push_back({type_a, std::string(reinterpret_cast<char*>(&v4), 4), ttl});
        else if (inet_pton(AF_INET6, a.c_str(), &v6) == 1)
            records.push_back({type_aaaa, std::string(reinterpret_cast<char*>(&v6), 16), ttl});
    }
    std::lock_guard lock(mutex_);
    zone_[lower(name)] = std::move(records);
}

void test_dns::set_delay(const std::string& name, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    delays_[lower(name)] = delay;
}

int test_dns::queries(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(lower(name));
    return it == counts_.end() ? 0 : it->second;
}

void test_dns::serve() {
    while (!stopping_) {
        send_due();
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        char buf[1500];
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        const std::string query(buf, static_cast<std::size_t>(n));
        auto reply = answer(query);
        if (reply.empty() || silent_) continue;
        std::chrono::milliseconds delay{0};
        {
            std::lock_guard lock(mutex_);
            std::size_t at = 12;
            std::string name;
            if (parse_name(query, at, name))
                if (auto it = delays_.find(lower(name)); it != delays_.end()) delay = it->second;
        }
        delayed_.push_back({std::chrono::steady_clock::now() + delay, std::move(reply),
                            std::string(reinterpret_cast<const char*>(&from), from_len)});
        send_due();
    }
}

void test_dns::send_due() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = delayed_.begin(); it != delayed_.end();) {
        if (it->due > now) {
            ++it;
            continue;
        }
        ::sendto(fd_, it->reply.data(), it->reply.size(), 0,
                 reinterpret_cast<const sockaddr*>(it->to.data()),
                 static_cast<socklen_t>(it->to.size()));
        it = delayed_.erase(it);
    }
}

// The answer to one query message ("" to drop it): the header and the question echoed,
// then the records of the asked type, or NXDOMAIN.
std::string test_dns::answer(const std::string& query) {
    if (query.size() < 12) return {};
    const auto flags = get16(query, 2);
    if (flags & 0x8000) return {}; // a response, not a query
    if (get16(query, 4) != 1) return {};
    std::size_t at = 12;
    std::string name;
    if (!parse_name(query, at, name) || at + 4 > query.size()) return {};
    const auto qtype = get16(query, at);
    const auto qclass = get16(query, at + 2);
    const auto question_end = at + 4;

    const auto key = lower(name);
    bool known = false;
    std::vector<record> matching;
    {
        std::lock_guard lock(mutex_);
        ++counts_[key];
        ++total_;
        if (auto it = zone_.find(key); it != zone_.end()) {
            known = true;
            for (const auto& r : it->second)
                if (r.type == qtype && qclass == class_in) matching.push_back(r);
        }
    }

    std::string out;
    put16(out, get16(query, 0));                          // id
    std::uint16_t rflags = 0x8000 | 0x0400 | 0x0080;      // QR, AA, RA
    rflags |= static_cast<std::uint16_t>(flags & 0x7900); // opcode, RD
    if (!known) rflags |= 3;                              // NXDOMAIN
    put16(out, rflags);
    put16(out, 1); // one question
    put16(out, static_cast<std::uint16_t>(matching.size()));
    put16(out, 0);
    put16(out, 0);
    out.append(query, 12, question_end - 12);
    for (const auto& r : matching) {
        put16(out, 0xc00c); // the name: a pointer to the question's
        put16(out, r.type);
        put16(out, class_in);
        put32(out, r.ttl);
        put16(out, static_cast<std::uint16_t>(r.rdata.size()));
        out += r.rdata;
    }
    return out;
}

} // namespace ferry_test
