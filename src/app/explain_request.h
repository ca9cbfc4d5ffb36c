// The request head a client would send to ask ferry for a URL or host:port: `ferry explain`
// judges it with the proxy's own parser and decisions. Pure.
#pragma once

#include <string>
#include <string_view>

namespace ferry::app {

struct explain_request {
    std::string head; // "GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n"
    std::string line; // "GET http://example.test/", for the report
};

// http://… → the method (GET by default) in absolute-form; https://… and host:port →
// CONNECT host:port (443 when the URL has no port), unless --method names another method;
// a bare host → http://host/. The method is upper-cased. "" or what is wrong (a usage error).
std::string make_explain_request(std::string_view target, std::string_view method,
                                 explain_request& out);

} // namespace ferry::app
