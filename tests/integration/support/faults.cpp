#include "support/faults.h"

#include "support/admin_client.h"
#include "support/requests.h"
#include "support/text.h"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

namespace ferry_test {

void reset_connection(tcp_stream& s) {
    linger l{1, 0};
    ::setsockopt(s.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    s.close();
}

void set_send_timeout(tcp_stream& s, std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool peer_gone(const tcp_stream& s) {
    pollfd p{s.fd(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool wait_metric(int admin_port, const std::string& sample, double value,
                 std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (fetch_metric(admin_port, sample) == value) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

std::vector<std::string> fault_ferry_args(std::vector<std::string> more) {
    std::vector<std::string> args{"--workers", "1", "--admin-listen", "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

::testing::AssertionResult resources_released(const ferry_process& ferry,
                                              std::chrono::milliseconds timeout) {
    const int port = admin_port(ferry);
    if (port == 0) return ::testing::AssertionFailure() << "ferry has no admin listener";
    for (const char* sample : {"ferry_client_connections", "ferry_upstream_connections"}) {
        if (!wait_metric(port, sample, 0, timeout))
            return ::testing::AssertionFailure()
                   << sample << " stayed at " << fetch_metric(port, sample) << " (not 0)";
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult stops_clean(ferry_process& ferry) {
    const int status = ferry.stop(SIGTERM, 20s);
    const auto err = ferry.err();
    for (const char* report : {"LeakSanitizer", "AddressSanitizer", "runtime error"}) {
        if (err.find(report) != std::string::npos)
            return ::testing::AssertionFailure()
                   << "ferry's stderr has a " << report << " report:\n"
                   << tail(err, 6000);
    }
    if (status == -1) return ::testing::AssertionFailure() << "ferry ignored SIGTERM";
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ::testing::AssertionFailure()
               << "ferry exited with status " << status << "; stderr:\n"
               << tail(err);
    return ::testing::AssertionSuccess();
}

test_origin::handler closing_handler() {
    return [](origin_connection& c) {
        auto head = c.read_head(10s);
        if (head.empty()) return;
        const auto at = head.find("/size/");
        const std::size_t n = at == std::string::npos ? 6 : std::stoul(head.substr(at + 6));
        c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) +
               "\r\nConnection: close\r\n\r\n" + pattern(n));
    };
}

bystander::bystander(int ferry_port, const test_origin& origin, std::size_t size) {
    auto request = get(origin, "/size/" + std::to_string(size), "Connection: close\r\n");
    thread_ = std::thread([this, ferry_port, request, size] { run(ferry_port, request, size); });
}

bystander::~bystander() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::vector<std::string> bystander::finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (done_ == 0) failures_.push_back("no exchange completed");
    return failures_;
}

void bystander::run(int ferry_port, std::string request, std::size_t size) {
    const auto expected = pattern(size);
    // At least a few exchanges, then until told to stop; bounded either way.
    for (int i = 0; i < 2000 && (i < 3 || !stop_); ++i) {
        auto s = tcp_stream::connect_to(ferry_port);
        if (!s.ok() || !s.send_all(request)) {
            failures_.push_back("cannot send to ferry");
            continue;
        }
        auto r = s.read_response(10s);
        if (status_of(r) != 200 || body_of(r) != expected)
            failures_.push_back("exchange " + std::to_string(i) + ": " + printable(r, 200));
        else
            ++done_;
        if (!s.peer_closed(2s)) failures_.push_back("Connection: close not honoured");
    }
}

fault_ferry::fault_ferry(std::vector<std::string> more)
    : other(closing_handler()), ferry(fault_ferry_args(std::move(more))) {
    if (ferry.started()) watcher.emplace(ferry.port(), other);
}

void fault_ferry::expect_all_well() {
    if (watcher) {
        const auto failures = watcher->finish();
        EXPECT_TRUE(failures.empty())
            << failures.size() << " failures, first: " << failures.front();
    }
    EXPECT_TRUE(resources_released(ferry));
    EXPECT_TRUE(stops_clean(ferry));
}

} // namespace ferry_test
