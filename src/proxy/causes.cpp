#include "proxy/causes.h"

#include <fmt/format.h>

namespace ferry::proxy::causes {

namespace {
// "2s", "0.5s": as the option would be written.
std::string secs(milliseconds d) {
    return fmt::format("{}s", double(d.count()) / 1000.0);
}
} // namespace

std::string client_closed(std::string_view what) {
    return fmt::format("ferry: client closed the connection in the middle of the {}", what);
}

std::string client_not_reading(milliseconds send_timeout, std::string_view what) {
    return fmt::format("ferry: client read nothing for --send-timeout ({}) in the middle of the {}",
                       secs(send_timeout), what);
}

std::string client_stalled_body(milliseconds idle_timeout) {
    return fmt::format("ferry: client sent nothing for --idle-timeout ({}) in the middle of the "
                       "request body",
                       secs(idle_timeout));
}

std::string origin_closed(std::string_view label) {
    return fmt::format("ferry: {} closed the connection in the middle of the response", label);
}

std::string origin_stalled(std::string_view label, milliseconds response_timeout) {
    return fmt::format("ferry: {} sent nothing for --response-timeout ({}) in the middle of the "
                       "response",
                       label, secs(response_timeout));
}

std::string tunnel_idle(milliseconds tunnel_idle_timeout) {
    return fmt::format("ferry: tunnel idle timeout: no byte either way for "
                       "--tunnel-idle-timeout ({})",
                       secs(tunnel_idle_timeout));
}

std::string shutdown(milliseconds shutdown_timeout, std::string_view what) {
    return fmt::format("ferry: shutting down: {} cut when the drain time ran out "
                       "(--shutdown-timeout {}) or a second stop signal came",
                       what, secs(shutdown_timeout));
}

} // namespace ferry::proxy::causes
