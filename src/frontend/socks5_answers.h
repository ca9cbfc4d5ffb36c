// How SOCKS5 answers: the method ferry chooses for a greeting, and an exchange's outcome
// as a reply (RFC 1928 §6) — the tunnel's success with the upstream socket's address, or a
// failure's code, chosen from what failed. Pure, but for the answers object the exchange
// writes through (proxy/client_protocol.h).
#pragma once

#include "config/settings.h"
#include "core/error.h"
#include "frontend/socks5_messages.h"
#include "policy/acl.h"
#include "proxy/client_protocol.h"

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <vector>

namespace ferry::frontend::socks5 {

// Username/password when an htpasswd file can check it and the client offers it; else no
// authentication when offered and the rules could let this client through without a user;
// else none acceptable (0xFF).
method choose_method(const greeting& g, bool password_available, bool may_pass_without_user);

// Whether some access rule (or, without rules, the default policy) could let `client` use
// ferry without a user: the rules are judged again, with the destination, once the request
// is known; this only keeps a client that would need a user from skipping the password.
bool may_pass_without_user(const std::vector<config::acl_rule>& rules,
                           policy::default_policy fallback, const boost::asio::ip::address& client,
                           bool auth_available);

// The reply for a failed exchange: from what failed (and the OS error of a failed connect),
// else from the HTTP status ferry would have answered.
reply reply_for_failure(core::errc problem, int system_error, int status);

// The exchange's answers in SOCKS5: a reply, and the connection always ends after a
// failure. Remembers the reply it wrote, for the logs and the metrics.
class answers final : public proxy::client_protocol {
public:
    http::response_plan response_head(const http::request_head&, const http::response_head&,
                                      const http::body_framing&, const proxy::answer_context&,
                                      std::string&) const override;
    bool interim_head(const http::request_head&, const http::response_head&, std::string_view,
                      std::string&) const override {
        return false;
    }
    void switch_head(const http::response_head&, std::string_view, std::string&) const override {}
    void tunnel_established(const boost::asio::ip::tcp::endpoint& bound,
                            std::string& out) const override;
    bool local_reply(const http::request_head& request, const http::local_reply& reply,
                     const proxy::answer_context& ctx, std::string& out) const override;

    // The reply written, if any.
    std::optional<socks5::reply> sent() const { return sent_; }

private:
    mutable std::optional<socks5::reply> sent_;
};

} // namespace ferry::frontend::socks5
