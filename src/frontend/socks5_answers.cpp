#include "frontend/socks5_answers.h"

#include <cerrno>

namespace ferry::frontend::socks5 {

method choose_method(const greeting& g, bool password_available, bool may_pass_without_user) {
    if (password_available && g.password) return method::password;
    if (g.no_auth && may_pass_without_user) return method::no_auth;
    return method::none_acceptable;
}

bool may_pass_without_user(const std::vector<config::acl_rule>& rules,
                           policy::default_policy fallback, const boost::asio::ip::address& client,
                           bool auth_available) {
    if (rules.empty()) {
        const bool allowed = fallback == policy::default_policy::loopback_only
                                 ? policy::is_loopback(client)
                                 : policy::is_private(client);
        return allowed && !auth_available;
    }
    policy::acl_request request;
    request.client = client;
    request.method = "CONNECT";
    request.auth_available = auth_available;
    for (const auto& rule : rules) {
        if (rule.action != config::acl_rule::verdict::allow || rule.users_given) continue;
        // Its client CIDRs are checked first: any other condition may still hold for some
        // destination.
        if (policy::judge_rule(rule, request) != policy::rule_outcome::client) return true;
    }
    return false;
}

reply reply_for_failure(core::errc problem, int system_error, int status) {
    using core::errc;
    switch (problem) {
    case errc::forbidden:
    case errc::auth_required:
    case errc::loop_detected:
    case errc::forwarding_loop:
        return reply::not_allowed;
    case errc::resolve_failed:
        return reply::host_unreachable;
    case errc::resolve_timeout:
    case errc::connect_timeout:
    case errc::response_timeout:
        return reply::ttl_expired;
    case errc::connect_failed:
        switch (system_error) {
        case ECONNREFUSED:
            return reply::connection_refused;
        case ENETUNREACH:
            return reply::network_unreachable;
        case EHOSTUNREACH:
            return reply::host_unreachable;
        case ETIMEDOUT: // the kernel gave up on the SYN: a timeout, as ferry's own is
            return reply::ttl_expired;
        default:
            return reply::general_failure;
        }
    case errc::none:
        break;
    default:
        return reply::general_failure;
    }
    // No errc: a reply the exchange wrote itself (the 407 that asks for credentials).
    if (status == 403 || status == 407) return reply::not_allowed;
    if (status == 504) return reply::ttl_expired;
    return reply::general_failure;
}

http::response_plan answers::response_head(const http::request_head&, const http::response_head&,
                                           const http::body_framing&, const proxy::answer_context&,
                                           std::string&) const {
    // A SOCKS5 request is a CONNECT: nothing is forwarded, so no response is relayed.
    http::response_plan plan;
    plan.close = true;
    return plan;
}

void answers::tunnel_established(const boost::asio::ip::tcp::endpoint& bound,
                                 std::string& out) const {
    write_reply(reply::succeeded, bound, out);
    sent_ = reply::succeeded;
}

bool answers::local_reply(const http::request_head&, const http::local_reply& r,
                          const proxy::answer_context& ctx, std::string& out) const {
    const auto code = reply_for_failure(ctx.problem, ctx.system_error, r.status);
    write_reply(code, {}, out);
    sent_ = code;
    return true; // RFC 1928 §6: the server closes after a failure reply
}

} // namespace ferry::frontend::socks5
