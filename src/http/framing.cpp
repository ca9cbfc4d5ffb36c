#include "http/framing.h"

#include "http/chars.h"

#include <limits>
#include <type_traits>

namespace ferry::http {

namespace {

template <class Head>
framing_error content_length(const Head& head, bool& present, std::uint64_t& length) {
    present = false;
    for (const auto& f : head.fields) {
        if (!iequals(f.name, "content-length")) continue;
        if (f.value.empty()) return framing_error::bad_content_length;
        framing_error err = framing_error::none;
        bool any = false; // this field line has a value of its own
        // "Content-Length: 5, 5" is a list of identical values (RFC 9110 §8.6). In a response
        // it is accepted and forwarded as one value, as RFC 9112 §6.3 item 5 allows. In a
        // request it is refused: request-smuggling corpora (desync-guardian) class it as
        // severe, since a next hop may read only the first element or reject it, and clients
        // never send it. Repeated identical fields ("Content-Length: 5" twice) are accepted
        // for both. Anything else that is not 1*DIGIT is rejected.
        constexpr bool allow_list = !std::is_same_v<Head, request_head>;
        for_each_list_element(f.value, [&](std::string_view element) {
            if (!allow_list && any) {
                err = framing_error::bad_content_length;
                return false;
            }
            if (element.size() > 18) { // keeps the value far from uint64 overflow
                err = framing_error::bad_content_length;
                return false;
            }
            std::uint64_t v = 0;
            for (char c : element) {
                if (c < '0' || c > '9') {
                    err = framing_error::bad_content_length;
                    return false;
                }
                v = v * 10 + std::uint64_t(c - '0');
            }
            if (present && v != length) {
                err = framing_error::differing_lengths;
                return false;
            }
            present = any = true;
            length = v;
            return true;
        });
        if (err != framing_error::none) return err;
        if (!any) return framing_error::bad_content_length; // only commas
    }
    return framing_error::none;
}

// Transfer-Encoding across all its field lines; chunked must be the one and final coding
// ferry relays, other codings are not understood.
template <class Head>
framing_error transfer_encoding(const Head& head, bool& present) {
    present = false;
    bool chunked_seen = false;
    framing_error err = framing_error::none;
    for (const auto& f : head.fields) {
        if (!iequals(f.name, "transfer-encoding")) continue;
        present = true;
        bool any = false;
        for_each_list_element(f.value, [&](std::string_view coding) {
            any = true;
            if (chunked_seen) {
                err = framing_error::chunked_not_last;
                return false;
            }
            if (iequals(coding, "chunked")) {
                chunked_seen = true;
            } else if (err == framing_error::none) {
                err = framing_error::unknown_coding; // keep looking: chunked-not-last wins
            }
            return true;
        });
        if (err == framing_error::chunked_not_last) return err;
        if (!any) return framing_error::chunked_not_last; // empty Transfer-Encoding
    }
    if (present && !chunked_seen) return framing_error::chunked_not_last;
    return err;
}

template <class Head>
framing_error common_framing(const Head& head, bool allow_until_close, body_framing& out) {
    bool te = false, cl = false;
    std::uint64_t length = 0;
    if (auto e = transfer_encoding(head, te); e != framing_error::none) {
        // With a Content-Length beside it the length cannot be known at all (RFC 9112 §6.3):
        // that is the error (400 and close), not the coding ferry does not implement (501).
        if (e == framing_error::unknown_coding && count_fields(head, "content-length") > 0)
            return framing_error::te_and_cl;
        return e;
    }
    if (auto e = content_length(head, cl, length); e != framing_error::none) return e;
    if (te && cl) return framing_error::te_and_cl;
    if (te && head.minor == 0) return framing_error::te_in_http10;
    if (te) {
        out = {body_kind::chunked, 0};
    } else if (cl) {
        out = {body_kind::length, length};
    } else {
        out = {allow_until_close ? body_kind::until_close : body_kind::none, 0};
    }
    return framing_error::none;
}

} // namespace

std::string_view describe(framing_error e) {
    switch (e) {
    case framing_error::none:
        return "no error";
    case framing_error::te_and_cl:
        return "both Transfer-Encoding and Content-Length";
    case framing_error::te_in_http10:
        return "Transfer-Encoding in an HTTP/1.0 message";
    case framing_error::chunked_not_last:
        return "Transfer-Encoding does not end in chunked";
    case framing_error::unknown_coding:
        return "unsupported transfer coding";
    case framing_error::bad_content_length:
        return "invalid Content-Length";
    case framing_error::differing_lengths:
        return "conflicting Content-Length values";
    }
    return "unknown error";
}

framing_error request_framing(const request_head& head, body_framing& out) {
    return common_framing(head, false, out);
}

framing_error declared_framing(const response_head& head, body_framing& out) {
    return common_framing(head, true, out);
}

framing_error response_framing(const response_head& head, std::string_view request_method,
                               body_framing& out) {
    // The framing fields are still validated for bodiless responses: an origin that sends
    // contradictory framing is not trusted with the connection either.
    if (auto e = common_framing(head, true, out); e != framing_error::none) return e;
    if (request_method == "HEAD" || status_has_no_body(head.status)) out = {body_kind::none, 0};
    return framing_error::none;
}

} // namespace ferry::http
