#include "upstream/parent_tls.h"

#include <boost/asio/error.hpp>
#include <fmt/format.h>

namespace ferry::upstream {

namespace {
core::error failed(const route& where, std::string_view why, bool timed_out = false) {
    return {timed_out ? core::errc::connect_timeout : core::errc::connect_failed,
            fmt::format("ferry: TLS to parent {} failed: {}",
                        host_port_label(where.host, where.port), why)};
}
} // namespace

boost::asio::awaitable<core::error> start_tls(connection& c, parent_tls* tls, const route& where,
                                              net::deadline_list& deadlines,
                                              net::steady_time until) {
    const tls::client_context* context = tls ? tls->context.get() : nullptr;
    if (!context) co_return failed(where, "no TLS client context");
    std::string problem;
    auto ssl = tls->sessions.new_ssl(*context, where.host, where.port, problem);
    if (!ssl) co_return failed(where, problem);
    c.start_tls(std::move(ssl), &deadlines);
    auto& stream = *c.tls();
    // What is left of the connect timeout (at least a moment: the ticker's precision).
    const auto left =
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(until - stream.now()),
                 std::chrono::milliseconds(200));
    // The parent's answers must be framed: a close without close_notify is not an end.
    stream.truncation_is_eof = false;
    if (auto ec = co_await stream.handshake(left)) {
        const auto why = tls::handshake_problem(stream.ssl(), ec);
        co_return failed(where, why, ec == boost::asio::error::timed_out);
    }
    co_return core::error{};
}

bool under_current_context(connection& c, const parent_tls* tls) {
    const tls::client_context* context = tls ? tls->context.get() : nullptr;
    return context && c.tls() && SSL_get_SSL_CTX(c.tls()->ssl()) == context->native();
}

} // namespace ferry::upstream
