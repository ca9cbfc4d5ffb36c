// The documents say what the options registry (config/options.h) says. The man page
// (packaging/ferry.1), docs/configuration.md and README.md are written by hand, for their
// prose; these tests hold them to the registry, option by option:
//   - the man page has an OPTIONS entry per option whose tag is the flag and value syntax as
//     `--help` writes them, with "(default: X)" as --help shows X; an entry per key under
//     CONFIGURATION FILE with the TOML type of the option's kind; an entry per [[acl]] key; one
//     per access-log format; and its SIGHUP "Restart only" list is the restart-only options;
//   - docs/configuration.md has a row per key whose type says what the check accepts (the
//     integer range, seconds > 0 or ≥ 0), whose default is the default as TOML writes it and
//     whose option is the flag; its "Restart only" list is the restart-only options;
//   - README.md's option table has a row per option with the same flag and value syntax and
//     default;
// and none of them documents an option, key or format the program does not have.
#include "config/config_file.h"
#include "config/options.h"
#include "observe/access_log_format.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace ferry::config {
namespace {

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(FERRY_SOURCE_DIR) + "/" + relative);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// ---- the man page, as text ----

// The arguments of a macro line: words, or "quoted strings".
std::vector<std::string> macro_arguments(std::string_view rest) {
    std::vector<std::string> args;
    std::size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && rest[i] == ' ')
            ++i;
        if (i >= rest.size()) break;
        std::string arg;
        if (rest[i] == '"') {
            for (++i; i < rest.size() && rest[i] != '"'; ++i)
                arg += rest[i];
            ++i;
        } else {
            for (; i < rest.size() && rest[i] != ' '; ++i)
                arg += rest[i];
        }
        args.push_back(arg);
    }
    return args;
}

// A roff text or font-macro line as it reads: fonts dropped, escapes resolved.
std::string deroff(const std::string& line) {
    std::string text = line;
    static const std::regex font_macro(R"(^\.(B|I|BI|BR|IB|IR|RB|RI)(?: (.*))?$)");
    std::smatch m;
    if (std::regex_match(line, m, font_macro)) {
        const auto args = macro_arguments(m.str(2));
        const bool alternating = m.str(1).size() == 2;
        text.clear();
        for (std::size_t i = 0; i < args.size(); ++i)
            text += (i > 0 && !alternating ? " " : "") + args[i];
    } else if (!line.empty() && line[0] == '.') {
        return {};
    }
    static const std::regex font(R"(\\f[BIRP])");
    text = std::regex_replace(text, font, "");
    text = replace_all(text, "\\-", "-");
    text = replace_all(text, "\\&", "");
    text = replace_all(text, "\\%", "");
    text = replace_all(text, "\\e", "\\");
    return text;
}

// One `.TP` entry: its tag line and its paragraph, as text, with where it is.
struct man_entry {
    std::string section, subsection, tag, text;
};

std::vector<man_entry> man_entries(const std::string& page) {
    std::vector<man_entry> entries;
    std::string section, subsection;
    bool in_entry = false, want_tag = false;
    for (const auto& line : lines_of(page)) {
        const bool heading = line.starts_with(".SH ") || line.starts_with(".SS ");
        if (heading) {
            auto name = line.substr(4);
            if (name.size() >= 2 && name.front() == '"') name = name.substr(1, name.size() - 2);
            (line[2] == 'H' ? section : subsection) = name;
            if (line[2] == 'H') subsection.clear();
        }
        if (heading || line == ".PP" || line == ".RS" || line == ".RE") in_entry = false;
        if (line == ".TP") {
            entries.push_back({section, subsection, "", ""});
            in_entry = want_tag = true;
            continue;
        }
        if (!in_entry || line.starts_with(".\\\"")) continue;
        const auto text = deroff(line);
        if (text.empty()) continue;
        if (want_tag) {
            entries.back().tag = text;
            want_tag = false;
        } else {
            entries.back().text += (entries.back().text.empty() ? "" : " ") + text;
        }
    }
    return entries;
}

