#include "support/desync_corpus.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace ferry_test {

namespace {

bool is_hex(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

std::string scalar(const YAML::Node& n) {
    if (!n || n.IsNull()) return {};
    return restore_high_bytes(n.as<std::string>());
}

std::string sanitize(std::string_view s) {
    std::string out;
    bool underscore = false;
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            out.push_back(c);
            underscore = false;
        } else if (!underscore && !out.empty()) {
            out.push_back('_');
            underscore = true;
        }
    }
    while (!out.empty() && out.back() == '_')
        out.pop_back();
    return out;
}

} // namespace

std::string protect_high_byte_escapes(std::string_view yaml) {
    std::string out;
    out.reserve(yaml.size());
    bool in_double = false, in_single = false, in_comment = false;
    for (std::size_t i = 0; i < yaml.size(); ++i) {
        const char c = yaml[i];
        if (c == '\n') {
            in_comment = false;
            in_single = false; // the corpus has no multi-line single-quoted scalars
        }
        if (in_comment) {
            out.push_back(c);
            continue;
        }
        if (in_double) {
            if (c == '\\' && i + 1 < yaml.size()) {
                if (yaml[i + 1] == 'x' && i + 3 < yaml.size() && is_hex(yaml[i + 2]) &&
                    is_hex(yaml[i + 3]) &&
                    std::string("89abcdefABCDEF").find(yaml[i + 2]) != std::string::npos) {
                    out.append("\\uE0").push_back(yaml[i + 2]);
                    out.push_back(yaml[i + 3]);
                    i += 3;
                    continue;
                }
                out.push_back(c);
                out.push_back(yaml[++i]); // any other escape, \\ and \" included
                continue;
            }
            if (c == '"') in_double = false;
            out.push_back(c);
            continue;
        }
        if (in_single) {
            if (c == '\'') in_single = false; // '' (an escaped quote) reopens at once
            out.push_back(c);
            continue;
        }
        if (c == '"')
            in_double = true;
        else if (c == '\'')
            in_single = true;
        else if (c == '#' && (i == 0 || yaml[i - 1] == ' ' || yaml[i - 1] == '\n'))
            in_comment = true;
        out.push_back(c);
    }
    return out;
}

std::string restore_high_bytes(std::string_view text) {
    // U+E0HH in UTF-8: EE 82 xx (HH 80..BF) or EE 83 xx (HH C0..FF), xx = 80 | (HH & 3F).
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
        if (b(i) == 0xEE && i + 2 < text.size() && (b(i + 1) == 0x82 || b(i + 1) == 0x83) &&
            (b(i + 2) & 0xC0) == 0x80) {
            const unsigned hi = b(i + 1) == 0x82 ? 0x80 : 0xC0;
            out.push_back(static_cast<char>(hi | (b(i + 2) & 0x3F)));
            i += 2;
            continue;
        }
        out.push_back(text[i]);
    }
    return out;
}

std::vector<desync_case> load_desync_corpus(const std::string& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());

    std::vector<desync_case> cases;
    std::map<std::string, int> seen;
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path.string());
        std::stringstream text;
        text << in.rdbuf();
        YAML::Node doc = YAML::Load(protect_high_byte_escapes(text.str()));
        if (!doc.IsSequence()) throw std::runtime_error(path.string() + " is not a list");
        for (const auto& node : doc) {
            desync_case c;
            c.file = path.stem().string();
            c.name = scalar(node["name"]);
            c.method = scalar(node["method"]);
            c.uri = scalar(node["uri"]);
            c.version = scalar(node["version"]);
            if (node["headers"] && node["headers"].IsSequence())
                for (const auto& h : node["headers"])
                    c.headers.emplace_back(scalar(h["name"]), scalar(h["value"]));
            c.tier = scalar(node["expected"]["tier"]);
            c.reason = scalar(node["expected"]["reason"]);
            std::string base = sanitize(c.file + "_" + c.name);
            if (const int n = ++seen[base]; n > 1) base += "_" + std::to_string(n);
            c.test_name = base;
            cases.push_back(std::move(c));
        }
    }
    return cases;
}

} // namespace ferry_test
