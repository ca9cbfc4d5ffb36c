#include "upstream/connection.h"

#include <cerrno>
#include <sys/socket.h>

namespace ferry::upstream {

bool connection::still_usable() {
    if (!stream->is_open() || !buffer.empty()) return false;
    auto* socket = stream->tcp();
    if (!socket) return true;
    char byte;
    ssize_t n = ::recv(socket->native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::abort() {
    stream->abort();
}

} // namespace ferry::upstream