// `--help`'s left column for `o`: "-w, --workers N", "--flow", "PORT".
std::string help_tag(const option& o, bool with_short = true) {
    const auto& a = o.about;
    if (a.flag.empty()) return std::string(a.value_name);
    std::string tag = with_short && a.short_flag ? fmt::format("-{}, ", a.short_flag) : "";
    tag += a.flag;
    if (o.takes_value()) tag += fmt::format(" {}", a.value_name);
    return tag;
}

// The default --help shows for `o`, or "" when it shows none.
std::string help_default(const option& o) {
    if (o.about.kind == value_kind::flag) return {};
    return o.show(settings{});
}

// What the file's value is, as the man page's CONFIGURATION FILE entries write it.
std::string man_type(value_kind kind) {
    switch (kind) {
    case value_kind::flag:
    case value_kind::on_off:
        return "true|false";
    case value_kind::text:
        return "string";
    case value_kind::integer:
        return "integer";
    case value_kind::seconds:
        return "seconds";
    case value_kind::port_list:
        return "[integer, ...] | \"any\"";
    case value_kind::list:
        return "[string, ...]";
    }
    return "?";
}

// "auth.realm" → "realm" (in [auth]); "via" → "via".
std::string_view last_part(std::string_view key) {
    return key.substr(key.rfind('.') + 1);
}

std::set<std::string> restart_keys() {
    std::set<std::string> keys;
    for (const auto& o : options())
        if (o.about.reload == reload_class::restart && !o.about.key.empty())
            keys.emplace(o.about.key);
    return keys;
}

// The registry keys named in `text` from "Restart only:" to the end of its sentence.
std::set<std::string> restart_only_list(const std::string& text) {
    std::set<std::string> named;
    const auto start = text.find("Restart only:");
    if (start == std::string::npos) return named;
    auto end = text.find(". ", start);
    if (end == std::string::npos) end = text.size();
    const std::string list = text.substr(start, end - start);
    static const std::regex word(R"([a-z_]+(\.[a-z_]+)?)");
    for (std::sregex_iterator it(list.begin(), list.end(), word), none; it != none; ++it)
        if (find_key(it->str())) named.insert(it->str());
    return named;
}

class ManPage : public ::testing::Test {
protected:
    void SetUp() override {
        page = source_file("packaging/ferry.1");
        ASSERT_FALSE(page.empty()) << "packaging/ferry.1 not found";
        entries = man_entries(page);
    }
    std::vector<const man_entry*> in(std::string_view section, std::string_view subsection) const {
        std::vector<const man_entry*> out;
        for (const auto& e : entries)
            if (e.section == section && e.subsection == subsection) out.push_back(&e);
        return out;
    }
    std::string page;
    std::vector<man_entry> entries;
};

TEST_F(ManPage, EveryOptionHasAnEntryWithHelpsValueSyntaxAndDefault) {
    for (const auto& o : options()) {
        const auto tag = help_tag(o);
        const man_entry* found = nullptr;
        for (const auto& e : entries)
            if (e.section == "OPTIONS" && e.tag == tag) found = &e;
        if (!found) {
            ADD_FAILURE() << "packaging/ferry.1 has no OPTIONS entry tagged \"" << tag
                          << "\" (the flag and value as --help shows them)";
            continue;
        }
        if (const auto value = help_default(o); !value.empty()) {
            EXPECT_NE(found->text.find(fmt::format("(default: {})", value)), std::string::npos)
                << tag << ": the man page does not say \"(default: " << value << ")\":\n"
                << found->text;
        }
    }
}

TEST_F(ManPage, DocumentsNoOptionTheProgramLacks) {
    for (const auto& e : entries) {
        if (e.section != "OPTIONS") continue;
        if (e.tag == "-h, --help" || e.tag == "-V, --version") continue;
        bool known = false;
        for (const auto& o : options())
            known = known || e.tag == help_tag(o);
        EXPECT_TRUE(known) << "packaging/ferry.1 documents \"" << e.tag
                           << "\", which is no option of the registry (or not so written)";
    }
}

