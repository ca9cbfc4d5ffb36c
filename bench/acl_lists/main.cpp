// Large [[acl]] lists (issue 18): how long 1,000,000 domains and 100,000 CIDRs take to load,
// what one match costs (hits and misses, names and addresses), how much memory the sets
// hold, and that matching allocates nothing. The lists are generated (fixed seed) into a
// temporary directory and loaded through config::load_config_file, the path ferry takes at
// start and on SIGHUP.
#include "config/config_file.h"
#include "policy/acl.h"
#include "util/cidr_set.h"
#include "util/domain_set.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

// Every allocation of the process is counted: matching must make none.
std::atomic<std::size_t> allocations{0};

} // namespace

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using namespace ferry;
using clock_type = std::chrono::steady_clock;

struct rng { // splitmix64: fast, and the same lists every run
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return next() % n; }
};

std::string label(rng& r, std::size_t shortest, std::size_t longest) {
    static constexpr char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    const std::size_t n = shortest + r.below(longest - shortest + 1);
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += chars[r.below(i == 0 ? 26 : 36)];
    return out;
}

// A name as block lists hold them: one or two labels over one of 20,000 registered domains.
std::string name(rng& r, const std::vector<std::string>& bases) {
    // Appended piece by piece: GCC 12 reports a false -Wrestrict for operator+ at -O3.
    std::string out = label(r, 3, 12);
    if (r.below(3) == 0) {
        out += '-';
        out += label(r, 2, 8);
    }
    if (r.below(2) == 0) {
        out += '.';
        out += label(r, 2, 10);
    }
    out += '.';
    out += bases[r.below(bases.size())];
    return out;
}

std::vector<std::string> registered_domains(rng& r) {
    static constexpr const char* tlds[] = {"com", "net", "org", "io", "co.uk", "de", "ru", "info"};
    std::vector<std::string> out;
    for (int i = 0; i < 20'000; ++i) {
        auto domain = label(r, 4, 14);
        domain += '.';
        domain += tlds[r.below(std::size(tlds))];
        out.push_back(std::move(domain));
    }
    return out;
}

