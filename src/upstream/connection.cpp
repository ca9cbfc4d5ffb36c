#include "upstream/connection.h"

#include <cerrno>
#include <sys/socket.h>

namespace ferry::upstream {

boost::asio::ip::tcp::socket* connection::socket() {
    if (tcp_) return &tcp_->socket();
    if (tls_) return &tls_->socket();
    return nullptr;
}

void connection::start_tls(net::ssl_ptr ssl, net::deadline_list* deadlines) {
    auto tls = std::make_unique<net::tls_stream>(std::move(tcp_->socket()), std::move(ssl),
                                                 tcp_->now(), deadlines);
    tls_ = tls.get();
    owned_ = std::move(tls);
    stream = tls_;
    tcp_.reset();
}

bool connection::still_usable() {
    if (!stream->is_open() || !buffer.empty()) return false;
    auto* s = socket();
    if (!s) return true;
    // Over TLS too: whatever arrives unasked on an idle connection to the parent is its
    // close_notify, or something ferry would not know what to do with.
    if (tls_ && SSL_has_pending(tls_->ssl())) return false;
    char byte;
    ssize_t n = ::recv(s->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::abort() {
    stream->abort();
}

} // namespace ferry::upstream