TEST_F(ManPage, EveryKeyIsUnderConfigurationFileWithItsType) {
    std::set<std::string> documented;
    for (const auto& o : options()) {
        if (o.about.key.empty()) continue;
        const std::string subsection = o.about.key.starts_with("auth.") ? "[auth] TABLE" : "";
        const auto tag = fmt::format("{} = {}", last_part(o.about.key), man_type(o.about.kind));
        const man_entry* found = nullptr;
        for (const auto* e : in("CONFIGURATION FILE", subsection))
            if (e->tag == tag) found = e;
        if (!found) {
            ADD_FAILURE() << "packaging/ferry.1 has no CONFIGURATION FILE entry \"" << tag << "\""
                          << (subsection.empty() ? "" : " in " + subsection);
            continue;
        }
        const std::string as = o.about.flag.empty() ? "PORT" : std::string(o.about.flag);
        EXPECT_TRUE(found->text.starts_with("As " + as)) << tag << ": " << found->text;
        documented.insert(found->tag);
    }
    for (const auto* section : {"", "[auth] TABLE"})
        for (const auto* e : in("CONFIGURATION FILE", section))
            EXPECT_TRUE(documented.contains(e->tag))
                << "packaging/ferry.1 documents the key \"" << e->tag << "\", which ferry lacks";
}

TEST_F(ManPage, EveryAclKeyAndNoOther) {
    std::set<std::string> keys, documented;
    for (auto k : acl_keys())
        keys.emplace(last_part(k));
    for (const auto* e : in("CONFIGURATION FILE", "[[acl]] TABLES"))
        documented.insert(e->tag.substr(0, e->tag.find(" = ")));
    EXPECT_EQ(documented, keys);
}

TEST_F(ManPage, EveryListenerKeyAndNoOther) {
    std::set<std::string> keys, documented;
    for (auto k : listener_keys())
        keys.emplace(last_part(k));
    for (const auto* e : in("CONFIGURATION FILE", "[[listener]] TABLES"))
        documented.insert(e->tag.substr(0, e->tag.find(" = ")));
    EXPECT_EQ(documented, keys);
}

TEST_F(ManPage, EveryAccessLogFormatAndNoOther) {
    const auto* o = find_flag("--access-log-format");
    ASSERT_NE(o, nullptr);
    std::set<std::string> formats, documented;
    std::istringstream names{std::string(o->about.value_name)};
    for (std::string name; std::getline(names, name, '|');) {
        EXPECT_TRUE(observe::parse_access_log_format(name).has_value()) << name;
        formats.insert(name);
    }
    for (const auto* e : in("LOG FORMATS", ""))
        documented.insert(e->tag);
    EXPECT_EQ(documented, formats);
}

TEST_F(ManPage, TheSighupRestartListIsTheRestartOnlyOptions) {
    const man_entry* hup = nullptr;
    for (const auto* e : in("SIGNALS", ""))
        if (e->tag == "SIGHUP") hup = e;
    ASSERT_NE(hup, nullptr);
    EXPECT_EQ(restart_only_list(hup->text), restart_keys()) << hup->text;
}

