#include "config/list_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry::config {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return s;
}

// The line as a message quotes it: bytes that are not printable ASCII as \xNN, and a long
// one cut (a message is one line a person reads).
std::string shown(std::string_view line) {
    constexpr std::size_t longest = 100;
    std::string out;
    for (std::size_t i = 0; i < line.size() && i < longest; ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    if (line.size() > longest) out += "...";
    return out;
}

// The entry a line holds: empty for a blank line or a comment; `error` when it holds more.
struct line_entry {
    std::string_view token;
    const char* error = nullptr;
};

line_entry entry_of(std::string_view line) {
    line = trim_left(line);
    if (line.empty() || line.front() == '#') return {};
    std::size_t end = 0;
    while (end < line.size() && !is_space(line[end]))
        ++end;
    const auto rest = trim_left(line.substr(end));
    if (!rest.empty() && rest.front() != '#') return {{}, "more than one entry on the line"};
    return {line.substr(0, end), nullptr};
}

// A prefix length of at most `most`: one to three digits.
bool read_prefix(std::string_view digits, unsigned most, unsigned& out) {
    if (digits.empty() || digits.size() > 3) return false;
    out = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + unsigned(c - '0');
    }
    return out <= most;
}

const char not_an_address[] = "not an IP or CIDR";

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d): addresses are matched unmapped, so such an
// entry is the IPv4 one (a network as such only with a prefix of 96 or more).
bool unmap(util::ip_bytes& ip) {
    static constexpr unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip.v4 || !std::equal(prefix, prefix + 12, ip.bytes.begin())) return false;
    std::copy(ip.bytes.begin() + 12, ip.bytes.end(), ip.bytes.begin());
    std::fill(ip.bytes.begin() + 4, ip.bytes.end(), 0);
    ip.v4 = true;
    return true;
}

// An IP or CIDR into `networks`: nullptr when added, not_an_address when the token is not
// one (it may be a name), else what is wrong with it.
const char* add_network(std::string_view token, util::cidr_set& networks) {
    const auto slash = token.find('/');
    auto ip = util::parse_ip(token.substr(0, slash));
    if (slash == std::string_view::npos) {
        if (!ip) return not_an_address;
        unmap(*ip);
        networks.insert(*ip, ip->v4 ? 32 : 128);
        return nullptr;
    }
    if (!ip) return not_an_address; // "http://...": not meant as a CIDR either
    unsigned prefix = 0;
    if (!read_prefix(token.substr(slash + 1), ip->v4 ? 32 : 128, prefix))
        return ip->v4 ? "expected a prefix length 0-32 after the \"/\""
                      : "expected a prefix length 0-128 after the \"/\"";
    if (unmap(*ip)) {
        if (prefix < 96) return "an IPv4-mapped network shorter than /96: write the IPv4 form";
        prefix -= 96;
    }
    networks.insert(*ip, prefix);
    return nullptr;
}

// A host or .domain into `names` (lower-cased, one trailing dot dropped): nullptr when
// added, else what is wrong with it.
const char* add_name(std::string_view token, util::domain_set& names) {
    if (token.starts_with("*."))
        return "a wildcard: write \".example.com\" for a domain and its subdomains";
    const bool subdomains = token.front() == '.';
    if (subdomains) token.remove_prefix(1);
    if (token.size() > 1 && token.back() == '.') token.remove_suffix(1);
    if (token.empty()) return "expected a host, .domain, IP or CIDR";
    if (token.back() == '.') return "a name with an empty label";
    if (token.size() > util::domain_set::longest_name) return "a name longer than 253 characters";
    char name[util::domain_set::longest_name];
    for (std::size_t i = 0; i < token.size(); ++i) {
        char c = token[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return "expected a host, .domain, IP or CIDR";
        if (c == '.' && (i == 0 || name[i - 1] == '.')) return "a name with an empty label";
        name[i] = c;
    }
    names.insert({name, token.size()}, subdomains);
    return nullptr;
}

const char* add_entry(std::string_view token, list_kind kind, util::domain_set& names,
                      util::cidr_set& networks) {
    const char* problem = add_network(token, networks);
    if (problem != not_an_address) return problem;
    if (kind == list_kind::clients) return "expected an IP or CIDR";
    return add_name(token, names);
}

// The whole of a regular file, or what went wrong ("No such file or directory").
std::string read_file(const std::string& path, std::string& text) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::strerror(errno);
    struct stat st {};
    std::string problem;
    if (::fstat(fd, &st) != 0)
        problem = std::strerror(errno);
    else if (!S_ISREG(st.st_mode))
        problem = "not a regular file";
    text.clear();
    // One byte more than the file: the read that finds its end needs no larger buffer.
    if (problem.empty()) text.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t have = 0;
    while (problem.empty()) {
        if (have == text.size()) text.resize(have + 65536); // it grew since fstat
        const auto n = ::read(fd, text.data() + have, text.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) problem = std::strerror(errno);
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
    }
    ::close(fd);
    text.resize(have);
    return problem;
}

