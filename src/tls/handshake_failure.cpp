#include "tls/handshake_failure.h"

#include "net/tls_stream.h"

#include <boost/asio/error.hpp>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace ferry::tls {

namespace asio = boost::asio;
using observe::tls_failure;

tls_failure classify_handshake_failure(const boost::system::error_code& ec, SSL* ssl) {
    if (ec == asio::error::timed_out) return tls_failure::timeout;
    if (ec.category() != net::tls_category()) return tls_failure::closed; // eof, reset, abort
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_VERSION_TOO_LOW:
        return tls_failure::version;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return tls_failure::no_certificate;
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        if (ssl && SSL_get_verify_result(ssl) == X509_V_ERR_CERT_REVOKED)
            return tls_failure::revoked;
        return tls_failure::bad_certificate;
    default:
        return tls_failure::protocol;
    }
}

} // namespace ferry::tls
