// The request-target and authority parsers. Input: method, target and Host field separated
// by NUL bytes. Invariants: a target that parses names a host and a port ≠ 0, its path has
// no fragment (in either form), and its authority text (the Host ferry sends) parses again to
// the same host and port; a parsed authority's views lie within the input.
#include "fuzz_check.h"

#include "http/target.h"

#include <string>

namespace {

using namespace ferry;

bool within(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

void check_authority(const http::authority& a, std::string_view text, std::uint16_t default_port) {
    FUZZ_CHECK(!a.host.empty());
    FUZZ_CHECK(a.port != 0);
    FUZZ_CHECK(within(a.host, text));
    FUZZ_CHECK(within(a.text, text));
    FUZZ_CHECK(a.text.find('@') == std::string_view::npos);
    // What ferry sends as Host reads back the same.
    const std::string again_text(a.text);
    http::authority again;
    FUZZ_CHECK(http::parse_authority(again_text, default_port, again) == http::target_error::none);
    FUZZ_CHECK(again.host == a.host);
    FUZZ_CHECK(again.port == a.port);
    FUZZ_CHECK(again.ipv6 == a.ipv6);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    const std::uint8_t port_byte = in.byte();
    // Copies, so that ASan sees any read past each part's end.
    const std::string method(in.until(std::string_view("\0", 1)));
    const std::string raw(in.until(std::string_view("\0", 1)));
    const std::string host(in.rest());

    http::authority a;
    const std::uint16_t default_port = port_byte == 0 ? 80 : std::uint16_t(port_byte * 257);
    if (http::parse_authority(host, default_port, a) == http::target_error::none) {
        check_authority(a, host, default_port);
        if (a.ipv6) FUZZ_CHECK(host.front() == '[');
    }

    // The request parser never hands over an empty target.
    if (raw.empty()) return 0;
    http::target t;
    if (http::parse_request_target(method, raw, host, t) != http::target_error::none) return 0;
    check_authority(t.where, t.absolute ? std::string_view(raw) : std::string_view(host), 80);
    // A fragment is cut from the target in either form.
    FUZZ_CHECK(t.path.find('#') == std::string_view::npos);
    FUZZ_CHECK(within(t.path, raw));
    if (t.absolute)
        FUZZ_CHECK(t.path.empty() || t.path.front() == '/' || t.path.front() == '?');
    else
        FUZZ_CHECK(t.path.front() == '/' || t.path == "*");
    return 0;
}