// Every file of one condition, into new sets.
std::string load(acl_rule::list_files& list, list_kind kind, std::string_view config_file,
                 std::string_view key) {
    auto names = std::make_shared<util::domain_set>();
    auto networks = std::make_shared<util::cidr_set>();
    std::string text;
    for (const auto& f : list.files) {
        if (auto problem = read_file(f.path, text); !problem.empty())
            return fmt::format("{}:{}: {}: {}: {}", config_file, f.line, key, f.path, problem);
        if (kind == list_kind::destinations)
            names->reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1,
                           text.size());
        if (auto problem = parse_list(text, f.path, kind, *names, *networks); !problem.empty())
            return problem;
    }
    networks->seal();
    names->seal();
    if (kind == list_kind::destinations) list.names = std::move(names);
    list.networks = std::move(networks);
    return {};
}

// An earlier rule's condition with the same files, already loaded: shared, not read again.
const acl_rule::list_files* loaded_before(const settings& s, std::size_t rule,
                                          const acl_rule::list_files& list, bool clients) {
    for (std::size_t i = 0; i < rule; ++i) {
        const auto& earlier = clients ? s.acl[i].client_files : s.acl[i].dest_files;
        if (earlier.files.size() == list.files.size() &&
            std::equal(earlier.files.begin(), earlier.files.end(), list.files.begin(),
                       [](const auto& a, const auto& b) { return a.path == b.path; }))
            return &earlier;
    }
    return nullptr;
}

template <class T>
bool same(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
    return a == b || (a && b && *a == *b);
}

} // namespace

bool acl_rule::list_files::operator==(const list_files& other) const {
    return files == other.files && same(names, other.names) && same(networks, other.networks);
}

std::string parse_list(std::string_view text, std::string_view file_name, list_kind kind,
                       util::domain_set& names, util::cidr_set& networks) {
    if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3); // a UTF-8 byte order mark
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto end = text.find('\n');
        auto line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const auto [token, error] = entry_of(line);
        const char* problem = error;
        if (!problem && !token.empty()) problem = add_entry(token, kind, names, networks);
        if (problem)
            return fmt::format("{}:{}: {}: \"{}\"", file_name, number, problem, shown(line));
    }
    return {};
}

std::string load_lists(settings& s, std::string_view config_file) {
    for (std::size_t i = 0; i < s.acl.size(); ++i) {
        for (const bool clients : {true, false}) {
            auto& list = clients ? s.acl[i].client_files : s.acl[i].dest_files;
            if (!list.given()) continue;
            if (const auto* earlier = loaded_before(s, i, list, clients)) {
                list.names = earlier->names;
                list.networks = earlier->networks;
                continue;
            }
            auto problem = load(list, clients ? list_kind::clients : list_kind::destinations,
                                config_file, clients ? "acl.client_file" : "acl.dest_file");
            if (!problem.empty()) return problem;
        }
    }
    return {};
}

} // namespace ferry::config