TEST_F(ManPage, HasTheSectionsAnOperatorLooksFor) {
    for (const char* section :
         {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION FILE", "ACCESS RULES",
          "LOG FORMATS", "SIGNALS", "FILES", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO"})
        EXPECT_TRUE(std::regex_search(page, std::regex(fmt::format("\n\\.SH \"?{}\"?\n", section))))
            << section;
    EXPECT_NE(page.find("/etc/ferry/ferry.toml"), std::string::npos);
}

// ---- docs/configuration.md ----

// A Markdown table row's cells, `\|` kept inside a cell, spaces trimmed.
std::vector<std::string> cells(const std::string& row) {
    std::vector<std::string> out;
    std::string cell;
    for (std::size_t i = 1; i < row.size(); ++i) {
        if (row[i] == '|' && row[i - 1] != '\\') {
            const auto first = cell.find_first_not_of(' ');
            const auto last = cell.find_last_not_of(' ');
            out.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
            cell.clear();
        } else {
            cell += row[i];
        }
    }
    return out;
}

std::string unquote_markdown(std::string s) {
    s = replace_all(s, "`", "");
    return replace_all(s, "\\|", "|");
}

// The rows of the first table after `heading`, by their first cell.
std::map<std::string, std::vector<std::string>> table_after(const std::string& doc,
                                                            const std::string& heading) {
    std::map<std::string, std::vector<std::string>> rows;
    auto at = doc.find("\n" + heading + "\n");
    if (at == std::string::npos) return rows;
    bool seen = false;
    std::istringstream in(doc.substr(at + heading.size() + 2));
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("#")) break;
        if (!line.starts_with("|")) {
            if (seen) break;
            continue;
        }
        seen = true;
        auto c = cells(line);
        if (c.empty() || c[0].starts_with("---") || !c[0].starts_with("`")) continue;
        rows[c[0]] = c;
    }
    return rows;
}

// The key's cell in docs/configuration.md: "`via`", "`[auth]` `realm`".
std::string key_cell(std::string_view key) {
    if (key.starts_with("auth.")) return fmt::format("`[auth]` `{}`", last_part(key));
    return fmt::format("`{}`", key);
}

// A default as the file writes it: `"-"`, `true`, `[443]`, `["127.0.0.1:9001"]`.
std::string toml_default(const option& o) {
    const auto shown = o.show(settings{});
    switch (o.about.kind) {
    case value_kind::flag:
    case value_kind::on_off:
        return shown == "on" ? "true" : "false";
    case value_kind::integer:
    case value_kind::seconds:
        return shown;
    case value_kind::text:
        return fmt::format("\"{}\"", shown);
    case value_kind::port_list:
        return shown == "any" ? "\"any\"" : "[" + replace_all(shown, ",", ", ") + "]";
    case value_kind::list:
        return fmt::format("[\"{}\"]", shown);
    }
    return "?";
}

// What the option's check accepts, as the Type column says it.
std::string expected_type(const option& o) {
    settings s;
    switch (o.about.kind) {
    case value_kind::flag:
    case value_kind::on_off:
        return "boolean";
    case value_kind::text:
        return "string";
    case value_kind::integer: {
        // The check's range, from its message: "expected an integer from 1 to 256",
        // "expected a port 0-65535".
        const auto said = o.apply(s, "x");
        std::smatch m;
        if (!std::regex_search(said, m, std::regex(R"((\d+)(?: to |-)(\d+))"))) return said;
        return fmt::format("integer {}-{}", m.str(1), m.str(2));
    }
    case value_kind::seconds:
        return o.apply(s, "0").empty() ? "seconds ≥ 0" : "seconds > 0";
    case value_kind::port_list:
        return "array of integers 1-65535, or \"any\"";
    case value_kind::list:
        return "array of strings";
    }
    return "?";
}

TEST(ConfigurationMd, EveryKeyHasARowWithItsTypeDefaultAndOption) {
    const auto doc = source_file("docs/configuration.md");
    ASSERT_FALSE(doc.empty());
    const auto rows = table_after(doc, "## Keys");
    ASSERT_FALSE(rows.empty()) << "no table under ## Keys";
    std::set<std::string> documented{"`[[acl]]`"};
    for (const auto& o : options()) {
        if (o.about.key.empty()) continue;
        const auto key = key_cell(o.about.key);
        documented.insert(key);
        const auto row = rows.find(key);
        if (row == rows.end() || row->second.size() < 5) {
            ADD_FAILURE() << "docs/configuration.md has no row for " << key
                          << " (Key | Type | Default | Option | Meaning)";
            continue;
        }
        const auto& c = row->second; // Key | Type | Default | Option | Meaning
        EXPECT_TRUE(unquote_markdown(c[1]).starts_with(expected_type(o)))
            << key << ": the type says \"" << c[1] << "\"; the check accepts " << expected_type(o);
        if (!o.show(settings{}).empty()) {
            EXPECT_TRUE(c[2].starts_with("`" + toml_default(o) + "`"))
                << key << ": the default says " << c[2] << "; it is " << toml_default(o);
        }
        const auto flag = o.about.flag.empty() ? std::string("positional `PORT`")
                                               : fmt::format("`{}`", o.about.flag);
        EXPECT_EQ(c[3], flag) << key;
    }
    for (const auto& [key, row] : rows)
        EXPECT_TRUE(documented.contains(key))
            << "docs/configuration.md documents " << key << ", which ferry lacks";
}

