// The options registry: every option ferry has, declared once — its flag, its key in the
// configuration file, how its value is written, the one check of that value, its help text
// and what a reload (SIGHUP) does with it. The command line (config/cli), the file
// (config/config_file), the reload plan (app/reload), `--help` and the tests that check the
// documentation are all driven by this table. The defaults are settings.h's initialisers.
#pragma once

#include "config/settings.h"

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::config {

enum class reload_class {
    live,    // a reload applies it
    restart, // a reload keeps the running value and names it: only a restart changes it
};

// How a value is written. The command line gives text; the file gives a typed TOML value,
// which config_file checks for its type and turns into the same text for the same apply().
enum class value_kind {
    flag,      // no value on the command line (--flow); true or false in the file
    on_off,    // on|off on the command line; true or false in the file
    text,      // a string
    integer,   // an integer
    seconds,   // seconds: an integer or a fraction
    port_list, // "443,8443" or "any"; in the file an array of integers or "any"
    list,      // repeatable on the command line; an array of strings in the file
};

// What each table row says in so many words.
struct option_about {
    std::string_view flag; // "--access-log"; "" for the positional PORT
    char short_flag;       // 'w' for -w; 0 when none
    std::string_view key;  // in the file: "access_log", "auth.realm"; "" when none
    value_kind kind;
    std::string_view value_name; // in --help and messages: "PATH|-|off"; "PORT" when positional
    std::string_view help;
    reload_class reload;
};

struct option {
    option_about about;
    // Checks `value` and stores it; returns "" or what is wrong ("expected ..."). The only
    // check of the value, for the command line and the file alike. A list option appends.
    std::function<std::string(settings&, std::string_view value)> apply;
    // The setting(s) the option sets: copied (a command-line option over the file's value, a
    // restart-only one kept on reload), compared (the reload plan), shown ("" when it has no
    // default to show: --help, and the test that the default passes its own check).
    std::function<void(const settings& from, settings& to)> copy;
    std::function<bool(const settings&, const settings&)> same;
    std::function<std::string(const settings&)> show;
    // How a value is shown in a message (masks a password); nullptr: as given.
    std::string (*shown)(std::string_view value) = nullptr;

    // "--via", or "port" (its key) for the positional port: in messages, and what
    // apply_command_line() asks about.
    std::string_view name() const { return about.flag.empty() ? about.key : about.flag; }
    bool takes_value() const { return about.kind != value_kind::flag; }
};

// Every option, in the order --help and the documentation list them. The [[acl]] rules are
// not options: config_file reads them itself (they have no flag and a table of their own).
std::span<const option> options();

const option* find_flag(std::string_view flag); // "--via", "-w"; nullptr when unknown
const option* find_key(std::string_view key);   // "via", "auth.realm"; nullptr when unknown

// The candidate nearest `name` by edit distance, when it is close enough to be a likely
// typo; "" otherwise.
std::string_view closest(std::string_view name, const std::vector<std::string_view>& candidates);

// What depends on several options, once every source has been applied: the default listen
// address when none was given, the access log off when the flow log has stdout (unless the
// access log was asked for), one worker per core when not said.
void finish(settings& s, bool access_log_given);

} // namespace ferry::config
