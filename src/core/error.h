// Every way an exchange can fail, tagged with who caused it, mapped to a status in one place.
#pragma once

#include <string>
#include <string_view>

namespace ferry::core {

enum class source { client, upstream, internal, policy };

enum class errc {
    none,
    // client
    bad_request,           // 400: malformed head, framing, target
    target_too_long,       // 414
    head_too_large,        // 431
    header_timeout,        // 408
    not_implemented,       // 501: a transfer coding other than chunked
    version_not_supported, // 505
    client_closed,         // client went away: no reply possible
    client_timeout,        // client stalled mid-body or while reading: close, no reply
    loop_detected,         // request addressed to ferry itself
    forwarding_loop,       // 508: the request carries this instance's X-Ferry-Loop token
    // policy
    forbidden,     // 403: CONNECT to a port that is not allowed
    auth_required, // 407: missing, malformed or wrong proxy credentials
    // upstream
    resolve_failed,   // 502: no such name, or no address for it
    resolve_timeout,  // 504: DNS did not answer within --dns-timeout
    connect_failed,   // 502
    connect_timeout,  // 504
    response_timeout, // 504
    bad_response,     // 502: malformed or ambiguous response from the origin
    upstream_closed,  // 502: the origin closed before a complete response
    // internal
    internal, // 500
};

source source_of(errc e);

// The status ferry answers with; 0 when no answer can be sent.
int to_status(errc e);

struct error {
    errc code = errc::none;
    std::string cause; // "ferry: cannot resolve no-such-host.test"
    // The OS error (errno) behind a connect_failed, 0 when there is none: a SOCKS5 reply
    // tells refused, network and host unreachable apart (frontend/socks5_answers).
    int system_error = 0;

    explicit operator bool() const { return code != errc::none; }
};

} // namespace ferry::core
