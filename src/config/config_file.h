// The configuration file (`ferry --config FILE`, TOML): the key of every option in the
// registry (config/options.h; "auth.realm" is `realm` in [auth]), checked by the option's own
// apply(), plus the [[acl]] rules, read here. Options given on the command line win.
#pragma once

#include "config/settings.h"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace ferry::config {

struct config_load {
    std::optional<settings> parsed; // the defaults with the file's values; empty on error
    std::string
        error; // "FILE:LINE: KEY: what is wrong", "FILE:LINE: unknown key "X"" (no "ferry: ")
    std::set<std::string, std::less<>> given; // keys present: "workers", "auth.realm", "acl"
};

// Parses `text`, the contents of `file_name` (used in messages, and as the directory that
// relative list-file paths are joined to). No file access: [[acl]] list files are named,
// not read (their sets stay empty).
config_load parse_config(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`, then the [[acl]] rules' list files
// (config/list_file); an unreadable file is an error naming it.
config_load load_config_file(const std::string& path);

// Copies into `merged` every setting whose command-line option `given(flag)` says was used
// ("--workers", or "port" for the positional port), taking the value from `command_line`.
void apply_command_line(settings& merged, const settings& command_line,
                        const std::function<bool(std::string_view flag)>& given);

// Checks that need the merged settings (file and command line); "" or "FILE:LINE: KEY: what".
std::string check_merged(const settings& s, std::string_view file_name);

// The admin listener's credentials: what `admin_auth` needs is configured. "" or the problem.
std::string check_admin(const settings& s);

// Every key the file accepts outside [[acl]], in the order they are documented.
std::vector<std::string_view> config_keys();

// The keys of an [[acl]] rule, as messages name them: "acl.action", "acl.client", ...
const std::vector<std::string_view>& acl_keys();

// The keys of a [[listener]] table: "listener.address", "listener.proxy_protocol", ...
const std::vector<std::string_view>& listener_keys();

} // namespace ferry::config
