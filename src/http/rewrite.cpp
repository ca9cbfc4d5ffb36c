#include "http/rewrite.h"

#include "http/chars.h"
#include "http/upgrade.h"

#include <array>
#include <charconv>

namespace ferry::http {

namespace {

constexpr std::array<std::string_view, 10> hop_by_hop_names{
    "connection",        "keep-alive",     "proxy-connection",    "te",
    "trailer",           "upgrade",        "proxy-authorization", "proxy-authenticate",
    "transfer-encoding", "content-length",
};

// Names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1).
template <class Head>
bool named_by_connection(const Head& head, std::string_view name) {
    bool named = false;
    for (const auto& f : head.fields) {
        if (!iequals(f.name, "connection")) continue;
        for_each_list_element(f.value, [&](std::string_view option) {
            named = iequals(option, name);
            return !named;
        });
        if (named) return true;
    }
    return false;
}

template <class Head>
bool dropped(const Head& head, std::string_view name) {
    return is_hop_by_hop(name) || named_by_connection(head, name);
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

void append_framing(std::string& out, const framing_fields& framing) {
    if (framing.content_length) {
        out.append("Content-Length: ");
        append_number(out, *framing.content_length);
        out.append("\r\n");
    }
    if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
}

void append_via(std::string& out, int minor, std::string_view pseudonym) {
    if (pseudonym.empty()) return; // via = false
    // RFC 9110 §7.6.3: the protocol the message was received in ("2" for HTTP/2).
    out.append(minor == 0 ? "Via: 1.0 " : minor == 2 ? "Via: 2 " : "Via: 1.1 ");
    out.append(pseudonym).append("\r\n");
}

// Max-Forwards for OPTIONS and TRACE (RFC 9110 §7.6.2): forwarded as value - 1.
void append_max_forwards(std::string& out, std::string_view value) {
    std::uint64_t n = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), n);
    if (r.ec != std::errc{} || r.ptr != value.data() + value.size() || n == 0) {
        append_field(out, "Max-Forwards", value); // not ours to fix; 0 was answered earlier
        return;
    }
    out.append("Max-Forwards: ");
    append_number(out, n - 1);
    out.append("\r\n");
}

} // namespace

bool is_hop_by_hop(std::string_view name) {
    for (auto h : hop_by_hop_names)
        if (iequals(name, h)) return true;
    return false;
}

bool is_loop_field(std::string_view name) {
    return iequals(name, "x-ferry-loop");
}

namespace {

// The incoming values of every `name` field, joined as one list ("a, b").
// A field the client named in Connection is hop-by-hop: dropped, never extended.
void join_values(const request_head& head, std::string_view name, std::string& out) {
    if (named_by_connection(head, name)) return;
    bool first = true;
    for (const auto& f : head.fields) {
        if (!iequals(f.name, name) || trim_ows(f.value).empty()) continue;
        if (!first) out.append(", ");
        out.append(trim_ows(f.value));
        first = false;
    }
}

// A Forwarded node (RFC 7239 §6): an IPv4 address bare, an IPv6 one bracketed, with a port
// quoted ("[2001:db8::1]" → `"[2001:db8::1]"`); none → `unknown`.
void append_node(std::string& out, std::string_view ip, std::uint16_t port) {
    if (ip.empty()) {
        out.append("unknown");
        return;
    }
    const bool v6 = ip.find(':') != std::string_view::npos;
    if (!v6 && port == 0) {
        out.append(ip);
        return;
    }
    out.push_back('"');
    if (v6) out.push_back('[');
    out.append(ip);
    if (v6) out.push_back(']');
    if (port != 0) {
        out.push_back(':');
        append_number(out, port);
    }
    out.push_back('"');
}

// Whether the field is written by forwarding_fields() rather than copied in place.
bool rewritten_here(const request_options& o, std::string_view name) {
    if (is_loop_field(name)) return true;
    if (o.forwarded && iequals(name, "forwarded")) return true;
    return o.forwarded_for != forwarded_for_mode::pass && iequals(name, "x-forwarded-for");
}

// X-Forwarded-For, Forwarded and (toward a parent) X-Ferry-Loop, as `o` says.
void append_forwarding_fields(const request_head& head, const request_options& o, bool to_parent,
                              std::string& out) {
    using mode = forwarded_for_mode;
    if (o.forwarded_for != mode::pass && o.forwarded_for != mode::remove) {
        out.append("X-Forwarded-For: ");
        const auto start = out.size();
        if (o.trusted && o.forwarded_for != mode::truncate)
            join_values(head, "x-forwarded-for", out);
        if (out.size() != start) out.append(", ");
        out.append(o.forwarded_for == mode::off ? std::string_view("unknown") : o.client);
        out.append("\r\n");
    }
    if (o.forwarded) {
        out.append("Forwarded: ");
        const auto start = out.size();
        if (o.trusted) join_values(head, "forwarded", out);
        if (out.size() != start) out.append(", ");
        out.append("for=");
        append_node(out, o.client, 0);
        out.append(";by=");
        append_node(out, o.by, o.by_port);
        out.append(";proto=").append(o.proto).append("\r\n");
    }
    if (!to_parent) return;
    out.append("X-Ferry-Loop: ");
    const auto start = out.size();
    join_values(head, "x-ferry-loop", out);
    if (!o.loop_token.empty()) {
        if (out.size() != start) out.append(", ");
        out.append(o.loop_token);
    }
    if (out.size() == start) // nothing to say: take the field name back
        out.erase(start - std::string_view("X-Ferry-Loop: ").size());
    else
        out.append("\r\n");
}

// The request line and fields shared by both forms; `parent_authorization` is only
// written toward a parent proxy.
void write_request(const request_head& head, const target& dest, const framing_fields& framing,
                   const request_options& options, bool absolute,
                   std::string_view parent_authorization, std::string& out) {
    out.append(head.method).push_back(' ');
    if (absolute) {
        // To a parent proxy: absolute-form; OPTIONS for the server as a whole goes without
        // a path, and the last proxy turns it back into "*" (RFC 9112 §3.2.4).
        out.append("http://").append(dest.where.text);
        if (!(head.method == "OPTIONS" && (dest.path.empty() || dest.path == "*"))) {
            if (dest.path.empty() || dest.path.front() == '?') out.push_back('/');
            out.append(dest.path);
        }
    } else if (dest.path.empty() && head.method == "OPTIONS") {
        out.push_back('*'); // OPTIONS for the server as a whole (RFC 9112 §3.2.4)
    } else {
        if (dest.path.empty() || dest.path.front() == '?') out.push_back('/');
        out.append(dest.path);
    }
    out.append(" HTTP/1.1\r\n");
    append_field(out, "Host", dest.where.text);
    // Never in a TRACE, which the parent may echo back to the client (RFC 9110 §9.3.8).
    if (absolute && !parent_authorization.empty() && head.method != "TRACE")
        append_field(out, "Proxy-Authorization", parent_authorization);
    const bool max_forwards_applies = head.method == "OPTIONS" || head.method == "TRACE";
    const bool has_body = framing.chunked || framing.content_length.value_or(0) > 0;
    const bool upgrade = forwards_upgrade(head, has_body);
    for (const auto& f : head.fields) {
        if (upgrade && iequals(f.name, "upgrade")) {
            append_field(out, f.name, f.value);
            continue;
        }
        if (iequals(f.name, "host") || dropped(head, f.name) || rewritten_here(options, f.name))
            continue;
        // An HTTP/1.0 client's 100-continue is to be ignored (RFC 9110 §10.1.1).
        if (head.minor == 0 && iequals(f.name, "expect")) continue;
        if (max_forwards_applies && iequals(f.name, "max-forwards")) {
            append_max_forwards(out, f.value);
            continue;
        }
        append_field(out, f.name, f.value);
    }
    append_framing(out, framing);
    if (upgrade) out.append("Connection: upgrade\r\n");
    append_via(out, head.minor, options.via);
    // After Via, as Squid writes them: a chain's Via entries stay side by side.
    append_forwarding_fields(head, options, absolute, out);
    out.append("\r\n");
}

} // namespace

