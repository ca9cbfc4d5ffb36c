// The original proxy's flow log, one block per event, each block headed by its connection:
//
//   --- connection #1 ---
//   CLI ==> PRX --- SRV
//    > GET http://example.test/ HTTP/1.1
//    > curl/7.88.1
//   [SRV connected to example.test:80]
//   CLI --- PRX ==> SRV
//   CLI --- PRX <== SRV
//    > HTTP/1.1 200 OK
//    > text/html 1256 bytes
//   CLI <== PRX --- SRV
//
// A CONNECT tunnel's block says after `CLI --- PRX ==> SRV` what its client sent first:
//    > TLS hello: sni=example.test alpn=h2,http/1.1 ech=no      (or " > not TLS")
#pragma once

#include "observe/exchange_record.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::observe {

void append_flow_connected(std::uint64_t connection, std::string_view client, std::string& out);
void append_flow_exchange(const exchange_record& r, std::string& out);
void append_flow_disconnected(std::uint64_t connection, std::string_view client, std::string& out);

} // namespace ferry::observe
