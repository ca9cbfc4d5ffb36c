#include "config/config_file.h"

#include "config/field_text.h"
#include "config/list_file.h"
#include "config/options.h"
#include "config/values.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
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

problem as_problem(std::string what) {
    return {std::move(what), nullptr};
}

// An array whose elements each go through `each`; `allow_empty` says whether [] is meaningful.
template <class Each>
problem for_each_element(const toml::node& n, bool allow_empty, std::string_view expected,
                         Each each) {
    const auto* array = n.as_array();
    if (!array) return wrong(fmt::format("expected an array of {}", expected));
    if (array->empty() && !allow_empty)
        return wrong(fmt::format("expected at least one of {}", expected));
    for (const auto& element : *array) {
        problem p = each(element);
        if (!p.ok()) {
            if (!p.at) p.at = &element;
            return p;
        }
    }
    return fine();
}

// An array of strings, each checked by `parse(text) → bool` ([[acl]] conditions).
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

problem read_string(const toml::node& n, std::string& out) {
    if (!n.is_string()) return wrong("expected a string");
    out = n.as_string()->get();
    if (out.empty()) return wrong("expected a non-empty string");
    for (unsigned char c : out)
        if (c < 0x20 || c == 0x7f) return wrong("control characters are not allowed");
    return fine();
}

problem read_port_numbers(const toml::node& n, std::vector<std::uint16_t>& out) {
    out.clear();
    if (!n.is_array()) return wrong("expected a port 1-65535");
    return for_each_element(n, false, "ports", [&](const toml::node& e) {
        if (!e.is_integer() || e.as_integer()->get() < 1 || e.as_integer()->get() > 65535)
            return wrong("expected a port 1-65535");
        out.push_back(static_cast<std::uint16_t>(e.as_integer()->get()));
        return fine();
    });
}

// ---- options: a TOML value becomes the text the command line would give, for the
// option's own apply() (config/options.h), so that both are checked alike ----

std::string integer_text(const toml::node& n) {
    return n.is_integer() ? std::to_string(n.as_integer()->get()) : std::string();
}

std::string number_text(const toml::node& n) {
    if (n.is_integer()) return integer_text(n);
    return fmt::format("{}", n.as_floating_point()->get());
}

// A list's elements, each applied; its messages say what one element should be.
problem apply_list(const option& o, const toml::node& n, settings& s) {
    if (n.is_string()) return as_problem(o.apply(s, n.as_string()->get())); // a list of one
    settings scratch;
    const std::string expected = o.apply(scratch, "").substr(std::string_view("expected ").size());
    // An empty list of listen addresses could only be a mistake.
    return for_each_element(n, o.about.key != "listen", expected, [&](const toml::node& e) {
        return as_problem(o.apply(s, e.is_string() ? std::string_view(e.as_string()->get()) : ""));
    });
}

// connect_ports: "any", or an array of ports (each checked, so a message names its line).
problem apply_port_list(const option& o, const toml::node& n, settings& s) {
    if (n.is_string()) return as_problem(o.apply(s, n.as_string()->get()));
    const auto* array = n.as_array();
    if (!array || array->empty()) return as_problem(o.apply(s, ""));
    std::string all;
    for (const auto& e : *array) {
        if (auto p = o.apply(s, integer_text(e)); !p.empty()) return wrong(p, &e);
        // Appended in two steps: GCC 12 reports a false -Wrestrict for operator+ here at -O3.
        if (!all.empty()) all += ',';
        all += integer_text(e);
    }
    return as_problem(o.apply(s, all));
}

problem apply_option(const option& o, const toml::node& n, settings& s) {
    switch (o.about.kind) {
    case value_kind::flag:
    case value_kind::on_off:
        if (!n.is_boolean()) return wrong("expected true or false");
        return as_problem(o.apply(s, n.as_boolean()->get() ? "on" : "off"));
    case value_kind::text:
        // A text option that takes the words on and off (via) takes true and false too.
        if (n.is_boolean() && o.about.value_name.ends_with("|on|off"))
            return as_problem(o.apply(s, n.as_boolean()->get() ? "on" : "off"));
        if (!n.is_string()) return wrong("expected a string");
        return as_problem(o.apply(s, n.as_string()->get()));
    case value_kind::integer:
        return as_problem(o.apply(s, integer_text(n))); // not an integer: its range is named
    case value_kind::seconds:
        if (!n.is_number()) return wrong("expected a number of seconds");
        return as_problem(o.apply(s, number_text(n)));
    case value_kind::port_list:
        return apply_port_list(o, n, s);
    case value_kind::list:
        return apply_list(o, n, s);
    }
    return wrong("unsupported");
}

