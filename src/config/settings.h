// Every setting ferry has, with its default, in one place: these initialisers are the defaults
// (config/options.h declares each option's flag, key and check; --help shows these values).
// Read-only once loaded.
#pragma once

#include "observe/access_log_format.h"
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::util {
class domain_set; // util/domain_set.h, util/cidr_set.h: the sets of [[acl]] list files
class cidr_set;
} // namespace ferry::util

namespace ferry::config {

using duration = std::chrono::milliseconds;

// One --direct rule: a host, a domain with its subdomains (".example.com"), or a CIDR.
struct direct_rule {
    enum class kind { host, suffix, cidr } what = kind::host;
    std::string name;    // host or suffix (lower-case, suffix without the leading dot)
    std::string network; // CIDR: the address as text
    unsigned prefix = 0; // CIDR: prefix length
    bool operator==(const direct_rule&) const = default;
};

// Where ferry listens, and for what: the scheme names the front end that serves the
// listener's connections (frontend/registry); `http://127.0.0.1:8080`, or without a scheme
// `127.0.0.1:8080`, is the HTTP/1.1 forward proxy.
struct listen_address {
    std::string host; // IP literal or a name from /etc/hosts ("localhost")
    std::uint16_t port = 0;
    std::string scheme = "http"; // lower case
    // HAProxy's PROXY protocol (issue 17): every connection starts with a header from a
    // load balancer in `proxy_protocol_from` (kind::cidr rules, never empty when on), whose
    // source address is then the client's. `[[listener]]` tables, or the listen address
    // followed by `?proxy_protocol_from=CIDR,...`.
    bool proxy_protocol = false;
    std::vector<direct_rule> proxy_protocol_from{};
    bool operator==(const listen_address&) const = default;
};

// A DNS server given with --dns-server.
struct dns_server {
    std::string address; // IPv4 or IPv6 literal
    std::uint16_t port = 53;
    bool operator==(const dns_server&) const = default;
};

// The parent proxy given with --parent: requests go through it unless --direct matches.
struct parent_proxy {
    std::string host; // name or IP literal (no brackets)
    std::uint16_t port = 0;
    std::string authorization; // "Basic <base64>" when credentials were given, else empty
    bool tls = false; // https://: TLS to the parent, verified (parent_ca or the system's CAs)
    bool operator==(const parent_proxy&) const = default;
};

// The HTTPS listeners' TLS (issue 14): one set of certificates for every https:// listener.
struct tls_settings {
    std::vector<std::string> cert; // PEM files, leaf then chain; the first is the default
    std::vector<std::string> key;  // their keys, in the same order; none: in the cert file
    // TLS 1.2 cipher list (1.3's suites are OpenSSL's): Mozilla's "intermediate".
    std::string ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"
                          "DHE-RSA-CHACHA20-POLY1305";
    duration handshake_timeout{10'000};
    std::string client_ca;                // verify client certificates against these CAs
    std::string client_auth = "optional"; // "optional" or "required" (with client_ca)
    std::string client_identity = "cn";   // "cn", "san-dns", "san-email" or "san-uri"
    std::string client_crl;               // revoked client certificates (PEM CRLs)
    bool operator==(const tls_settings&) const = default;
};

// HTTP/2 from clients (issue 15): what ferry announces in its SETTINGS and holds to.
struct http2_settings {
    bool enabled = true;    // ALPN "h2" on https:// listeners
    bool cleartext = false; // the prior-knowledge preface on http:// listeners
    std::size_t max_concurrent_streams = 100;
    std::size_t max_header_list_size = 64 * 1024; // a larger request header list → 431
    std::size_t max_frame_size = 16 * 1024;       // the largest frame ferry accepts
    // Receive windows: what a client may send ahead of ferry reading it, and so the memory
    // one stream (and one connection, all streams together) can hold of request bodies.
    std::size_t stream_window = 256 * 1024;
    std::size_t connection_window = 1024 * 1024;
    bool operator==(const http2_settings&) const = default;
};

// One access rule (issue 4). Rules are tried in order; the first that matches decides.
// An empty list means "any" for that condition.
struct acl_rule {
    // An [[acl]] condition's list files (`dest_file`, `client_file`; issue 18), read by
    // config/list_file when the configuration file is loaded (and again on reload): every
    // file's entries in one set per kind, immutable and shared by the settings snapshots.
    struct list_files {
        struct source {
            std::string path;     // as given, a relative one joined to the config file's directory
            std::size_t line = 0; // where the configuration file names it
            bool operator==(const source&) const = default;
        };
        std::vector<source> files;                      // none: the key was not given
        std::shared_ptr<const util::domain_set> names;  // hosts and .domains (dest_file only)
        std::shared_ptr<const util::cidr_set> networks; // IPs and CIDRs

        bool given() const { return !files.empty(); }
        // The same files with the same entries (a reload that read them again changed
        // nothing). In config/list_file.cpp, which knows the sets.
        bool operator==(const list_files& other) const;
    };

