// Why a client's TLS handshake failed, for /metrics and the log line: from the handshake's
// error and the verify result OpenSSL kept.
#pragma once

#include "observe/metrics.h"

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>

namespace ferry::tls {

observe::tls_failure classify_handshake_failure(const boost::system::error_code& ec, SSL* ssl);

} // namespace ferry::tls
