// Loopback ports and addresses for tests that need more than ferry_process gives.
#pragma once

#include "support/socket_io.h"

namespace ferry_test {

// A port on 127.0.0.1 that nothing listens on right now (bound, then released).
int unused_port();
// Whether `port` on 127.0.0.1 can be bound right now.
bool port_is_free(int port);
// Whether this machine has a usable ::1.
bool ipv6_loopback_available();
// The local port of a connected socket (the client port ferry sees).
int local_port_of(const tcp_stream& s);
// Connects to [::1]:port; check ok().
tcp_stream connect_to_v6(int port);

} // namespace ferry_test
