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

// The decoder's state and the fields of its chunk-size line, lent by decode() to the steps
// below (chunked.h keeps them private and declares no helpers): `State` is the decoder's
// private state type, which only decode() can name.
template <class State>
struct size_line {
    State& state;
    detail::chunk_ext_state& ext;
    std::uint64_t& size;
    int& digits; // significant hex digits of the size
    bool& any_digit;
    std::size_t& length;
};

// The steps of a chunk-size line, one per state: each takes one byte and returns the error
// to fail with (none: decode() moves past the byte).

// The size: hex digits, then ';' (extensions), BWS (before a ';') or CR.
template <class State>
chunk_error size_step(const size_line<State>& line, char c) {
    int v = hex_value(c);
    if (v >= 0) {
        line.any_digit = true;
        if (line.digits > 0 || v != 0) ++line.digits;
        if (line.digits > max_size_digits) return chunk_error::size_too_large;
        line.size = (line.size << 4) | std::uint64_t(v);
        ++line.length;
        return chunk_error::none;
    }
    if (c == '\n') return chunk_error::bad_line_end;
    if (!line.any_digit) return chunk_error::bad_size;
    line.ext = detail::chunk_ext_state::before_name;
    line.state = (c == ';')                ? State::ext
                 : (c == ' ' || c == '\t') ? State::size_ws
                 : (c == '\r')             ? State::size_lf
                                           : State::failed;
    if (line.state == State::failed) return chunk_error::bad_size;
    ++line.length;
    return chunk_error::none;
}

// BWS before ';' only (RFC 9112 §7.1.1).
template <class State>
chunk_error size_ws_step(const size_line<State>& line, char c) {
    if (c == ';')
        line.state = State::ext, line.ext = detail::chunk_ext_state::before_name;
    else if (c != ' ' && c != '\t')
        return chunk_error::bad_extension;
    if (++line.length > max_chunk_line) return chunk_error::extension_too_long;
    return chunk_error::none;
}

// The extensions, up to the CR that ends the line.
template <class State>
chunk_error ext_step(const size_line<State>& line, char c) {
    if (c == '\n') return chunk_error::bad_line_end;
    switch (extension_step(line.ext, c)) {
    case ext_verdict::more:
        break;
    case ext_verdict::line_end:
        line.state = State::size_lf;
        break;
    case ext_verdict::invalid:
        return chunk_error::bad_extension;
    }
    if (++line.length > max_chunk_line) return chunk_error::extension_too_long;
    return chunk_error::none;
}

// The LF that ends the line: the chunk's data follows, or after the last chunk (size 0) the
// trailer section.
template <class State>
chunk_error size_lf_step(const size_line<State>& line, char c) {
    if (c != '\n') return chunk_error::bad_line_end;
    line.length = 0;
    line.digits = 0;
    line.any_digit = false;
    line.state = line.size == 0 ? State::trailer : State::data;
    return chunk_error::none;
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
    const size_line<state> line{state_, ext_, remaining_, digits_, any_digit_, line_length_};
    std::size_t i = 0;
    while (i < in.size()) {
        const char c = in[i];
        switch (state_) {
        case state::size:
            if (auto e = size_step(line, c); e != chunk_error::none) return fail(e, i);
            ++i;
            break;
        case state::size_ws:
            if (auto e = size_ws_step(line, c); e != chunk_error::none) return fail(e, i);
            ++i;
            break;
        case state::ext:
            if (auto e = ext_step(line, c); e != chunk_error::none) return fail(e, i);
            ++i;
            break;
        case state::size_lf:
            if (auto e = size_lf_step(line, c); e != chunk_error::none) return fail(e, i);
            if (state_ == state::trailer) trailer_line_start_ = trailers_.size();
            ++i;
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
