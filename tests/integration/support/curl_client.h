// libcurl as the client: one easy handle per client, so that keep-alive is real.
#pragma once

#include "support/socket_io.h"

#include <curl/curl.h>
#include <string>
#include <vector>

namespace ferry_test {

struct curl_request {
    std::string url;
    std::string proxy;          // "http://127.0.0.1:N"; empty: direct
    std::string method = "GET"; // GET, HEAD, POST, PUT, or any other
    std::vector<std::string> headers;
    std::string body;               // sent with Content-Length (unless chunked_upload)
    std::size_t pattern_upload = 0; // instead of body: this many pattern bytes, streamed
    bool chunked_upload = false;    // Transfer-Encoding: chunked
    bool http10 = false;
    bool tunnel = false;   // through the proxy with CONNECT (curl -p)
    bool insecure = false; // https: accept the test's self-signed certificate
    bool keep_body = true; // false: only hash and count the response body
    long timeout_ms = 30000;
    std::string proxy_user; // "user:password": Basic credentials for the proxy (curl -U)
    std::string interface;  // the local address to connect from (curl --interface 127.0.0.7)
};

struct curl_response {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string headers; // every head received (interim ones too), raw
    std::string body;
    std::uint64_t body_size = 0;
    std::uint64_t body_hash = 0; // fnv1a of the body
    long connects = 0;           // new connections libcurl opened for this request
};

class curl_client {
public:
    curl_client();
    ~curl_client();
    curl_client(const curl_client&) = delete;
    curl_client& operator=(const curl_client&) = delete;

    curl_response perform(const curl_request& r);

private:
    CURL* easy_;
};

} // namespace ferry_test
