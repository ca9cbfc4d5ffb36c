#include "http/chunked.h"

#include "http/chars.h"
#include "http/head_parser.h"

#include <algorithm>

namespace ferry::http {

namespace {
constexpr std::size_t max_chunk_line = 4096;     // size plus extensions
constexpr std::size_t max_trailer_bytes = 16384; // the whole trailer section
constexpr int max_size_digits = 15;              // < 2^60 bytes

enum class ext_verdict { more, line_end, invalid };

bool is_ws(char c) {
    return c == ' ' || c == '\t';
}

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
// (RFC 9112 §7.1.1, RFC 9110 §5.6.4), one byte at a time; CR ends the line.
ext_verdict extension_step(detail::chunk_ext_state& st, char c) {
    using enum detail::chunk_ext_state;
    const auto u = static_cast<unsigned char>(c);
    switch (st) {
    case before_name:
        if (is_ws(c)) return ext_verdict::more;
        if (!is_tchar(c)) return ext_verdict::invalid;
        st = name;
        return ext_verdict::more;
    case name:
    case after_name:
        if (st == name && is_tchar(c)) return ext_verdict::more;
        if (is_ws(c))
            st = after_name;
        else if (c == '=')
            st = before_value;
        else if (c == ';')
            st = before_name;
        else if (c == '\r')
            return ext_verdict::line_end;
        else
            return ext_verdict::invalid;
        return ext_verdict::more;
    case before_value:
        if (is_ws(c)) return ext_verdict::more;
        if (c == '"')
            st = quoted;
        else if (is_tchar(c))
            st = token_value;
        else
            return ext_verdict::invalid;
        return ext_verdict::more;
    case token_value:
    case after_value:
        if (st == token_value && is_tchar(c)) return ext_verdict::more;
        if (is_ws(c))
            st = after_value;
        else if (c == ';')
            st = before_name;
        else if (c == '\r')
            return ext_verdict::line_end;
        else
            return ext_verdict::invalid;
        return ext_verdict::more;
    case quoted:
        if (c == '"')
            st = after_value;
        else if (c == '\\')
            st = quoted_escape;
        else if (!(is_ws(c) || u == 0x21 || (u >= 0x23 && u <= 0x5b) || (u >= 0x5d && u != 0x7f)))
            return ext_verdict::invalid;
        return ext_verdict::more;
    case quoted_escape:
        if (!(is_ws(c) || (u >= 0x21 && u != 0x7f))) return ext_verdict::invalid;
        st = quoted;
        return ext_verdict::more;
    }
    return ext_verdict::invalid;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
} // namespace

std::string_view describe(chunk_error e) {
    switch (e) {
    case chunk_error::none:
        return "no error";
    case chunk_error::bad_size:
        return "invalid chunk size";
    case chunk_error::size_too_large:
        return "chunk size too large";
    case chunk_error::bad_line_end:
        return "chunk line not ended by CRLF";
    case chunk_error::bad_extension:
        return "invalid chunk extension";
    case chunk_error::extension_too_long:
        return "chunk extension too long";
    case chunk_error::bad_trailer:
        return "invalid trailer field";
    case chunk_error::trailer_too_large:
        return "trailer section too large";
    }
    return "unknown error";
}

bool chunked_decoder::on_trailer_line() {
    // trailers_ ends with the CRLF of the line just completed.
    std::string_view line(trailers_.data() + trailer_line_start_,
                          trailers_.size() - trailer_line_start_ - 2);
    if (line.empty()) { // the empty line that ends the message
        trailers_.resize(trailer_line_start_);
        state_ = state::done;
        return true;
    }
    field f;
    if (parse_field_line(line, f) != parse_error::none) return false;
    trailer_line_start_ = trailers_.size();
    return true;
}

chunked_decoder::step chunked_decoder::decode(std::string_view in) {
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        switch (state_) {
        case state::size: {
            int v = hex_value(c);
            if (v >= 0) {
                any_digit_ = true;
                if (digits_ > 0 || v != 0) ++digits_;
                if (digits_ > max_size_digits) return fail(chunk_error::size_too_large, i);
                remaining_ = (remaining_ << 4) | std::uint64_t(v);
                ++line_length_;
                ++i;
                break;
            }
            if (c == '\n') return fail(chunk_error::bad_line_end, i);
            if (!any_digit_) return fail(chunk_error::bad_size, i);
            ext_ = detail::chunk_ext_state::before_name;
            state_ = (c == ';')                ? state::ext
                     : (c == ' ' || c == '\t') ? state::size_ws
                     : (c == '\r')             ? state::size_lf
                                               : state::failed;
            if (state_ == state::failed) return fail(chunk_error::bad_size, i);
            ++line_length_;
            ++i;
            break;
        }
        case state::size_ws: // BWS before ';' only (RFC 9112 §7.1.1)
            if (c == ';')
                state_ = state::ext, ext_ = detail::chunk_ext_state::before_name;
            else if (c != ' ' && c != '\t')
                return fail(chunk_error::bad_extension, i);
            if (++line_length_ > max_chunk_line) return fail(chunk_error::extension_too_long, i);
            ++i;
            break;
        case state::ext:
            if (c == '\n') return fail(chunk_error::bad_line_end, i);
            switch (extension_step(ext_, c)) {
            case ext_verdict::more:
                break;
            case ext_verdict::line_end:
                state_ = state::size_lf;
                break;
            case ext_verdict::invalid:
                return fail(chunk_error::bad_extension, i);
            }
            if (++line_length_ > max_chunk_line) return fail(chunk_error::extension_too_long, i);
            ++i;
            break;
        case state::size_lf:
            if (c != '\n') return fail(chunk_error::bad_line_end, i);
            ++i;
            line_length_ = 0;
            digits_ = 0;
            any_digit_ = false;
            if (remaining_ == 0) {
                state_ = state::trailer;
                trailer_line_start_ = trailers_.size();
            } else {
                state_ = state::data;
            }
            break;
        case state::data: {
            auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(remaining_, std::uint64_t(in.size() - i)));
            remaining_ -= n;
            if (remaining_ == 0) state_ = state::data_cr;
            return {i + n, in.substr(i, n)};
        }
        case state::data_cr:
            if (c != '\r') return fail(chunk_error::bad_line_end, i);
            state_ = state::data_lf;
            ++i;
            break;
        case state::data_lf:
            if (c != '\n') return fail(chunk_error::bad_line_end, i);
            state_ = state::size;
            ++i;
            break;
        case state::trailer:
            if (trailers_.size() >= max_trailer_bytes)
                return fail(chunk_error::trailer_too_large, i);
            trailers_.push_back(c);
            ++i;
            if (c == '\n') {
                auto n = trailers_.size() - trailer_line_start_;
                if (n < 2 || trailers_[trailers_.size() - 2] != '\r')
                    return fail(chunk_error::bad_line_end, i);
                if (!on_trailer_line()) return fail(chunk_error::bad_trailer, i);
                if (state_ == state::done) return {i, {}};
            }
            break;
        case state::done:
        case state::failed:
            return {i, {}};
        }
    }
    return {i, {}};
}

} // namespace ferry::http
