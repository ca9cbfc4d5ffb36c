#include "config/config_file.h"

#include "config/cli.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace ferry::config {

namespace {

// What is wrong with a value; `at` (when set) is the element it is about, for its line.
struct problem {
    std::string what;
    const toml::node* at = nullptr;
    bool ok() const { return what.empty(); }
};

problem fine() {
    return {};
}
problem wrong(std::string what, const toml::node* at = nullptr) {
    return {std::move(what), at};
}

// ---- value readers: (node, field) → problem ----

problem read_bool(const toml::node& n, bool& out) {
    auto v = n.value<bool>();
    if (!n.is_boolean() || !v) return wrong("expected true or false");
    out = *v;
    return fine();
}

problem read_string(const toml::node& n, std::string& out) {
    if (!n.is_string()) return wrong("expected a string");
    out = n.as_string()->get();
    if (out.empty()) return wrong("expected a non-empty string");
    for (unsigned char c : out)
        if (c < 0x20 || c == 0x7f) return wrong("control characters are not allowed");
    return fine();
}

// A pseudonym goes into Via and Server: one token, no spaces.
problem read_pseudonym(const toml::node& n, std::string& out) {
    if (auto p = read_string(n, out); !p.ok()) return p;
    for (char c : out)
        if (c == ' ' || c == ',' || c == '(' || c == ')' || c == '"' || c == '\\')
            return wrong("expected a name without spaces, commas, parentheses or quotes");
    return fine();
}

// Goes into `Proxy-Authenticate: Basic realm="..."`.
problem read_realm(const toml::node& n, std::string& out) {
    if (auto p = read_string(n, out); !p.ok()) return p;
    if (out.find_first_of("\"\\") != std::string::npos)
        return wrong("a realm cannot contain quotes or backslashes");
    return fine();
}

bool integer_in(const toml::node& n, long long lo, long long hi, long long& out) {
    if (!n.is_integer()) return false;
    out = n.as_integer()->get();
    return out >= lo && out <= hi;
}

// An integer lo..hi into any integer field.
auto count(long long lo, long long hi) {
    return [lo, hi](const toml::node& n, auto& out) {
        long long v = 0;
        if (!integer_in(n, lo, hi, v))
            return wrong("expected an integer from " + std::to_string(lo) + " to " +
                         std::to_string(hi));
        out = static_cast<std::remove_reference_t<decltype(out)>>(v);
        return fine();
    };
}

// Seconds (an integer or a fraction) into a duration; positive, or zero too when `zero_ok`.
auto seconds(bool zero_ok) {
    return [zero_ok](const toml::node& n, duration& out) {
        if (!n.is_number()) return wrong("expected a number of seconds");
        double s = n.value<double>().value_or(-1);
        if (!(s > 0 || (zero_ok && s == 0)) || s > 1e9)
            return wrong(zero_ok ? "expected zero or more seconds"
                                 : "expected a positive number "
                                   "of seconds");
        out = duration(static_cast<long long>(s * 1000.0));
        return fine();
    };
}

// An array whose elements each go through `each`; `allow_empty` says whether [] is meaningful.
template <class Each>
problem for_each_element(const toml::node& n, bool allow_empty, const char* expected, Each each) {
    const auto* array = n.as_array();
    if (!array) return wrong(std::string("expected an array of ") + expected);
    if (array->empty() && !allow_empty)
        return wrong(std::string("expected at least one of ") + expected);
    for (const auto& element : *array) {
        problem p = each(element);
        if (!p.ok()) {
            if (!p.at) p.at = &element;
            return p;
        }
    }
    return fine();
}

// An array of strings, each checked by `parse(text) → bool`.
template <class T, class Parse>
problem read_string_list(const toml::node& n, std::vector<T>& out, bool allow_empty,
                         const char* expected, Parse parse) {
    out.clear();
    return for_each_element(n, allow_empty, expected, [&](const toml::node& e) {
        if (!e.is_string()) return wrong(std::string("expected ") + expected);
        T value{};
        if (!parse(e.as_string()->get(), value)) return wrong(std::string("expected ") + expected);
        out.push_back(std::move(value));
        return fine();
    });
}

problem read_listen(const toml::node& n, std::vector<listen_address>& out) {
    // `port` (the positional port) may come first; it is kept in front, as on the command line.
    std::vector<listen_address> read;
    auto p = read_string_list(
        n, read, false, "\"HOST:PORT\" or \"[IPv6]:PORT\"",
        [](std::string_view text, listen_address& a) { return parse_listen_address(text, a); });
    out.insert(out.end(), read.begin(), read.end());
    return p;
}

problem read_admin_listen(const toml::node& n, std::optional<listen_address>& out) {
    std::string text;
    if (auto p = read_string(n, text); !p.ok()) return p;
    listen_address a;
    if (!parse_listen_address(text, a)) return wrong("expected \"HOST:PORT\" or \"[IPv6]:PORT\"");
    out = a;
    return fine();
}

problem read_log_format(const toml::node& n, observe::access_log_format& out) {
    std::string text;
    if (auto p = read_string(n, text); !p.ok()) return p;
    auto f = observe::parse_access_log_format(text);
    if (!f) return wrong("expected \"ferry\", \"squid\", \"combined\" or \"json\"");
    out = *f;
    return fine();
}

problem read_port(const toml::node& n, std::vector<listen_address>& out) {
    long long v = 0;
    if (!integer_in(n, 0, 65535, v)) return wrong("expected a port 0-65535");
    out.insert(out.begin(), listen_address{"127.0.0.1", static_cast<std::uint16_t>(v)});
    return fine();
}

problem read_port_numbers(const toml::node& n, std::vector<std::uint16_t>& out, bool allow_any) {
    const char* expected = allow_any ? "expected a port 1-65535 or \"any\""
                                     : "expected a port "
                                       "1-65535";
    out.clear();
    if (allow_any && n.is_string() && n.as_string()->get() == "any") return fine();
    if (!n.is_array()) return wrong(expected);
    return for_each_element(n, false, "ports", [&](const toml::node& e) {
        long long v = 0;
        if (!integer_in(e, 1, 65535, v)) return wrong(expected);
        out.push_back(static_cast<std::uint16_t>(v));
        return fine();
    });
}

problem read_connect_ports(const toml::node& n, std::vector<std::uint16_t>& out) {
    return read_port_numbers(n, out, true);
}

problem read_dns_servers(const toml::node& n, std::vector<dns_server>& out) {
    return read_string_list(
        n, out, true, "\"IP\", \"IP:PORT\" or \"[IPv6]:PORT\"",
        [](std::string_view text, dns_server& s) { return parse_dns_server(text, s); });
}

problem read_parent(const toml::node& n, std::optional<parent_proxy>& out) {
    std::string text;
    if (auto p = read_string(n, text); !p.ok()) return p;
    parent_proxy parent;
    // The message never repeats the URL: it may hold a password.
    if (auto why = parse_parent(text, parent); !why.empty()) return wrong(why);
    out = parent;
    return fine();
}

problem read_rules(const toml::node& n, std::vector<direct_rule>& out) {
    return read_string_list(
        n, out, true, "a host, \".domain\", IP or CIDR",
        [](std::string_view text, direct_rule& r) { return parse_direct_rule(text, r); });
}

// ---- the table of keys ----

struct key_spec {
    std::string_view key;  // "workers"; "auth.realm" for `realm` in [auth]
    std::string_view flag; // the command-line option that overrides it ("port": positional)
    std::function<problem(const toml::node&, settings&)> apply;
    std::function<void(const settings& from, settings& to)> copy;
};

// `field` is a pointer to a member of settings, or `[](auto& s) -> auto& { return s.x.y; }`.
template <class Field, class Read>
key_spec key(std::string_view name, std::string_view flag, Field field, Read read) {
    return {
        name, flag,
        [field, read](const toml::node& n, settings& s) { return read(n, std::invoke(field, s)); },
        [field](const settings& from, settings& to) {
            std::invoke(field, to) = std::invoke(field, from);
        }};
}

// Adding an option: one line here (and its CLI11 option in cli.cpp, the example file and
// docs/configuration.md).
const std::vector<key_spec>& key_table() {
    static const std::vector<key_spec> table{
        key("port", "port", &settings::listen, read_port),
        key("listen", "--listen", &settings::listen, read_listen),
        key("workers", "--workers", &settings::workers, count(1, 256)),
        key("flow", "--flow", &settings::flow, read_bool),
        key("access_log", "--access-log", &settings::access_log, read_string),
        key("access_log_format", "--access-log-format", &settings::access_log_format,
            read_log_format),
        key("flow_log", "--flow-log", &settings::flow_log, read_string),
        key("admin_listen", "--admin-listen", &settings::admin_listen, read_admin_listen),
        key("user", "--user", &settings::user, read_string),
        key("via", "--via", &settings::pseudonym, read_pseudonym),
        key("header_timeout", "--header-timeout", &settings::header_timeout, seconds(false)),
        key("idle_timeout", "--idle-timeout", &settings::idle_timeout, seconds(false)),
        key("connect_timeout", "--connect-timeout", &settings::connect_timeout, seconds(false)),
        key("response_timeout", "--response-timeout", &settings::response_timeout, seconds(false)),
        key("send_timeout", "--send-timeout", &settings::send_timeout, seconds(false)),
        key("shutdown_timeout", "--shutdown-timeout", &settings::shutdown_timeout, seconds(false)),
        key("tunnel_idle_timeout", "--tunnel-idle-timeout", &settings::tunnel_idle_timeout,
            seconds(false)),
        key("connect_ports", "--connect-ports", &settings::connect_ports, read_connect_ports),
        key("dns_server", "--dns-server", &settings::dns_servers, read_dns_servers),
        key("dns_timeout", "--dns-timeout", &settings::dns_timeout, seconds(false)),
        key("dns_negative_ttl", "--dns-negative-ttl", &settings::dns_negative_ttl, seconds(true)),
        key("dns_cache_size", "--dns-cache-size", &settings::dns_cache_size, count(0, 100'000'000)),
        key("connect_attempt_timeout", "--connect-attempt-timeout",
            &settings::connect_attempt_timeout, seconds(false)),
        key("pool_per_host", "--pool-per-host", &settings::pool_per_host, count(0, 1'000'000)),
        key("pool_total", "--pool-total", &settings::pool_total, count(0, 100'000'000)),
        key("pool_idle_timeout", "--pool-idle-timeout", &settings::pool_idle_timeout,
            seconds(false)),
        key("parent", "--parent", &settings::parent, read_parent),
        key("direct", "--direct", &settings::direct, read_rules),
        key("splice", "--splice", &settings::splice, read_bool),
        key("max_header_size", "--max-header-size", &settings::max_header_size,
            count(1024, 1 << 24)),
        key("max_target_size", "--max-target-size", &settings::max_target_size, count(64, 1 << 20)),
        key("max_connections", "--max-connections", &settings::max_connections,
            count(0, 100'000'000)),
        key("max_connections_per_client", "--max-connections-per-client",
            &settings::max_connections_per_client, count(0, 100'000'000)),
        key(
            "auth.htpasswd", "--htpasswd", [](auto& s) -> auto& { return s.auth.htpasswd; },
            read_string),
        key(
            "auth.realm", "--auth-realm", [](auto& s) -> auto& { return s.auth.realm; },
            read_realm),
    };
    return table;
}

const key_spec* find_key(std::string_view name) {
    for (const auto& spec : key_table())
        if (spec.key == name) return &spec;
    return nullptr;
}

bool is_table_prefix(std::string_view name) {
    for (const auto& spec : key_table())
        if (spec.key.size() > name.size() && spec.key.starts_with(name) &&
            spec.key[name.size()] == '.')
            return true;
    return false;
}

// ---- [[acl]] ----

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

problem read_acl_key(std::string_view name, const toml::node& n, acl_rule& rule) {
    if (name == "action") {
        if (!n.is_string() || (n.as_string()->get() != "allow" && n.as_string()->get() != "deny"))
            return wrong("expected \"allow\" or \"deny\"");
        rule.action =
            n.as_string()->get() == "allow" ? acl_rule::verdict::allow : acl_rule::verdict::deny;
        return fine();
    }
    if (name == "name") return read_string(n, rule.name);
    if (name == "client")
        return read_string_list(
            n, rule.clients, false, "an IP or CIDR", [](std::string_view text, direct_rule& r) {
                return parse_direct_rule(text, r) && r.what == direct_rule::kind::cidr;
            });
    if (name == "dest")
        return read_string_list(
            n, rule.destinations, false, "a host, \".domain\", IP or CIDR",
            [](std::string_view text, direct_rule& r) { return parse_direct_rule(text, r); });
    if (name == "ports") return read_port_numbers(n, rule.ports, false);
    if (name == "methods")
        return read_string_list(n, rule.methods, false, "a method name like \"GET\"",
                                [](std::string_view text, std::string& m) {
                                    if (text.empty()) return false;
                                    m.clear();
                                    for (char c : text) {
                                        if (!is_token_char(c)) return false;
                                        m += (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
                                    }
                                    return true;
                                });
    if (name == "users") {
        rule.users_given = true;
        return read_string_list(n, rule.users, false, "a user name or \"*\"",
                                [](std::string_view text, std::string& u) {
                                    u = std::string(text);
                                    return !u.empty() && u.find(':') == std::string::npos;
                                });
    }
    return wrong("unknown key");
}

// ---- the parse ----

struct parser {
    std::string_view file;
    config_load result;
    std::size_t error_line = 0;

    std::size_t line_of(const toml::node& n) const { return n.source().begin.line; }

    void fail(std::size_t line, std::string_view key, const std::string& what) {
        // The problem nearest the top of the file is the one reported (tables iterate by name).
        if (!result.error.empty() && error_line <= line) return;
        error_line = line;
        result.error =
            std::string(file) + ":" + std::to_string(line) + ": " + std::string(key) + ": " + what;
    }
    void fail(const toml::node& n, std::string_view key, const problem& p) {
        fail(line_of(p.at ? *p.at : n), key, p.what);
    }

    void unknown(const toml::key& k, const std::string& dotted) {
        std::string hint;
        std::string underscored = dotted;
        for (auto& c : underscored)
            if (c == '-') c = '_';
        if (underscored != dotted && find_key(underscored))
            hint = " (did you mean " + underscored + "?)";
        fail(k.source().begin.line, dotted, "unknown key" + hint);
    }

    void table(const toml::table& t, const std::string& prefix, settings& s) {
        for (auto&& [k, node] : t) {
            std::string dotted = prefix + std::string(k.str());
            result.given.insert(dotted);
            if (const auto* spec = find_key(dotted)) {
                if (auto p = spec->apply(node, s); !p.ok()) fail(node, dotted, p);
            } else if (prefix.empty() && dotted == "acl") {
                acl(node, s);
            } else if (is_table_prefix(dotted)) {
                if (const auto* inner = node.as_table())
                    table(*inner, dotted + ".", s);
                else
                    fail(line_of(node), dotted, "expected a table ([" + dotted + "])");
            } else {
                unknown(k, dotted);
            }
        }
    }

    void acl(const toml::node& n, settings& s) {
        const auto* rules = n.as_array();
        if (!rules || !rules->is_array_of_tables()) {
            fail(line_of(n), "acl", "expected [[acl]] tables");
            return;
        }
        for (const auto& element : *rules) {
            const auto& t = *element.as_table();
            acl_rule rule;
            rule.line = line_of(t);
            bool has_action = false;
            for (auto&& [k, node] : t) {
                std::string dotted = "acl." + std::string(k.str());
                if (auto p = read_acl_key(k.str(), node, rule); !p.ok()) {
                    if (p.what == "unknown key")
                        unknown(k, dotted);
                    else
                        fail(node, dotted, p);
                    return;
                }
                has_action = has_action || k.str() == "action";
            }
            if (!has_action) {
                fail(rule.line, "acl.action", "missing: every rule needs \"allow\" or \"deny\"");
                return;
            }
            s.acl.push_back(std::move(rule));
        }
    }
};

} // namespace

config_load parse_config(std::string_view text, std::string_view file_name) {
    parser p{file_name, {}};
    toml::table doc;
    try {
        doc = toml::parse(text, file_name);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        p.result.error = std::string(file_name) + ":" + std::to_string(at.line) + ":" +
                         std::to_string(at.column) + ": " + std::string(e.description());
        return std::move(p.result);
    }
    settings s;
    s.listen.clear(); // `port` and `listen` build it; the default comes back if neither did
    p.table(doc, "", s);
    if (!p.result.error.empty()) return std::move(p.result);
    if (s.listen.empty()) s.listen.push_back({"127.0.0.1", 9001});
    // As on the command line: with the flow log on, stdout is its own unless asked otherwise.
    if (s.flow && !p.result.given.contains("access_log")) s.access_log = "off";
    if (s.workers == 0) s.workers = std::max(1u, std::thread::hardware_concurrency());
    p.result.parsed = std::move(s);
    return std::move(p.result);
}

config_load load_config_file(const std::string& path) {
    config_load failed;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        failed.error = path + ": " + std::strerror(errno);
        return failed;
    }
    std::string text;
    char buf[8192];
    std::size_t n = 0;
    constexpr std::size_t largest = std::size_t(1) << 20; // a configuration, not a data set
    while (text.size() <= largest && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
        text.append(buf, n);
    const int read_error = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (read_error != 0) {
        failed.error = path + ": " + std::strerror(read_error);
        return failed;
    }
    if (text.size() > largest) {
        failed.error = path + ": larger than 1 MiB: not a configuration file";
        return failed;
    }
    return parse_config(text, path);
}

void apply_command_line(settings& merged, const settings& command_line,
                        const std::function<bool(std::string_view flag)>& given) {
    for (const auto& spec : key_table())
        if (!spec.flag.empty() && given(spec.flag)) spec.copy(command_line, merged);
}

std::string check_merged(const settings& s, std::string_view file_name) {
    for (const auto& rule : s.acl)
        if (rule.users_given && s.auth.htpasswd.empty())
            return std::string(file_name) + ":" + std::to_string(rule.line) +
                   ": acl.users: a rule with users needs an htpasswd file ([auth] htpasswd)";
    return {};
}

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> keys;
    for (const auto& spec : key_table())
        keys.push_back(spec.key);
    return keys;
}

} // namespace ferry::config