void write_forward_request(const request_head& head, const target& dest,
                           const framing_fields& framing, const request_options& options,
                           std::string& out) {
    write_request(head, dest, framing, options, false, {}, out);
}

void write_parent_request(const request_head& head, const target& dest,
                          const framing_fields& framing, const request_options& options,
                          std::string_view authorization, std::string& out) {
    write_request(head, dest, framing, options, true, authorization, out);
}

void write_parent_connect(const request_head& head, const target& dest,
                          std::string_view authorization, const request_options& options,
                          std::string& out) {
    out.append("CONNECT ").append(dest.where.text).append(" HTTP/1.1\r\n");
    append_field(out, "Host", dest.where.text);
    if (!authorization.empty()) append_field(out, "Proxy-Authorization", authorization);
    request_options loop_only;
    loop_only.loop_token = options.loop_token;
    append_forwarding_fields(head, loop_only, true, out);
    out.append("\r\n");
}

bool response_field_dropped(const response_head& head, std::string_view name) {
    return dropped(head, name);
}

void write_forward_response(const response_head& head, const response_options& options,
                            std::string& out) {
    out.append("HTTP/1.1 ");
    append_number(out, std::uint64_t(head.status));
    out.push_back(' ');
    out.append(head.reason).append("\r\n");
    bool has_date = false;
    for (const auto& f : head.fields) {
        if (dropped(head, f.name)) continue;
        has_date = has_date || iequals(f.name, "date");
        append_field(out, f.name, f.value);
    }
    if (!has_date && !options.date.empty()) append_field(out, "Date", options.date);
    append_framing(out, options.framing);
    if (options.close)
        out.append("Connection: close\r\n");
    else if (options.keep_alive_10)
        out.append("Connection: keep-alive\r\n");
    append_via(out, head.minor, options.pseudonym);
    out.append("\r\n");
}

void write_interim_response(const response_head& head, std::string_view pseudonym,
                            std::string& out) {
    out.append("HTTP/1.1 ");
    append_number(out, std::uint64_t(head.status));
    out.push_back(' ');
    out.append(head.reason).append("\r\n");
    for (const auto& f : head.fields)
        if (!dropped(head, f.name)) append_field(out, f.name, f.value);
    append_via(out, head.minor, pseudonym);
    out.append("\r\n");
}

void write_switch_response(const response_head& head, std::string_view pseudonym,
                           std::string& out) {
    out.append("HTTP/1.1 101 ").append(head.reason).append("\r\n");
    for (const auto& f : head.fields)
        if (iequals(f.name, "upgrade") || !dropped(head, f.name))
            append_field(out, f.name, f.value);
    out.append("Connection: upgrade\r\n");
    append_via(out, head.minor, pseudonym);
    out.append("\r\n");
}

} // namespace ferry::http
