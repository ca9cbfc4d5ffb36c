#include "config/cli.h"

#include "config/config_file.h"
#include "config/options.h"

#include <fmt/format.h>

#include <cstdio>
#include <set>

namespace ferry::config {

namespace {

// Every usage error: one line, "ferry: ...", exit status 2.
cli_result usage_error(const std::string& message) {
    std::fprintf(stderr, "ferry: %s\n", message.c_str());
    return {std::nullopt, 2};
}

// A value as a message shows it: a password masked, control characters escaped (one line),
// "" for an empty one (`--via=`).
std::string shown(const option& o, std::string_view value) {
    if (value.empty()) return "\"\"";
    const std::string text = o.shown ? o.shown(value) : std::string(value);
    std::string out;
    for (unsigned char c : text)
        out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
    return out;
}

std::string unknown_option(std::string_view name) {
    std::vector<std::string_view> flags{"--help", "--version"};
    for (const auto& o : options())
        if (!o.about.flag.empty()) flags.push_back(o.about.flag);
    std::string message = fmt::format("unknown option {}", name);
    if (name.starts_with("--"))
        if (auto near = closest(name, flags); !near.empty())
            message += fmt::format(" (did you mean {}?)", near);
    return message;
}

struct given_value {
    const option* what;
    std::string value;
};

// The command line as the options it gives, in order, or what is wrong with it.
struct scan {
    std::vector<given_value> values;
    bool help = false, version = false;
    std::string error;
};

scan scan_arguments(int argc, char** argv) {
    scan out;
    std::set<const option*> seen;
    const option* port = find_key("port");
    bool only_positionals = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--" && !only_positionals) {
            only_positionals = true;
            continue;
        }
        const option* o = port;
        std::string_view name = arg, value;
        bool has_value = only_positionals || arg.size() < 2 || arg[0] != '-';
        if (has_value) {
            value = arg;
        } else if (arg == "-h" || arg == "--help") {
            out.help = true;
            continue;
        } else if (arg == "-V" || arg == "--version") {
            out.version = true;
            continue;
        } else {
            // --name=value, -wVALUE
            const auto split =
                arg.starts_with("--") ? arg.find('=') : (arg.size() > 2 ? 2 : arg.npos);
            name = arg.substr(0, split);
            has_value = split != arg.npos;
            if (has_value) value = arg.substr(split + (arg[1] == '-' ? 1 : 0));
            o = find_flag(name);
            if (!o) return {{}, false, false, unknown_option(name)};
        }
        if (!o->takes_value() && has_value)
            return {{}, false, false, fmt::format("{} takes no value", name)};
        if (o->takes_value() && !has_value) {
            if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--"))
                return {{},
                        false,
                        false,
                        fmt::format("{} needs a value ({})", name, o->about.value_name)};
            value = argv[++i];
        }
        if (!seen.insert(o).second && o->about.kind != value_kind::list)
            return {{},
                    false,
                    false,
                    o == port ? fmt::format("unexpected argument {} (one port only)", value)
                              : fmt::format("{} given twice", o->name())};
        out.values.push_back({o, o->takes_value() ? std::string(value) : "on"});
    }
    return out;
}

void print_help() {
    std::string text =
        "ferry — an HTTP/1.1 forward proxy.\n"
        "Point a client at it: curl -x http://127.0.0.1:9001 http://example.test/\n\n"
        "Usage: ferry [PORT] [OPTIONS]\n"
        "       ferry --check-config FILE\n\n"
        "Options:\n";
    auto line = [&text](std::string left, std::string_view help) {
        if (left.size() > 36) left += "\n" + std::string(38, ' '); // help on a line of its own
        text += fmt::format("  {:<36}  {}\n", left, help);
    };
    line("-h, --help", "Print this help and exit");
    line("-V, --version", "Print the version and exit");
    const settings defaults;
    for (const auto& o : options()) {
        const auto& a = o.about;
        std::string left =
            a.flag.empty()
                ? std::string(a.value_name)
                : fmt::format("{}{}", a.short_flag ? fmt::format("-{}, ", a.short_flag) : "    ",
                              a.flag);
        if (!a.flag.empty() && o.takes_value()) left += fmt::format(" {}", a.value_name);
        const auto value = o.show(defaults);
        if (value.empty() || a.kind == value_kind::flag)
            line(left, a.help);
        else
            line(left, fmt::format("{} (default: {})", a.help, value));
    }
    text +=
        "\nThe configuration file, [auth], [[acl]], the log formats and the signals: man ferry\n";
    std::fputs(text.c_str(), stdout);
}

// --config / --check-config: the file's settings, then every option given on the command line.
cli_result with_config_file(const settings& command_line,
                            const std::function<bool(std::string_view)>& given,
                            const std::string& path, bool check_only) {
    auto loaded = load_config_file(path);
    if (!loaded.parsed) return usage_error(loaded.error);
    settings s = std::move(*loaded.parsed);
    apply_command_line(s, command_line, given);
    const bool access_log_given = loaded.given.contains("access_log") || given("--access-log");
    if (!access_log_given) s.access_log = settings{}.access_log; // finish() decides anew
    finish(s, access_log_given);
    s.config_file = path;
    if (auto problem = check_merged(s, path); !problem.empty()) return usage_error(problem);
    if (check_only) {
        std::printf("ferry: %s: OK\n", path.c_str());
        return {std::nullopt, 0};
    }
    return {std::move(s), 0};
}

} // namespace

cli_result parse_command_line(int argc, char** argv) {
    auto scanned = scan_arguments(argc, argv);
    if (!scanned.error.empty()) return usage_error(scanned.error);
    if (scanned.help) {
        print_help();
        return {std::nullopt, 0};
    }
    if (scanned.version) {
        std::printf("ferry %s\n", FERRY_VERSION);
        return {std::nullopt, 0};
    }
    settings s;
    s.listen.clear(); // the port and --listen build it; finish() puts the default back if neither
    std::set<std::string_view, std::less<>> given;
    for (const auto& [o, value] : scanned.values) {
        if (auto problem = o->apply(s, value); !problem.empty())
            return usage_error(fmt::format("{} {}: {}", o->name(), shown(*o, value), problem));
        given.insert(o->name());
    }
    auto was_given = [&given](std::string_view name) { return given.contains(name); };
    finish(s, was_given("--access-log"));
    if (was_given("--config") && was_given("--check-config"))
        return usage_error("--config and --check-config cannot be used together");
    if (was_given("--config") || was_given("--check-config"))
        return with_config_file(s, was_given, s.config_file, was_given("--check-config"));
    if (auto problem = check_admin(s); !problem.empty()) return usage_error(problem);
    return {std::move(s), 0};
}

} // namespace ferry::config
