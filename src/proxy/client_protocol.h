// How an exchange's answers are written in its client's protocol. The exchange decides
// *what* the client gets (a relayed head, a 1xx, a 101, "tunnel open", or ferry's own
// reply) and moves the bytes; the front end that received the request says *how* they are
// written: HTTP/1.1 serialises each head (frontend/http1_answers.cpp) and chooses the body's
// framing and the connection's fate; an HTTP/2 front end will submit a HEADERS frame for
// each instead, append nothing, and carry the body as DATA on the stream it gave the
// exchange. One virtual call per answer; no allocation beyond the bytes written.
#pragma once

#include "core/error.h"
#include "http/framing.h"
#include "http/head.h"
#include "http/local_reply.h"
#include "http/response_plan.h"

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

namespace ferry::proxy {

// What every answer is written with.
struct answer_context {
    std::string_view pseudonym; // ferry's name (Server in its own replies)
    std::string_view via;       // ferry's name in Via; empty: no Via (via = false)
    std::string_view date;      // IMF-fixdate, for a Date field the answer lacks
    bool must_close = false;    // ferry ends the connection after this exchange (it drains,
                                // or a request body was left unread)
    // For a failure's local reply: what failed (none for a page or a 407), and the OS error
    // behind a failed connect (0: none). HTTP says it all in the status; SOCKS5 tells a
    // refused connection from an unreachable host (frontend/socks5_answers).
    core::errc problem = core::errc::none;
    int system_error = 0;
};

class client_protocol {
public:
    virtual ~client_protocol() = default;

    // A final response relayed from upstream, its body framed as `in`: appends the head for
    // this client to `out` and says how the body goes out and whether the connection ends.
    virtual http::response_plan response_head(const http::request_head& request,
                                              const http::response_head& response,
                                              const http::body_framing& in,
                                              const answer_context& ctx,
                                              std::string& out) const = 0;
    // A 1xx other than 101: appends it; false when this client cannot take one. `pseudonym`
    // is ferry's name in Via (empty: none).
    virtual bool interim_head(const http::request_head& request,
                              const http::response_head& response, std::string_view pseudonym,
                              std::string& out) const = 0;
    // The origin accepted the client's Upgrade offer: what turns the exchange into a tunnel.
    virtual void switch_head(const http::response_head& response, std::string_view pseudonym,
                             std::string& out) const = 0;
    // A CONNECT's tunnel is open; `bound` is the upstream socket's local address and port
    // (unspecified when there is no TCP socket), which a SOCKS5 reply carries.
    virtual void tunnel_established(const boost::asio::ip::tcp::endpoint& bound,
                                    std::string& out) const = 0;
    // ferry's own reply (an error, a page): appends it; true when the connection ends after.
    virtual bool local_reply(const http::request_head& request, const http::local_reply& reply,
                             const answer_context& ctx, std::string& out) const = 0;
};

} // namespace ferry::proxy
