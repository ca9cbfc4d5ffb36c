// The chunked decoder over fuzzer bytes fed whole and in fuzzer-chosen pieces. Invariants:
// the decoder always makes progress; decoded bytes never exceed the bytes consumed, nor
// those the input; the outcome (body, error, where it stopped, trailers) is the same for
// any split, and for a decoder reused after reset().
#include "fuzz_check.h"

#include "http/chunked.h"

#include <string>
#include <vector>

namespace {

using namespace ferry;

struct outcome {
    std::string body;
    std::size_t consumed = 0;
    bool done = false;
    http::chunk_error error = http::chunk_error::none;
    std::string trailers;
};

// Feeds `pieces` in order, as relay_body does with each read: decode until the piece is
// used up, the body ends or the coding fails.
outcome decode_pieces(http::chunked_decoder& decoder, const std::vector<std::string_view>& pieces) {
    outcome o;
    for (auto piece : pieces) {
        while (!piece.empty() && !decoder.done() && !decoder.failed()) {
            auto step = decoder.decode(piece);
            FUZZ_CHECK(step.consumed <= piece.size());
            FUZZ_CHECK(step.consumed > 0 || decoder.done() || decoder.failed());
            FUZZ_CHECK(step.data.size() <= step.consumed);
            if (!step.data.empty()) {
                // A view into this piece, within what was consumed.
                FUZZ_CHECK(step.data.data() >= piece.data());
                FUZZ_CHECK(step.data.data() + step.data.size() <= piece.data() + step.consumed);
            }
            o.body.append(step.data);
            o.consumed += step.consumed;
            piece.remove_prefix(step.consumed);
        }
        if (decoder.done() || decoder.failed()) break;
    }
    o.done = decoder.done();
    o.error = decoder.error();
    if (o.done) o.trailers = decoder.trailers();
    FUZZ_CHECK(!(o.done && decoder.failed()));
    return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    std::uint8_t cuts[8];
    for (auto& c : cuts)
        c = in.byte();
    const std::string_view bytes = in.rest();

    // Each byte copied out so that ASan sees reads past a piece's end.
    std::vector<std::string> owned;
    std::vector<std::string_view> pieces;
    for (std::size_t at = 0, k = 0; at < bytes.size(); ++k) {
        std::size_t n = std::size_t(cuts[k % 8]) % 24 + 1;
        if (cuts[k % 8] >= 240) n = bytes.size(); // now and then: the rest at once
        n = std::min(n, bytes.size() - at);
        owned.emplace_back(bytes.substr(at, n));
        at += n;
    }
    for (const auto& p : owned)
        pieces.push_back(p);

    http::chunked_decoder whole_decoder;
    const std::string copy(bytes);
    const auto whole = decode_pieces(whole_decoder, {std::string_view(copy)});
    FUZZ_CHECK(whole.consumed <= bytes.size());
    FUZZ_CHECK(whole.body.size() <= whole.consumed);
    FUZZ_CHECK(whole.done || whole.error != http::chunk_error::none ||
               whole.consumed == bytes.size());

    // The same decoder, reset, fed in pieces.
    whole_decoder.reset();
    FUZZ_CHECK(!whole_decoder.done() && !whole_decoder.failed());
    const auto split = decode_pieces(whole_decoder, pieces);
    FUZZ_CHECK(split.body == whole.body);
    FUZZ_CHECK(split.consumed == whole.consumed);
    FUZZ_CHECK(split.done == whole.done);
    FUZZ_CHECK(split.error == whole.error);
    FUZZ_CHECK(split.trailers == whole.trailers);
    return 0;
}