    enum class verdict { allow, deny } action = verdict::allow;
    std::string name;                      // optional `name` key; else reported by index
    std::vector<direct_rule> clients;      // client address CIDRs (kind::cidr only)
    std::vector<direct_rule> destinations; // host, .suffix or CIDR (as for --direct)
    list_files client_files;               // more clients, from files (IPs and CIDRs)
    list_files dest_files;                 // more destinations, from files
    std::vector<std::uint16_t> ports;      // destination ports
    std::vector<std::string> methods;      // upper-case method names
    std::vector<std::string> users;        // "*" = any authenticated user; empty = no auth
    bool users_given = false;              // `users` present (so authentication is needed)
    std::size_t line = 0;                  // where it was defined, for messages
    bool operator==(const acl_rule&) const = default;
    // The condition on clients or destinations is there: inline, from files, or both.
    bool has_clients() const { return !clients.empty() || client_files.given(); }
    bool has_destinations() const { return !destinations.empty() || dest_files.given(); }
};

// What a CONNECT tunnel's client must send first (--tunnel-sni; proxy/tunnel_peek.h): any
// (read and logged only), match (a TLS hello naming a server names the CONNECT host), require
// (a TLS hello, with a server name that matches).
enum class tunnel_sni_policy { any, match, require };

// Basic proxy authentication (issue 4).
struct auth_settings {
    std::string htpasswd; // path; empty: no authentication
    std::string realm = "ferry";
};

struct settings {
    std::vector<listen_address> listen{{"127.0.0.1", 9001}};
    unsigned workers = 0; // 0: one per core

    bool flow = false;            // the original flow log
    std::string flow_log = "-";   // where it goes: "-" stdout, "stderr", or a file path
    std::string access_log = "-"; // "-" stdout, "stderr", "off", or a file path
    observe::access_log_format access_log_format = observe::access_log_format::ferry;
    std::string pseudonym = "ferry"; // in Via and Server
    // Forwarding headers (issue 18): Via at all (via = false / --via off: none), Squid's
    // forwarded_for ("on", "off", "truncate", "delete"), RFC 7239 Forwarded, and the clients
    // whose incoming X-Forwarded-For / Forwarded are extended rather than replaced (CIDRs).
    bool via = true;
    std::string forwarded_for = "on";
    bool forwarded = false;
    std::vector<direct_rule> trusted_forwarders;

    // Ports CONNECT may reach; empty means any port.
    std::vector<std::uint16_t> connect_ports{443};
    // SOCKS5 (frontend/socks5): ports a SOCKS5 CONNECT may reach (empty: any), and whether an
    // http:// listener serves a connection whose first byte is 0x05 as SOCKS5.
    std::vector<std::uint16_t> socks_ports;
    bool socks5_on_http = false;
    tunnel_sni_policy tunnel_sni = tunnel_sni_policy::any;
    // Safe destinations (issue 18, policy/destinations): "auto" (on when a proxy listener is
    // not on loopback), "on" or "off"; private ranges protected too with "deny".
    std::string private_destinations = "allow";
    std::string safe_destinations = "auto";

    duration header_timeout{10'000};        // whole request head, from its first byte
    duration idle_timeout{60'000};          // keep-alive wait for the next request
    duration connect_timeout{10'000};       // resolve + connect
    duration response_timeout{60'000};      // upstream silence while a response is due or streaming
    duration send_timeout{60'000};          // a peer that does not read what ferry writes
    duration shutdown_timeout{10'000};      // in-flight exchanges on SIGINT/SIGTERM
    duration tunnel_idle_timeout{300'000};  // a CONNECT tunnel with no bytes either way
    duration log_flush_interval{100};       // an access-log line is written within this; 0: at once
    duration proxy_protocol_timeout{5'000}; // a PROXY protocol header, from the connection's start

    // Upstream DNS and connections.
    std::vector<dns_server> dns_servers;     // empty: the system's (/etc/resolv.conf)
    duration dns_timeout{5'000};             // one name, all servers and tries
    duration dns_negative_ttl{5'000};        // how long a failed name is remembered
    std::size_t dns_cache_size = 10'000;     // names cached per worker
    duration connect_attempt_timeout{2'000}; // one address, while others remain to try
    duration happy_eyeballs_delay{250};      // the next address starts after this (RFC 8305)

    // The shared pool of idle upstream connections (per worker).
    std::size_t pool_per_host = 32;     // idle connections kept per host:port
    std::size_t pool_total = 1024;      // idle connections kept in all
    duration pool_idle_timeout{60'000}; // an idle pooled connection is closed after this

    std::optional<parent_proxy> parent; // --parent
    std::string parent_ca;              // CAs a TLS parent is verified against; empty: system's
    std::vector<direct_rule> direct;    // --direct: bypass the parent

    std::vector<acl_rule> acl; // empty: the default policy (loopback, and private ranges
                               // when listening on a non-loopback address)
    auth_settings auth;
    tls_settings tls;
    http2_settings http2;
    std::string config_file;                    // --config, for reload and messages
    std::optional<listen_address> admin_listen; // status pages, /metrics; off when empty
    // Who may read the admin listener (but /healthz): "none", "token" (Authorization: Bearer,
    // the first line of admin_token_file) or "basic" (the [auth] htpasswd users).
    std::string admin_auth = "none";
    std::string admin_token_file;
    std::size_t admin_flow_entries = 500; // exchanges the live flow view keeps (per process)
    bool status_on_proxy_port = false;    // the admin pages for requests to ferry itself
    // The proxy the PAC file (/proxy.pac) names; empty: derived from the listeners.
    std::optional<listen_address> pac_proxy;
    std::string user; // switch to this user after binding (needs root); empty: stay

    // Relay tunnels and large unchanged bodies with splice(2), without copying them.
    bool splice = true;

    std::size_t max_header_size = 64 * 1024; // request or response head → 431 / 502
    // Client connections held at once (parked ones included); over either limit a new
    // connection gets a 503 and is closed. 0 for max_connections: two open files per client,
    // less a reserve (app/admission.h); 0 per client: no limit.
    std::size_t max_connections = 0;
    std::size_t max_connections_per_client = 0;
    std::size_t max_target_size = 8 * 1024; // request-target → 414
};

} // namespace ferry::config
