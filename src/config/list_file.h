// List files of [[acl]] rules (`dest_file`, `client_file`; issue 18): one host, ".domain",
// IP or CIDR per line, the form block lists come in. Read when the configuration file is
// loaded, so a reload (SIGHUP) reads them again; the sets they fill are util/domain_set and
// util/cidr_set.
//
// A line: surrounding whitespace is ignored, as are blank lines and comments (`#` at the
// start, or after whitespace following the entry). Hosts are lower-cased and one trailing
// dot dropped. A client_file takes IPs and CIDRs only.
#pragma once

#include "config/settings.h"
#include "util/cidr_set.h"
#include "util/domain_set.h"

#include <string>
#include <string_view>

namespace ferry::config {

enum class list_kind {
    destinations, // host, .domain, IP, CIDR
    clients,      // IP, CIDR
};

// Parses the text of the list file `file_name` into the sets (the caller seal()s them once
// every file is in). "" or the first bad line: `FILE:LINE: what is wrong: "the line"`. Pure.
std::string parse_list(std::string_view text, std::string_view file_name, list_kind kind,
                       util::domain_set& names, util::cidr_set& networks);

// Reads the list files of every rule in `s`, filling each rule's sets. "" or what went
// wrong: a bad line as parse_list says it, or a file that cannot be read,
// `CONFIG:LINE: acl.dest_file: PATH: No such file or directory`.
std::string load_lists(settings& s, std::string_view config_file);

} // namespace ferry::config
