// The admit phase: the client's proxy credentials (when --htpasswd is set) and the access
// rules' verdict on what it asks for.
#include "proxy/exchange.h"

#include "http/head_parser.h"
#include "observe/counter.h"
#include "observe/metrics.h"

#include <fmt/format.h>
#include <unistd.h>

namespace ferry::proxy {

namespace asio = boost::asio;

namespace {

// One write(2) per line, so that lines from several workers never interleave.
void write_stderr(const std::string& line) {
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        auto n = ::write(STDERR_FILENO, data, left);
        if (n <= 0) return;
        data += n;
        left -= std::size_t(n);
    }
}

} // namespace

bool exchange::wants_credentials_check() const {
    // A connection with a verified certificate has its user already.
    return ctx_.auth().enabled() && !client_.identity &&
           !http::find_field(req_, "proxy-authorization").empty();
}

policy::acl_verdict exchange::access_verdict(const http::target& dest,
                                             const std::string* user) const {
    std::string host(dest.where.host);
    for (auto& c : host)
        c = http::to_lower(c);
    return access_verdict_at(host, dest.where.port, user, nullptr);
}

policy::acl_verdict exchange::access_verdict_at(std::string_view host, std::uint16_t port,
                                                const std::string* user,
                                                const asio::ip::address* address) const {
    policy::acl_request request;
    request.client = client_.address;
    request.host = host;
    request.port = port;
    request.method = req_.method;
    request.user = user;
    request.address = address;
    request.auth_available = ctx_.auth().enabled();
    return policy::evaluate(settings().acl, ctx_.default_policy(), request);
}

bool exchange::safe_destinations() const {
    return policy::safe_destinations_apply(settings(), ctx_.default_policy());
}

policy::destination_category exchange::destination_category_of(const asio::ip::address& a,
                                                               std::uint16_t port) const {
    const auto admin = ctx_.admin_endpoint();
    if (admin && is_self_endpoint({policy::reached_address(a), port}, std::span(&*admin, 1)))
        return policy::destination_category::admin_listener;
    return policy::classify(a, settings().private_destinations == "deny");
}

bool exchange::egress_checked(const upstream::route& where) const {
    return !where.parent &&
           (safe_destinations() || policy::needs_address(settings().acl, where.host));
}

namespace {

void count_destination(observe::metrics_shard& m, policy::destination_category c) {
    static_assert(std::size_t(policy::destination_category::unique_local) ==
                  observe::destination_category_names.size());
    if (c != policy::destination_category::none) m.destination_denied(std::size_t(c) - 1);
}

} // namespace

void exchange::count_refusal(const egress_tally& tally) {
    if (!tally.refused) return;
    if (tally.category == policy::destination_category::none)
        ctx_.metrics().denied(tally.rule);
    else
        count_destination(ctx_.metrics(), tally.category);
}

std::string exchange::egress_refusal(const upstream::route& where, const asio::ip::address& a,
                                     egress_tally* tally) {
    const bool first = tally && !tally->refused;
    const std::string* user = rec_.user.empty() ? nullptr : &rec_.user;
    const auto verdict = access_verdict_at(where.host, where.port, user, &a);
    if (verdict.what != policy::acl_verdict::kind::allow) {
        if (first) *tally = {true, verdict.rule, policy::destination_category::none};
        if (verdict.reason.empty())
            return fmt::format("ferry: {} ({}) needs authentication for its address", where.label,
                               a.to_string());
        return fmt::format("{} ({} is {})", verdict.reason, where.host, a.to_string());
    }
    if (!safe_destinations()) return {};
    const auto category = destination_category_of(a, where.port);
    if (category == policy::destination_category::none ||
        policy::explicitly_allowed(settings().acl, verdict, where.host, a, category))
        return {};
    if (first) *tally = {true, 0, category};
    return policy::destination_refusal(a, where.port, category);
}

std::string exchange::parent_literal_refusal(const upstream::route& where) {
    if (!where.parent || !safe_destinations()) return {};
    const std::string* user = rec_.user.empty() ? nullptr : &rec_.user;
    // Through the parent, only what the host says by itself (a literal, "localhost") is known.
    for (const auto& a : parent_known_addresses(where.origin)) {
        const auto category = destination_category_of(a, where.origin_port);
        if (category == policy::destination_category::none) continue;
        const auto verdict = access_verdict_at(where.origin, where.origin_port, user, &a);
        if (policy::explicitly_allowed(settings().acl, verdict, where.origin, a, category))
            continue;
        count_destination(ctx_.metrics(), category);
        return policy::destination_refusal(a, where.origin_port, category);
    }
    return {};
}

void exchange::note_auth_failure(const auth::result& verdict) {
    // Logged once per request, whatever is answered (fail2ban reads these lines); a missing
    // header is a browser's first try, not a failure.
    if (verdict.what == auth::result::outcome::missing || verdict.ok()) return;
    write_stderr(auth::failure_line(verdict, client_.label));
    observe::bump(ctx_.metrics().auth_failures);
}

asio::awaitable<auth::result> exchange::check_credentials() {
    const auto value = http::find_field(req_, "proxy-authorization");
    const int fields = http::count_fields(req_, "proxy-authorization");
    auto verdict = co_await ctx_.auth().check(value, fields);
    if (verdict.ok()) rec_.user = verdict.user;
    co_return verdict;
}

asio::awaitable<next> exchange::refuse_credentials(const auth::result& verdict, bool has_body) {
    using outcome = auth::result::outcome;
    // A missing header is a client's first try, not a failure (browsers ask only after a 407).
    std::string cause = "ferry: proxy authentication required";
    if (verdict.what == outcome::malformed)
        cause = "ferry: " + verdict.problem;
    else if (verdict.what != outcome::missing)
        cause = "ferry: proxy authentication failed";
    rec_.cause = cause;
    // Browsers retry on the same connection: keep it unless an unread body is in the way.
    http::local_reply r{407, cause + "\n", has_body};
    r.extra_fields = ctx_.auth().challenge();
    co_return co_await reply(r);
}

} // namespace ferry::proxy