std::vector<std::string_view> top_level_keys() {
    std::vector<std::string_view> keys{"acl", "listener"};
    for (const auto& o : options())
        if (!o.about.key.empty()) keys.push_back(o.about.key);
    return keys;
}

bool is_table_prefix(std::string_view name) {
    for (auto key : top_level_keys())
        if (key.size() > name.size() && key.starts_with(name) && key[name.size()] == '.')
            return true;
    return false;
}

// ---- [[acl]] ----

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// dest_file, client_file: a path or an array of them, relative ones to the configuration
// file's directory; the files are read by load_lists() (config/list_file), not here.
problem read_list_files(const toml::node& n, std::string_view config_file,
                        acl_rule::list_files& out) {
    out = {};
    auto one = [&](const toml::node& e) {
        std::string path;
        if (auto p = read_string(e, path); !p.ok()) return wrong("expected a file name");
        if (std::filesystem::path(path).is_relative())
            path = (std::filesystem::path(config_file).parent_path() / path).string();
        out.files.push_back({std::move(path), e.source().begin.line});
        return fine();
    };
    if (n.is_string()) return one(n);
    if (!n.is_array()) return wrong("expected a file name or an array of them");
    return for_each_element(n, false, "file names", [&](const toml::node& e) { return one(e); });
}

problem read_acl_key(std::string_view name, const toml::node& n, acl_rule& rule,
                     std::string_view config_file) {
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
    if (name == "dest_file") return read_list_files(n, config_file, rule.dest_files);
    if (name == "client_file") return read_list_files(n, config_file, rule.client_files);
    if (name == "ports") return read_port_numbers(n, rule.ports);
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
                                // Any text without control characters: a Basic-auth user
                                // has no ':', but a certificate's identity may
                                // (tls_client_identity = "san-uri": spiffe://...).
                                [](std::string_view text, std::string& u) {
                                    u = std::string(text);
                                    for (unsigned char c : u)
                                        if (c < 0x20 || c == 0x7f) return false;
                                    return !u.empty();
                                });
    }
    return wrong("unknown key");
}

// ---- [[listener]] (issue 17) ----

// One listener table as it is read: the keys seen, for the checks that need them all.
struct listener_table {
    listen_address address;
    bool has_address = false;
    bool has_proxy_protocol = false;
    bool has_from = false;
};

problem read_listener_key(std::string_view name, const toml::node& n, listener_table& t) {
    if (name == "address") {
        if (!n.is_string()) return wrong("expected a string");
        const std::string_view text = n.as_string()->get();
        // The table says it with its own keys; two ways at once could disagree.
        if (text.find('?') != std::string_view::npos)
            return wrong("use the proxy_protocol and proxy_protocol_from keys, not \"?\"");
        std::vector<listen_address> one;
        if (auto p = field_text::read_listen(text, one); !p.empty()) return wrong(p);
        const bool on = t.address.proxy_protocol;
        auto from = std::move(t.address.proxy_protocol_from);
        t.address = one.front();
        t.address.proxy_protocol = on;
        t.address.proxy_protocol_from = std::move(from);
        t.has_address = true;
        return fine();
    }
    if (name == "proxy_protocol") {
        if (!n.is_boolean()) return wrong("expected true or false");
        t.address.proxy_protocol = n.as_boolean()->get();
        t.has_proxy_protocol = true;
        return fine();
    }
    if (name == "proxy_protocol_from") {
        t.has_from = true;
        t.address.proxy_protocol_from.clear();
        return for_each_element(n, false, "an IP or CIDR", [&](const toml::node& e) {
            if (!e.is_string()) return wrong("expected an IP or CIDR");
            direct_rule r;
            if (auto why = parse_balancer(e.as_string()->get(), r); !why.empty())
                return wrong(why.starts_with("expected") ? "expected an IP or CIDR" : why);
            t.address.proxy_protocol_from.push_back(std::move(r));
            return fine();
        });
    }
    return wrong("unknown key");
}

