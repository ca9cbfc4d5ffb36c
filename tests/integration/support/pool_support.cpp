#include "support/pool_support.h"

#include "support/log_lines.h"
#include "support/ports.h"

#include <fmt/format.h>
#include <regex>
#include <thread>

namespace ferry_test {

namespace {

std::string path_of(std::string_view head) {
    auto sp1 = head.find(' ');
    auto sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return {};
    auto target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    // Absolute form (a proxy's request) or origin form: the path either way.
    if (auto scheme = target.find("://"); scheme != std::string_view::npos) {
        auto slash = target.find('/', scheme + 3);
        target = slash == std::string_view::npos ? "/" : target.substr(slash);
    }
    return std::string(target);
}

} // namespace

int connection_record::opened() {
    std::lock_guard lock(mutex_);
    return ++opened_;
}

void connection_record::request(int conn, std::string_view head) {
    std::lock_guard lock(mutex_);
    requests_.emplace_back(conn, std::string(head.substr(0, head.find("\r\n"))));
}

void connection_record::peer_closed(int conn) {
    {
        std::lock_guard lock(mutex_);
        closed_.push_back(conn);
        closed_at_[conn] = std::chrono::steady_clock::now();
    }
    changed_.notify_all();
}

int connection_record::opened_count() const {
    std::lock_guard lock(mutex_);
    return opened_;
}

std::vector<int> connection_record::closed_by_peer() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::optional<std::chrono::steady_clock::time_point> connection_record::closed_at(int conn) const {
    std::lock_guard lock(mutex_);
    auto it = closed_at_.find(conn);
    if (it == closed_at_.end()) return std::nullopt;
    return it->second;
}

bool connection_record::wait_closed_by_peer(std::size_t n,
                                            std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return closed_.size() >= n; });
}

int connection_record::requests_for(std::string_view method, std::string_view path) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& r : requests_)
        if (r.second.rfind(std::string(method) + " ", 0) == 0 && path_of(r.second) == path) ++n;
    return n;
}

std::string connection_record::summary() const {
    std::lock_guard lock(mutex_);
    std::string s = fmt::format("{} connection(s); requests:\n", opened_);
    constexpr std::size_t shown = 30;
    for (std::size_t i = 0; i < requests_.size() && i < shown; ++i)
        s += fmt::format("  conn {}: {}\n", requests_[i].first, requests_[i].second);
    if (requests_.size() > shown) s += fmt::format("  ({} more)\n", requests_.size() - shown);
    s += "closed by ferry:";
    for (int c : closed_)
        s += fmt::format(" {}", c);
    return s + "\n";
}

void connection_record::enter() {
    {
        std::lock_guard lock(mutex_);
        ++in_flight_;
    }
    changed_.notify_all();
}

bool connection_record::wait_gathered(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return in_flight_ >= n; });
}

std::string identity_body(std::string_view name, int conn, int req, std::string_view path) {
    return fmt::format("{} conn {} req {} {}", name, conn, req, path);
}

bool send_identity(origin_exchange& x) {
    auto body = identity_body(x.name, x.conn, x.req, x.path);
    return x.c.send(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: {}\r\n\r\n{}",
                                body.size(), body));
}

origin_script gathering(int n, std::chrono::milliseconds stagger) {
    return [n, stagger](origin_exchange& x) {
        x.record.enter();
        x.record.wait_gathered(n, 5s);
        std::this_thread::sleep_for(stagger * x.conn);
        return send_identity(x);
    };
}

numbered_origin::numbered_origin(std::string name, origin_script script)
    : name_(std::move(name)),
      origin_([name = name_, record = record_,
               script = script ? std::move(script)
                               : origin_script(send_identity)](origin_connection& c) {
          const int conn = record->opened();
          for (int req = 1;; ++req) {
              // Long enough that an empty read means ferry closed the connection.
              auto head = c.read_head(30s);
              if (head.empty()) {
                  record->peer_closed(conn);
                  return;
              }
              record->request(conn, head);
              bool ok = true;
              c.read_body(head, ok, 5s);
              if (!ok) return;
              origin_exchange x{name, *record, c, conn, req, head, path_of(head)};
              if (!script(x)) return;
          }
      }) {}

std::string proxy_request(const test_origin& origin, std::string_view method, std::string_view path,
                          std::string_view body) {
    std::string framing =
        body.empty() ? std::string() : fmt::format("Content-Length: {}\r\n", body.size());
    return fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n{}\r\n{}", method, origin.url(path),
                       origin.authority(), framing, body);
}

std::string exchange_once(const ferry_process& ferry, const std::string& request, bool head_only) {
    auto s = tcp_stream::connect_to(ferry.port());
    if (!s.ok()) return {};
    const int port = local_port_of(s);
    if (!s.send_all(request)) return {};
    auto response = s.read_response(5s, head_only);
    s.close();
    wait_for_line(ferry, {fmt::format("[CLI disconnected from 127.0.0.1:{}]", port)}, 5s);
    return response;
}

std::vector<upstream_event> upstream_events(const std::string& flow_log) {
    static const std::regex header(R"(--- connection #(\d+) ---)");
    static const std::regex event(R"(\[SRV (?:connected to (\S+)|connection to (\S+) reused)\])");
    std::vector<upstream_event> events;
    int current = 0;
    for (const auto& line : lines_of(flow_log)) {
        std::smatch m;
        if (std::regex_match(line, m, header)) {
            current = std::stoi(m.str(1));
        } else if (std::regex_match(line, m, event)) {
            const bool reused = m[2].matched;
            events.push_back({current, reused ? m.str(2) : m.str(1), reused});
        }
    }
    return events;
}

int count_reused(const std::string& flow_log, std::string_view upstream) {
    int n = 0;
    for (const auto& e : upstream_events(flow_log))
        if (e.reused && e.upstream == upstream) ++n;
    return n;
}

int count_connected(const std::string& flow_log, std::string_view upstream) {
    int n = 0;
    for (const auto& e : upstream_events(flow_log))
        if (!e.reused && e.upstream == upstream) ++n;
    return n;
}

} // namespace ferry_test
