// Every setting ferry has, with its default, in one place. Read-only once loaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::config {

using duration = std::chrono::milliseconds;

struct listen_address {
    std::string host; // IP literal or a name from /etc/hosts ("localhost")
    std::uint16_t port = 0;
};

struct settings {
    std::vector<listen_address> listen{{"127.0.0.1", 9001}};
    unsigned workers = 0; // 0: one per core

    bool flow = false;               // the original flow log, on stdout
    std::string access_log = "-";    // "-" stdout, "off", or a file path
    std::string pseudonym = "ferry"; // in Via and Server

    // Ports CONNECT may reach; empty means any port.
    std::vector<std::uint16_t> connect_ports{443};

    duration header_timeout{10'000};       // whole request head, from its first byte
    duration idle_timeout{60'000};         // keep-alive wait for the next request
    duration connect_timeout{10'000};      // resolve + connect
    duration response_timeout{60'000};     // upstream silence while a response is due or streaming
    duration send_timeout{60'000};         // a peer that does not read what ferry writes
    duration shutdown_timeout{10'000};     // in-flight exchanges on SIGINT/SIGTERM
    duration tunnel_idle_timeout{300'000}; // a CONNECT tunnel with no bytes either way

    std::size_t max_header_size = 64 * 1024; // request or response head → 431 / 502
    std::size_t max_target_size = 8 * 1024;  // request-target → 414
};

} // namespace ferry::config