// What the keys of a whole table say together: "" or the problem, with the key it is about.
std::pair<std::string_view, std::string> listener_problem(const listener_table& t) {
    if (!t.has_address) return {"listener.address", "missing: every listener needs an address"};
    if (t.address.proxy_protocol && t.address.proxy_protocol_from.empty())
        return {"listener.proxy_protocol_from",
                "missing: a PROXY protocol listener needs the balancers it believes"};
    if (t.has_from && !t.has_proxy_protocol)
        return {"listener.proxy_protocol_from", "set proxy_protocol = true to use it"};
    return {};
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
        result.error = fmt::format("{}:{}: {}{}{}", file, line, key, key.empty() ? "" : ": ", what);
    }
    void fail(const toml::node& n, std::string_view key, const problem& p) {
        fail(line_of(p.at ? *p.at : n), key, p.what);
    }

    // `FILE:LINE: unknown key "acces_log" (did you mean "access_log"?)`
    void unknown(const toml::key& k, const std::string& dotted,
                 const std::vector<std::string_view>& known) {
        std::string what = fmt::format("unknown key \"{}\"", dotted);
        if (auto near = closest(dotted, known); !near.empty())
            what += fmt::format(" (did you mean \"{}\"?)", near);
        fail(k.source().begin.line, {}, what);
    }

    void table(const toml::table& t, const std::string& prefix, settings& s) {
        for (auto&& [k, node] : t) {
            std::string dotted = prefix + std::string(k.str());
            result.given.insert(dotted);
            if (const auto* o = find_key(dotted)) {
                if (auto p = apply_option(*o, node, s); !p.ok()) fail(node, dotted, p);
            } else if (prefix.empty() && dotted == "acl") {
                acl(node, s);
            } else if (prefix.empty() && dotted == "listener") {
                listeners(node, s);
            } else if (is_table_prefix(dotted)) {
                if (const auto* inner = node.as_table())
                    table(*inner, dotted + ".", s);
                else
                    fail(line_of(node), dotted, "expected a table ([" + dotted + "])");
            } else {
                unknown(k, dotted, top_level_keys());
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
                if (auto p = read_acl_key(k.str(), node, rule, file); !p.ok()) {
                    if (p.what == "unknown key")
                        unknown(k, dotted, acl_keys());
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

    // `[[listener]]` tables: each adds a listener, after those of `listen`.
    void listeners(const toml::node& n, settings& s) {
        const auto* tables = n.as_array();
        if (!tables || !tables->is_array_of_tables()) {
            fail(line_of(n), "listener", "expected [[listener]] tables");
            return;
        }
        for (const auto& element : *tables) {
            const auto& t = *element.as_table();
            listener_table read;
            for (auto&& [k, node] : t) {
                std::string dotted = "listener." + std::string(k.str());
                if (auto p = read_listener_key(k.str(), node, read); !p.ok()) {
                    if (p.what == "unknown key")
                        unknown(k, dotted, listener_keys());
                    else
                        fail(node, dotted, p);
                    return;
                }
            }
            if (auto [key, what] = listener_problem(read); !what.empty()) {
                fail(line_of(t), key, what);
                return;
            }
            if (!read.address.proxy_protocol) read.address.proxy_protocol_from.clear();
            s.listen.push_back(std::move(read.address));
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
    finish(s, p.result.given.contains("access_log"));
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
    auto loaded = parse_config(text, path);
    // The [[acl]] rules' list files, read with the file that names them (and so on reload).
    if (loaded.parsed)
        if (auto problem = load_lists(*loaded.parsed, path); !problem.empty()) {
            loaded.parsed.reset();
            loaded.error = std::move(problem);
        }
    return loaded;
}

void apply_command_line(settings& merged, const settings& command_line,
                        const std::function<bool(std::string_view flag)>& given) {
    for (const auto& o : options())
        if (given(o.name())) o.copy(command_line, merged);
}

std::string check_admin(const settings& s) {
    if (s.admin_auth == "basic" && s.auth.htpasswd.empty())
        return "admin_auth basic needs an htpasswd file ([auth] htpasswd, --htpasswd)";
    if (s.admin_auth == "token" && s.admin_token_file.empty())
        return "admin_auth token needs admin_token_file (--admin-token-file)";
    return {};
}

std::string check_merged(const settings& s, std::string_view file_name) {
    if (auto problem = check_admin(s); !problem.empty()) return problem;
    for (const auto& rule : s.acl)
        if (rule.users_given && s.auth.htpasswd.empty() && s.tls.client_ca.empty())
            return std::string(file_name) + ":" + std::to_string(rule.line) +
                   ": acl.users: a rule with users needs an htpasswd file ([auth] htpasswd) or "
                   "client certificates (tls_client_ca)";
    return {};
}

const std::vector<std::string_view>& acl_keys() {
    static const std::vector<std::string_view> keys{
        "acl.action",    "acl.name",  "acl.client",  "acl.client_file", "acl.dest",
        "acl.dest_file", "acl.ports", "acl.methods", "acl.users"};
    return keys;
}

const std::vector<std::string_view>& listener_keys() {
    static const std::vector<std::string_view> keys{"listener.address", "listener.proxy_protocol",
                                                    "listener.proxy_protocol_from"};
    return keys;
}

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> keys;
    for (const auto& o : options())
        if (!o.about.key.empty()) keys.push_back(o.about.key);
    return keys;
}

} // namespace ferry::config
