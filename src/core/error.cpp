#include "core/error.h"

namespace ferry::core {

source source_of(errc e) {
    switch (e) {
    case errc::resolve_failed:
    case errc::resolve_timeout:
    case errc::connect_failed:
    case errc::connect_timeout:
    case errc::response_timeout:
    case errc::bad_response:
    case errc::upstream_closed:
        return source::upstream;
    case errc::internal:
        return source::internal;
    case errc::forbidden:
    case errc::auth_required:
        return source::policy;
    default:
        return source::client;
    }
}

int to_status(errc e) {
    switch (e) {
    case errc::none:
        return 200;
    case errc::bad_request:
        return 400;
    case errc::target_too_long:
        return 414;
    case errc::head_too_large:
        return 431;
    case errc::header_timeout:
        return 408;
    case errc::not_implemented:
        return 501;
    case errc::version_not_supported:
        return 505;
    case errc::client_closed:
        return 0;
    case errc::client_timeout:
        return 0;
    case errc::loop_detected:
        return 400;
    case errc::forwarding_loop:
        return 508; // RFC 5842 §7.2
    case errc::forbidden:
        return 403;
    case errc::auth_required:
        return 407;
    case errc::resolve_failed:
        return 502;
    case errc::resolve_timeout:
        return 504;
    case errc::connect_failed:
        return 502;
    case errc::connect_timeout:
        return 504;
    case errc::response_timeout:
        return 504;
    case errc::bad_response:
        return 502;
    case errc::upstream_closed:
        return 502;
    case errc::internal:
        return 500;
    }
    return 500;
}

} // namespace ferry::core
