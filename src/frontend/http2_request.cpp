#include "frontend/http2_request.h"

namespace ferry::frontend {

namespace {

bool one_of(std::string_view s, std::initializer_list<std::string_view> words) {
    for (auto w : words)
        if (s == w) return true;
    return false;
}

void field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

} // namespace

void h2_request::add(std::string_view name, std::string_view value, std::size_t limit) {
    decoded_size += name.size() + value.size() + 32;
    if (decoded_size > limit) too_large = true;
    if (too_large) return;
    if (name == ":method")
        method = value;
    else if (name == ":scheme")
        scheme = value;
    else if (name == ":authority")
        authority = value;
    else if (name == ":path")
        path = value;
    else if (name == ":protocol")
        protocol = value;
    else
        fields.emplace_back(name, value);
}

void h2_request::clear() {
    method.clear();
    scheme.clear();
    authority.clear();
    path.clear();
    protocol.clear();
    fields.clear();
    decoded_size = 0;
    too_large = false;
}

h2_head to_http1_head(const h2_request& r, bool end_stream, std::string_view websocket_key,
                      std::string& out) {
    h2_head result;
    // Host from :authority; a request without one names its origin in Host (§8.3.1).
    std::string_view authority = r.authority;
    std::string_view host_field;
    bool content_length = false;
    for (const auto& [name, value] : r.fields) {
        if (name == "host" && host_field.empty()) host_field = value;
        if (name == "content-length") content_length = true;
    }
    if (authority.empty()) authority = host_field;
    if (authority.empty()) {
        result.problem = "ferry: HTTP/2 request without :authority or host";
        return result;
    }
    const bool connect = r.method == "CONNECT";
    result.websocket = connect && !r.protocol.empty();
    if (result.websocket && r.protocol != "websocket") {
        result.problem =
            "ferry: extended CONNECT for a protocol other than websocket: " + r.protocol;
        return result;
    }
    if (connect && !result.websocket) {
        out.append("CONNECT ").append(authority).append(" HTTP/1.1\r\n");
        field(out, "Host", authority);
    } else {
        const std::string_view method = result.websocket ? "GET" : std::string_view(r.method);
        std::string_view path = r.path;
        // OPTIONS * goes on as the origin's OPTIONS * (RFC 9112 §3.2.4).
        if (path == "*") path = "";
        out.append(method).append(" ").append(r.scheme).append("://").append(authority);
        out.append(path).append(" HTTP/1.1\r\n");
        field(out, "Host", authority);
    }
    std::string cookie;
    for (const auto& [name, value] : r.fields) {
        if (name == "host") continue;
        if (name == "cookie") { // §8.2.3: split crumbs are joined again for HTTP/1.1
            if (!cookie.empty()) cookie += "; ";
            cookie += value;
            continue;
        }
        field(out, name, value);
    }
    if (!cookie.empty()) field(out, "cookie", cookie);
    if (result.websocket) {
        field(out, "Upgrade", "websocket");
        field(out, "Connection", "Upgrade");
        field(out, "Sec-WebSocket-Key", websocket_key);
    } else if (!connect && !content_length) {
        if (!end_stream) {
            field(out, "Transfer-Encoding", "chunked");
            result.chunked_body = true;
        } else if (one_of(r.method, {"POST", "PUT", "PATCH"})) {
            // What an HTTP/1.1 client sends for an empty body of these (RFC 9110 §8.6).
            field(out, "Content-Length", "0");
        }
    }
    out.append("\r\n");
    return result;
}

} // namespace ferry::frontend
