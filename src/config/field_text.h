// The options registry's value readers and writers (config/options.cpp): each reader checks
// a value given as text (the command line's, or a file's value turned into it) and stores it,
// returning "" or what is wrong; each to_text writes a field back as the command line would
// (--help's defaults, reload messages). Pure.
#pragma once

#include "config/settings.h"
#include "observe/access_log_format.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::config::field_text {

std::string read_text(std::string_view v, std::string& out);
// A pseudonym goes into Via and Server: one token, no spaces.
std::string read_pseudonym(std::string_view v, std::string& out);
// Goes into `Proxy-Authenticate: Basic realm="..."`.
std::string read_realm(std::string_view v, std::string& out);
bool whole_integer(std::string_view v, long long& out);
std::string read_on_off(std::string_view v, bool& out);
// The flow log goes somewhere once asked for: "off" would be a file named so, or nothing.
std::string read_flow_log(std::string_view v, std::string& out);
std::string read_log_format(std::string_view v, observe::access_log_format& out);
std::string read_tunnel_sni(std::string_view v, tunnel_sni_policy& out);
// The positional port: listen on 127.0.0.1:PORT, in front of the --listen addresses.
std::string read_port(std::string_view v, std::vector<listen_address>& out);
std::string read_connect_ports(std::string_view v, std::vector<std::uint16_t>& out);
// The scheme picks the front end (frontend/registry): one ferry does not serve is refused
// here, from the command line and the file alike, rather than served as something else.
std::string read_listen(std::string_view v, std::vector<listen_address>& out);
// ferry's own pages are plain HTTP: `http://` may be written, nothing else.
std::string read_admin_listen(std::string_view v, std::optional<listen_address>& out);
// The proxy a PAC file names: [http://|https://]HOST:PORT (https: "HTTPS host:port").
std::string read_pac_proxy(std::string_view v, std::optional<listen_address>& out);
std::string read_dns_server(std::string_view v, std::vector<dns_server>& out);
// The message never repeats the URL: it may hold a password.
std::string read_parent(std::string_view v, std::optional<parent_proxy>& out);
std::string read_direct(std::string_view v, std::vector<direct_rule>& out);
std::string read_trusted_forwarders(std::string_view v, std::vector<direct_rule>& out);
// "http://user:***@host": a --parent value as a message may show it.
std::string mask_password(std::string_view value);
std::string read_file_list(std::string_view v, std::vector<std::string>& out);
// An OpenSSL cipher list: the characters its syntax uses, checked by OpenSSL when loaded.
std::string read_cipher_list(std::string_view v, std::string& out);

// ---- a value as the command line writes it ("" when there is nothing to show) ----

std::string to_text(const std::string& s);
std::string to_text(bool b);
std::string to_text(std::size_t n);
std::string to_text(unsigned n);
std::string to_text(duration d);
std::string to_text(observe::access_log_format f);
std::string to_text(tunnel_sni_policy p);
std::string to_text(const std::vector<std::uint16_t>& ports);
std::string to_text(const std::vector<listen_address>& l);
template <class T>
std::string to_text(const T&) { // lists, optionals: nothing by default
    return {};
}

} // namespace ferry::config::field_text
