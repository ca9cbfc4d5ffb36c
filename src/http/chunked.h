// Decoder for the chunked transfer coding (RFC 9112 §7.1). Pure: bytes in, body data out.
// Strict where readers are known to disagree: CRLF only (no bare CR or LF), no whitespace
// around the size but the BWS before ';', at most 15 significant hex digits, bounded
// extensions and trailers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::http {

enum class chunk_error {
    none,
    bad_size,       // missing or non-hex chunk size
    size_too_large, // more than 15 significant hex digits
    bad_line_end,   // CR not followed by LF, bare LF, or no CRLF after the data
    bad_extension,  // control character in a chunk extension
    extension_too_long,
    bad_trailer,
    trailer_too_large,
};

std::string_view describe(chunk_error e);

namespace detail {
// Where the decoder is inside a chunk extension.
enum class chunk_ext_state {
    before_name,
    name,
    after_name,
    before_value,
    token_value,
    quoted,
    quoted_escape,
    after_value
};
} // namespace detail

class chunked_decoder {
public:
    struct step {
        std::size_t consumed = 0; // bytes of the input used, framing and data
        std::string_view data;    // body bytes found (a view into the input), maybe empty
    };

    // Decodes from the start of `in`. Returns after the first piece of body data, at the end
    // of the input, at the end of the body, or at an error. Call again with the rest.
    step decode(std::string_view in);

    bool done() const { return state_ == state::done; }
    bool failed() const { return error_ != chunk_error::none; }
    chunk_error error() const { return error_; }

    // Trailer field lines, each ending in CRLF, valid once done().
    const std::string& trailers() const { return trailers_; }

    // Ready for the next message; keeps the trailer buffer's capacity.
    void reset() {
        std::string keep = std::move(trailers_);
        keep.clear();
        *this = chunked_decoder();
        trailers_ = std::move(keep);
    }

private:
    using ext_state = detail::chunk_ext_state;
    enum class state { size, size_ws, ext, size_lf, data, data_cr, data_lf, trailer, done, failed };

    step fail(chunk_error e, std::size_t consumed) {
        error_ = e;
        state_ = state::failed;
        return {consumed, {}};
    }
    bool on_trailer_line();

    state state_ = state::size;
    ext_state ext_ = ext_state::before_name;
    chunk_error error_ = chunk_error::none;
    std::uint64_t remaining_ = 0;
    int digits_ = 0; // significant hex digits of the current size
    bool any_digit_ = false;
    std::size_t line_length_ = 0;
    std::size_t trailer_line_start_ = 0;
    std::string trailers_;
};

} // namespace ferry::http
