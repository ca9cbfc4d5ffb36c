#include "app/admin.h"

#include "frontend/pages.h"
#include "net/listener.h"
#include "net/tcp_stream.h"
#include "observe/clock.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace ferry::app {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

http::local_reply admin_page(const http::request_head& r, const admin_server::page& metrics) {
    const auto target = r.target.substr(0, r.target.find('?'));
    if (target != "/metrics" && target != "/healthz") return {404, "ferry: not found\n", true};
    if (r.method != "GET") {
        http::local_reply refused{405, "ferry: only GET\n", true};
        refused.extra_fields = "Allow: GET\r\n";
        return refused;
    }
    http::local_reply ok{200, target == "/healthz" ? std::string("ok\n") : metrics(), true};
    if (target == "/metrics") ok.content_type = "text/plain; version=0.0.4; charset=utf-8";
    ok.extra_fields = "Cache-Control: no-store\r\n";
    return ok;
}

asio::awaitable<void> serve(std::unique_ptr<net::stream> client, admin_server::page metrics,
                            explain_pages* explain) {
    const frontend::page_limits limits;
    frontend::page_request request;
    if (!co_await frontend::read_page_request(*client, limits, request)) co_return;
    http::local_reply reply = request.refusal;
    if (request.parsed) {
        std::optional<http::local_reply> answer;
        if (explain) answer = co_await explain->route(request.head);
        reply = answer ? std::move(*answer) : admin_page(request.head, metrics);
        reply.close = true;
        reply.head_only = request.head.method == "HEAD" && reply.status < 300;
    }
    const auto date = observe::http_date(std::chrono::system_clock::now());
    co_await frontend::send_page_reply(*client, reply, date, limits.timeout);
}

} // namespace

http::local_reply admin_route(std::string_view head, const admin_server::page& metrics) {
    return frontend::answer_page(
        head, [&metrics](const http::request_head& r) { return admin_page(r, metrics); });
}

admin_server::admin_server(asio::io_context& io, tcp::acceptor acceptor, page metrics,
                           explain_pages* explain)
    : io_(io), acceptor_(std::move(acceptor)), metrics_(std::move(metrics)), explain_(explain),
      now_(std::chrono::steady_clock::now()), ticker_(io) {
    boost::system::error_code ec;
    port_ = acceptor_.local_endpoint(ec).port();
}

void admin_server::start() {
    asio::co_spawn(
        io_,
        net::accept_loop(acceptor_,
                         [this](tcp::socket s) {
                             auto stream =
                                 std::make_unique<net::tcp_stream>(std::move(s), now_, &deadlines_);
                             asio::co_spawn(io_, serve(std::move(stream), metrics_, explain_),
                                            asio::detached);
                         }),
        asio::detached);
    tick();
}

void admin_server::tick() {
    now_ = std::chrono::steady_clock::now();
    deadlines_.expire_passed(now_);
    // After stop, only while page connections are left: each ends within its timeout.
    if (stopped_ && deadlines_.size() == 0) return;
    ticker_.expires_after(200ms);
    ticker_.async_wait([this](boost::system::error_code ec) {
        if (!ec) tick();
    });
}

void admin_server::stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

} // namespace ferry::app
