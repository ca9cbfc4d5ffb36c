// SOCKS5's messages (RFC 1928) and its username/password sub-negotiation (RFC 1929), byte
// by byte: readers that take what has arrived so far and say need-more, done (with how many
// bytes the message took) or failed (with the reply RFC 1928 has for it, if any), and the
// writers of ferry's answers. Pure: no I/O, no clock.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::frontend::socks5 {

inline constexpr std::uint8_t version = 0x05;
inline constexpr std::uint8_t password_version = 0x01; // RFC 1929's sub-negotiation

// Authentication methods (RFC 1928 §3).
enum class method : std::uint8_t { no_auth = 0x00, password = 0x02, none_acceptable = 0xff };

// Commands (RFC 1928 §4).
enum class command : std::uint8_t { connect = 0x01, bind = 0x02, udp_associate = 0x03 };

// Reply codes (RFC 1928 §6).
enum class reply : std::uint8_t {
    succeeded = 0x00,
    general_failure = 0x01,
    not_allowed = 0x02, // connection not allowed by ruleset
    network_unreachable = 0x03,
    host_unreachable = 0x04,
    connection_refused = 0x05,
    ttl_expired = 0x06,
    command_not_supported = 0x07,
    address_type_not_supported = 0x08,
};
inline constexpr std::size_t reply_count = 9;
// "connection refused": how the logs name a reply.
std::string_view describe(reply r);

enum class read_status { need_more, done, failed };

// Why a message could not be read.
enum class problem {
    none,
    bad_version,         // VER is not 5 (1 in the sub-negotiation): not SOCKS5, closed
    no_methods,          // NMETHODS is 0: answered "no acceptable methods"
    bad_command,         // CMD is not CONNECT, BIND or UDP ASSOCIATE
    unsupported_command, // BIND, UDP ASSOCIATE
    bad_address_type,    // ATYP is not 1, 3 or 4
    bad_name,            // an empty domain name, or one with bytes no host name has
};
std::string_view describe(problem p);
// The reply RFC 1928 has for a request that failed so (none: the connection is just closed).
std::optional<reply> reply_for(problem p);

template <class T>
struct parsed {
    read_status status = read_status::need_more;
    std::size_t used = 0; // bytes of the message, when done
    T value{};
    problem why = problem::none; // when failed
};

// The client's greeting: VER, NMETHODS, METHODS.
struct greeting {
    bool no_auth = false;  // offers 0x00
    bool password = false; // offers 0x02
};
parsed<greeting> read_greeting(std::string_view in);

// RFC 1929: VER (1), ULEN, UNAME, PLEN, PASSWD. Empty names and passwords are read (they
// fail authentication).
struct credentials {
    std::string user;
    std::string password;
};
parsed<credentials> read_credentials(std::string_view in);

// VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT. RSV is not checked (RFC 1928 reserves it).
struct request {
    command cmd = command::connect;
    std::string host; // IPv4 or IPv6 literal (no brackets), or a domain name as sent
    std::uint16_t port = 0;
};
parsed<request> read_request(std::string_view in);

// "host:port", "[v6]:port": the target of the CONNECT the request becomes.
std::string authority(const request& r);

// Writers, appending to `out`.
void write_method(method m, std::string& out);
void write_password_status(bool ok, std::string& out); // RFC 1929: 0 success, 1 failure
// BND.ADDR and BND.PORT: `bound`, as ATYP 1 or 4 (0.0.0.0:0 when unspecified).
void write_reply(reply r, const boost::asio::ip::tcp::endpoint& bound, std::string& out);

} // namespace ferry::frontend::socks5
