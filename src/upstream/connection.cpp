#include "upstream/connection.h"

#include <cerrno>
#include <sys/socket.h>

namespace ferry::upstream {

bool connection::still_usable() {
    if (!socket.is_open() || !buffer.empty()) return false;
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::abort() {
    boost::system::error_code ignored;
    socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

} // namespace ferry::upstream
