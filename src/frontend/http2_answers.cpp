// How an exchange's answers become HEADERS on its stream (frontend/http2_stream.h's
// h2_answers): the relayed head's end-to-end fields lower-cased, with content-length, date
// and via as ferry writes them; a 1xx; the 200 of a tunnel or of an RFC 8441 WebSocket; and
// ferry's own replies.
#include "frontend/http2_stream.h"

#include "http/chars.h"
#include "http/local_reply.h"
#include "http/rewrite.h"

#include <charconv>

namespace ferry::frontend {

namespace {

// A head being built: names lower-cased (RFC 9113 §8.2.2), values copied, all in the
// stream's scratch text, whose capacity a recycled stream keeps. nghttp2 copies the list
// when the frame is submitted.
class head_builder {
public:
    explicit head_builder(h2_head_scratch& s) : s_(s) {
        s_.text.clear();
        s_.at.clear();
    }
    void add(std::string_view name, std::string_view value, bool lower = false) {
        const auto n = std::uint32_t(s_.text.size());
        s_.text.append(name);
        if (lower)
            for (auto i = n; i < s_.text.size(); ++i)
                if (s_.text[i] >= 'A' && s_.text[i] <= 'Z')
                    s_.text[i] = char(s_.text[i] - 'A' + 'a');
        const auto v = std::uint32_t(s_.text.size());
        s_.text.append(value);
        s_.at.push_back({n, std::uint32_t(name.size()), v, std::uint32_t(value.size())});
    }
    void add_lowered(std::string_view name, std::string_view value) { add(name, value, true); }
    // More of the last value.
    void append_to_value(std::string_view more) {
        s_.text.append(more);
        s_.at.back()[3] += std::uint32_t(more.size());
    }
    void number(std::string_view name, std::uint64_t n) {
        char digits[24];
        const auto r = std::to_chars(digits, digits + sizeof digits, n);
        add(name, {digits, std::size_t(r.ptr - digits)});
    }
    void status(int code) { number(":status", std::uint64_t(code)); }
    std::vector<nghttp2_nv>& list() {
        s_.nv.clear();
        auto* base = reinterpret_cast<std::uint8_t*>(s_.text.data());
        for (const auto& a : s_.at)
            s_.nv.push_back({base + a[0], base + a[2], a[1], a[3], NGHTTP2_NV_FLAG_NONE});
        return s_.nv;
    }

private:
    h2_head_scratch& s_;
};

// What HTTP/2 never carries (§8.2.2), and what ferry writes itself.
bool skipped(const http::response_head& r, std::string_view name) {
    return http::response_field_dropped(r, name) || http::iequals(name, "content-length");
}

void relayed_fields(const http::response_head& r, head_builder& b) {
    for (const auto& f : r.fields)
        if (!skipped(r, f.name)) b.add_lowered(f.name, f.value);
}

void via(const http::response_head& r, std::string_view pseudonym, head_builder& b) {
    if (pseudonym.empty()) return; // via = false
    b.add("via", r.minor == 0 ? "1.0 " : "1.1 ");
    b.append_to_value(pseudonym);
}

} // namespace

http::response_plan h2_answers::response_head(const http::request_head& request,
                                              const http::response_head& response,
                                              const http::body_framing& in,
                                              const proxy::answer_context& ctx,
                                              std::string&) const {
    head_builder b(stream_.scratch);
    b.status(response.status);
    relayed_fields(response, b);
    if (http::find_field(response, "date").empty() && !ctx.date.empty()) b.add("date", ctx.date);
    const bool no_body = request.method == "HEAD" || in.kind == http::body_kind::none ||
                         (in.kind == http::body_kind::length && in.length == 0);
    std::optional<std::uint64_t> length;
    if (in.kind == http::body_kind::length) {
        length = in.length;
        b.number("content-length", in.length);
    }
    via(response, ctx.via, b);
    stream_.submit_response(b.list(), no_body, no_body ? std::nullopt : length);
    // HTTP/2 frames the body itself: it goes as it comes, never re-chunked, and one
    // stream's answer never closes the connection.
    http::response_plan plan;
    if (length) plan.framing.content_length = *length;
    return plan;
}

bool h2_answers::interim_head(const http::request_head&, const http::response_head& response,
                              std::string_view pseudonym, std::string&) const {
    head_builder b(stream_.scratch);
    b.status(response.status);
    relayed_fields(response, b);
    via(response, pseudonym, b);
    stream_.submit_interim(b.list());
    return true;
}

void h2_answers::switch_head(const http::response_head& response, std::string_view pseudonym,
                             std::string&) const {
    // RFC 8441 §5: the origin's 101 is the client's 200; the stream is the WebSocket.
    head_builder b(stream_.scratch);
    b.status(200);
    for (const auto& f : response.fields)
        if (!skipped(response, f.name) && !http::iequals(f.name, "sec-websocket-accept"))
            b.add_lowered(f.name, f.value);
    via(response, pseudonym, b);
    stream_.submit_response(b.list(), false, std::nullopt);
}

void h2_answers::tunnel_established(const boost::asio::ip::tcp::endpoint&, std::string&) const {
    head_builder b(stream_.scratch);
    b.status(200);
    stream_.submit_response(b.list(), false, std::nullopt);
}

bool h2_answers::local_reply(const http::request_head&, const http::local_reply& reply,
                             const proxy::answer_context& ctx, std::string& out) const {
    head_builder b(stream_.scratch);
    b.status(reply.status);
    b.add("date", ctx.date);
    b.add("server", ctx.pseudonym);
    b.add("content-type", reply.content_type);
    b.number("content-length", reply.body.size());
    // Extra fields come as complete lines ("Allow: GET\r\n", a 407's challenge).
    std::string_view extra = reply.extra_fields;
    while (!extra.empty()) {
        const auto eol = extra.find("\r\n");
        const auto line = extra.substr(0, eol);
        extra = eol == std::string_view::npos ? std::string_view() : extra.substr(eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
        b.add_lowered(line.substr(0, colon), value);
    }
    const bool no_body = reply.head_only || reply.body.empty();
    stream_.submit_response(b.list(), no_body,
                            no_body ? std::nullopt
                                    : std::optional<std::uint64_t>(reply.body.size()));
    // The body is what the exchange writes next, as DATA.
    if (!no_body) out.append(reply.body);
    return false;
}

} // namespace ferry::frontend