std::string v4_text(std::uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

struct lists {
    std::vector<std::string> exact, domains, misses, address_hits, address_misses;
    std::size_t bytes = 0;
};

// Writes names.txt and cidrs.txt; keeps samples to query with.
lists generate(const std::string& dir, std::size_t names, std::size_t cidrs) {
    rng r{18};
    const auto bases = registered_domains(r);
    lists out;
    std::string text = "# generated: hosts and .domains\n";
    for (std::size_t i = 0; i < names; ++i) {
        auto n = name(r, bases);
        const bool domain = i % 5 == 0; // a fifth are ".domain" entries
        if (domain) text += '.';
        text += n;
        text += '\n';
        auto& samples = domain ? out.domains : out.exact;
        if (samples.size() < 200'000) samples.push_back(std::move(n));
    }
    std::ofstream(dir + "/names.txt") << text;
    out.bytes += text.size();
    rng miss{1818};
    const auto other_bases = registered_domains(miss);
    for (int i = 0; i < 200'000; ++i)
        out.misses.push_back(name(miss, other_bases));

    text = "# generated: networks\n";
    for (std::size_t i = 0; i < cidrs; ++i) {
        if (i % 10 == 9) { // a tenth IPv6
            text += fmt::format("2001:db8:{:x}:{:x}::/64\n", r.below(65536), r.below(65536));
            continue;
        }
        // IPv4 /24 .. /32 in 11.0.0.0/8 .. 100.0.0.0/8; queries outside use 101/8 and up.
        const std::uint32_t base = std::uint32_t(11 + r.below(90)) << 24 | (r.next() & 0xffffff);
        const unsigned prefix = 24 + unsigned(r.below(9));
        text += fmt::format("{}/{}\n", v4_text(base), prefix);
        if (out.address_hits.size() < 200'000) out.address_hits.push_back(v4_text(base));
    }
    for (int i = 0; i < 200'000; ++i)
        out.address_misses.push_back(
            v4_text(std::uint32_t(101 + r.below(100)) << 24 | (r.next() & 0xffffff)));
    std::ofstream(dir + "/cidrs.txt") << text;
    out.bytes += text.size();
    return out;
}

double rss_mb() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kb = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::atol(line + 6);
    std::fclose(f);
    return kb / 1024.0;
}

double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// This thread's CPU time: on a machine shared with other work, wall time also counts the
// waits for a core.
double cpu_seconds() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct cost {
    double wall_ns = 1e30, cpu_ns = 1e30;
};

// Best of five passes over the queries: ns per call of `match`; `hits` counts the matches.
template <class Match>
cost ns_per(const std::vector<std::string>& queries, Match match, std::size_t& hits) {
    cost best;
    for (int pass = 0; pass < 5; ++pass) {
        hits = 0;
        const auto t = clock_type::now();
        const double c = cpu_seconds();
        for (const auto& q : queries)
            hits += match(q) ? 1 : 0;
        const double n = double(queries.size());
        best.wall_ns = std::min(best.wall_ns, seconds_since(t) * 1e9 / n);
        best.cpu_ns = std::min(best.cpu_ns, (cpu_seconds() - c) * 1e9 / n);
    }
    return best;
}

struct options {
    std::size_t names = 1'000'000, cidrs = 100'000;
    std::string dir;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--names")
            o.names = std::strtoul(argv[i + 1], nullptr, 10);
        else if (flag == "--cidrs")
            o.cidrs = std::strtoul(argv[i + 1], nullptr, 10);
        else if (flag == "--dir")
            o.dir = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: %s [--names N] [--cidrs N] [--dir DIR]\n", argv[0]);
            std::exit(2);
        }
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    auto o = parse(argc, argv);
    bool own_dir = false;
    if (o.dir.empty()) {
        std::string pattern =
            std::filesystem::temp_directory_path().string() + "/ferry-lists-XXXXXX";
        if (!::mkdtemp(pattern.data())) return 1;
        o.dir = pattern;
        own_dir = true;
    }
    const auto samples = generate(o.dir, o.names, o.cidrs);
    const auto config = o.dir + "/ferry.toml";
    std::ofstream(config) << "[[acl]]\naction = \"deny\"\nname = \"blocklist\"\n"
                             "dest_file = [\"names.txt\", \"cidrs.txt\"]\n"
                             "[[acl]]\naction = \"allow\"\n";

    std::vector<double> loads, load_cpu;
    const double rss_before = rss_mb();
    auto t = clock_type::now();
    double c = cpu_seconds();
    auto loaded = config::load_config_file(config);
    loads.push_back(seconds_since(t));
    load_cpu.push_back(cpu_seconds() - c);
    if (!loaded.parsed) {
        std::fprintf(stderr, "acl_lists: %s\n", loaded.error.c_str());
        return 1;
    }
    const double rss_after = rss_mb();
    for (int i = 0; i < 2; ++i) {
        t = clock_type::now();
        c = cpu_seconds();
        auto again = config::load_config_file(config);
        loads.push_back(seconds_since(t));
        load_cpu.push_back(cpu_seconds() - c);
    }
    const auto& rules = loaded.parsed->acl;
    const auto& list = rules.at(0).dest_files;

    std::vector<std::string> subdomains;
    for (const auto& d : samples.domains)
        subdomains.push_back(fmt::format("www.{}", d));
    std::size_t hits = 0;
    fmt::print("acl_lists: {} names ({} .domains) and {} networks ({} intervals after merging), "
               "{:.1f} MB of files\n",
               list.names->size(), o.names / 5, o.cidrs, list.networks->intervals(),
               samples.bytes / 1e6);
    std::sort(loads.begin(), loads.end());
    std::sort(load_cpu.begin(), load_cpu.end());
    fmt::print("load (read, parse, build; config::load_config_file): {:.3f} s wall median of 3 "
               "({:.3f}-{:.3f}), {:.3f} s CPU\n",
               loads[1], loads[0], loads[2], load_cpu[1]);
    fmt::print("memory: the sets hold {:.1f} MB (names {:.1f}, networks {:.1f}); RSS grew by "
               "{:.1f} MB on the first load\n",
               (list.names->memory_bytes() + list.networks->memory_bytes()) / 1e6,
               list.names->memory_bytes() / 1e6, list.networks->memory_bytes() / 1e6,
               rss_after - rss_before);

    const auto& names = *list.names;
    const auto& networks = *list.networks;
    auto row = [&](const char* what, const std::vector<std::string>& queries, auto match) {
        const auto before = allocations.load();
        const auto ns = ns_per(queries, match, hits);
        fmt::print("  {:<34} {:6.1f} ns wall {:6.1f} ns CPU  ({} of {} matched, {} allocations)\n",
                   what, ns.wall_ns, ns.cpu_ns, hits, queries.size(), allocations.load() - before);
    };
    fmt::print("match, per lookup (best of 5 passes over 200,000 queries in random order):\n");
    row("name, listed host", samples.exact,
        [&](const std::string& q) { return names.contains(q); });
    row("name, subdomain of a listed domain", subdomains,
        [&](const std::string& q) { return names.contains(q); });
    row("name, not listed", samples.misses,
        [&](const std::string& q) { return names.contains(q); });
    row("IPv4 literal, listed", samples.address_hits,
        [&](const std::string& q) { return networks.contains_literal(q); });
    row("IPv4 literal, not listed", samples.address_misses,
        [&](const std::string& q) { return networks.contains_literal(q); });

    // The whole rule, as a request is judged (policy::judge_rule: client, then destination).
    policy::acl_request request;
    request.client = boost::asio::ip::make_address("192.0.2.1");
    request.port = 443;
    request.method = "CONNECT";
    auto judged = [&](const std::string& q) {
        request.host = q;
        return policy::judge_rule(rules[0], request) == policy::rule_outcome::matched;
    };
    fmt::print("the deny rule judging a request (policy::judge_rule):\n");
    row("listed host", samples.exact, judged);
    row("subdomain of a listed domain", subdomains, judged);
    row("not listed", samples.misses, judged);
    row("IPv4 literal, listed", samples.address_hits, judged);
    row("IPv4 literal, not listed", samples.address_misses, judged);

    if (own_dir) std::filesystem::remove_all(o.dir);
    return 0;
}
