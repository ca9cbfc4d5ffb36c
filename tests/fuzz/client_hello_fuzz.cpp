// The ClientHello reader (tls/client_hello) and the tunnel's decision on it
// (proxy/tunnel_peek). Input: one split byte, then the client's first bytes. Invariants: the
// verdict, what was taken and the hello read are the same for the bytes in one piece, in
// fuzzer-chosen pieces and one byte at a time; nothing is taken after a verdict; a hello's
// server name is lower-case and log-safe, a DNS name when said valid; ALPN names are not
// empty; a refusal says why.
#include "fuzz_check.h"

#include "proxy/tunnel_peek.h"
#include "tls/client_hello.h"

#include <string>

namespace {

using namespace ferry;

bool log_safe(std::string_view s) {
    for (char c : s)
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',') return false;
    return true;
}

void same(const tls::client_hello_reader& a, const tls::client_hello_reader& b) {
    FUZZ_CHECK(a.verdict() == b.verdict());
    FUZZ_CHECK(a.taken() == b.taken());
    FUZZ_CHECK(a.problem() == b.problem());
    FUZZ_CHECK(a.hello().sni == b.hello().sni);
    FUZZ_CHECK(a.hello().alpn == b.hello().alpn);
    FUZZ_CHECK(a.hello().ech == b.hello().ech);
    FUZZ_CHECK(a.hello().supported_versions == b.hello().supported_versions);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::input in(data, size);
    const std::uint8_t split = in.byte();
    const std::string bytes(in.rest()); // a copy: ASan sees reads past its end

    tls::client_hello_reader whole;
    whole.feed(bytes);
    FUZZ_CHECK(whole.taken() <= bytes.size());
    if (whole.verdict() == tls::hello_verdict::need_more) FUZZ_CHECK(whole.taken() == bytes.size());

    // Pieces of 1..split+1 bytes, cycling, and one byte at a time.
    tls::client_hello_reader pieces;
    std::size_t step = 1;
    for (std::size_t at = 0; at < bytes.size(); at += step, step = step % (split + 1u) + 1)
        pieces.feed(std::string_view(bytes).substr(at, step));
    same(whole, pieces);
    tls::client_hello_reader bytewise;
    for (char c : bytes)
        bytewise.feed(std::string_view(&c, 1));
    same(whole, bytewise);

    // A verdict is final.
    if (whole.verdict() != tls::hello_verdict::need_more) {
        const auto taken = whole.taken();
        const auto verdict = whole.verdict();
        FUZZ_CHECK(whole.feed("\x16\x03\x01") == verdict);
        FUZZ_CHECK(whole.taken() == taken);
        FUZZ_CHECK(!whole.problem().empty() || verdict == tls::hello_verdict::hello);
    }
    if (whole.verdict() == tls::hello_verdict::hello) {
        const auto& h = whole.hello();
        FUZZ_CHECK(log_safe(h.sni) || h.sni.empty());
        for (char c : h.sni)
            FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
        if (h.sni_valid && !h.sni.empty()) FUZZ_CHECK(tls::is_dns_name(h.sni));
        for (const auto& p : h.alpn)
            FUZZ_CHECK(!p.empty() && log_safe(p));
        FUZZ_CHECK(h.size <= tls::default_max_hello);
    }

    auto ended = whole;
    const auto at_end = ended.finish();
    FUZZ_CHECK(at_end != tls::hello_verdict::need_more || bytes.empty());

    for (auto policy : {config::tunnel_sni_policy::any, config::tunnel_sni_policy::match,
                        config::tunnel_sni_policy::require}) {
        const auto refusal = proxy::judge_first_bytes(policy, ended, "example.test");
        if (policy == config::tunnel_sni_policy::any) FUZZ_CHECK(!refusal);
        if (refusal) FUZZ_CHECK(refusal->cause.starts_with("ferry: tunnel refused: "));
    }
    return 0;
}