TEST(ConfigurationMd, TheAclTableHasEveryAclKeyAndNoOther) {
    const auto rows =
        table_after(source_file("docs/configuration.md"), "## `[[acl]]`: access control");
    std::set<std::string> keys, documented;
    for (auto k : acl_keys())
        keys.insert(fmt::format("`{}`", last_part(k)));
    for (const auto& [key, row] : rows)
        documented.insert(key);
    EXPECT_EQ(documented, keys);
}

TEST(ConfigurationMd, TheListenerTableHasEveryListenerKeyAndNoOther) {
    const auto rows = table_after(source_file("docs/configuration.md"),
                                  "## `[[listener]]`: listeners and the PROXY protocol");
    std::set<std::string> keys, documented;
    for (auto k : listener_keys())
        keys.insert(fmt::format("`{}`", last_part(k)));
    for (const auto& [key, row] : rows)
        documented.insert(key);
    EXPECT_EQ(documented, keys);
}

TEST(ConfigurationMd, TheRestartListIsTheRestartOnlyOptions) {
    const auto doc = replace_all(source_file("docs/configuration.md"), "\n", " ");
    EXPECT_EQ(restart_only_list(replace_all(doc, "`", "")), restart_keys());
}

// ---- README.md ----

TEST(Readme, TheOptionTableHasEveryOptionWithHelpsValueSyntaxAndDefault) {
    const auto readme = source_file("README.md");
    ASSERT_FALSE(readme.empty());
    const auto rows = table_after(readme, "## Running");
    ASSERT_FALSE(rows.empty()) << "no option table under ## Running";
    std::map<std::string, const std::vector<std::string>*> by_tag;
    for (const auto& [first, row] : rows)
        by_tag[unquote_markdown(first)] = &row;
    std::set<std::string> documented;
    for (const auto& o : options()) {
        auto it = by_tag.find(help_tag(o));
        if (it == by_tag.end()) it = by_tag.find(help_tag(o, false));
        if (it == by_tag.end()) {
            ADD_FAILURE() << "README.md's option table has no row `" << help_tag(o) << "`";
            continue;
        }
        documented.insert(it->first);
        const auto shown = o.show(settings{});
        if (!shown.empty()) {
            EXPECT_TRUE(unquote_markdown((*it->second)[1]).starts_with(shown))
                << help_tag(o) << ": README says the default is " << (*it->second)[1] << "; it is "
                << shown;
        }
    }
    for (const auto& [tag, row] : by_tag)
        EXPECT_TRUE(documented.contains(tag))
            << "README.md documents " << tag << ", which is no option (or not so written)";
}

// Browser users learn that WebSocket and HTTPS on other ports need connect_ports, and what
// the default is.
TEST(Readme, TellsBrowserUsersAboutConnectPorts) {
    const auto readme = replace_all(source_file("README.md"), "\n", " ");
    const auto* o = find_key("connect_ports");
    ASSERT_NE(o, nullptr);
    EXPECT_NE(readme.find(fmt::format("port {} only by default", o->show(settings{}))),
              std::string::npos);
    EXPECT_NE(readme.find("ws://"), std::string::npos);
    EXPECT_NE(readme.find("--connect-ports 443,80"), std::string::npos);
    EXPECT_NE(readme.find("connect_ports = [443, 80"), std::string::npos);
}

} // namespace
} // namespace ferry::config
