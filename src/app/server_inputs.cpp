#include "app/server_inputs.h"

#include "app/admin_auth.h"
#include "app/admission.h"
#include "auth/htpasswd.h"
#include "util/cidr_set.h"
#include "util/domain_set.h"
#include "util/process_user.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <iterator>
#include <thread>

namespace ferry::app {

// Where the flow log goes: "off" when it is not asked for.
std::string flow_destination(const config::settings& s) {
    return s.flow ? s.flow_log : "off";
}

// A reload's log destinations: a new one that cannot be opened keeps the old one (and its
// settings in `next`), and says why.
void retarget_logs(observe::log_sink& access_log, observe::log_sink& flow_log,
                   const config::settings& running, config::settings& next) {
    if (!access_log.retarget(next.access_log)) {
        std::fprintf(stderr, "ferry: reload: cannot open access log %s (still writing to %s): %s\n",
                     next.access_log.c_str(), running.access_log.c_str(),
                     util::access_error(errno).c_str());
        next.access_log = running.access_log;
    }
    if (!flow_log.retarget(flow_destination(next))) {
        std::fprintf(stderr, "ferry: reload: cannot open flow log %s (still writing to %s): %s\n",
                     next.flow_log.c_str(), flow_destination(running).c_str(),
                     util::access_error(errno).c_str());
        next.flow = running.flow;
        next.flow_log = running.flow_log;
    }
}

// The htpasswd file's users and the verification threads; null (the reason printed) when
// the file cannot be used.
std::unique_ptr<auth::service> load_auth(const config::settings& settings) {
    auto users = std::make_shared<auth::user_table>();
    if (auto problem = auth::load_htpasswd(settings.auth.htpasswd, *users); !problem.empty()) {
        std::fprintf(stderr, "%s\n", problem.c_str());
        return nullptr;
    }
    if (users->users.empty())
        std::fprintf(stderr, "ferry: %s has no users: every request will be refused\n",
                     settings.auth.htpasswd.c_str());
    // bcrypt is slow by design: verifications get threads of their own, a couple at most,
    // so that a burst of logins cannot take every core from the event loops.
    const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
    return std::make_unique<auth::service>(std::move(users), settings.auth.realm, threads);
}

// The TLS client context for an https:// parent (or to check a parent_ca given anyway):
// true with `out` null when none is needed; false with `problem` naming the file and why.
bool load_parent_tls(const config::settings& s, std::shared_ptr<const tls::client_context>& out,
                     std::string& problem) {
    out = nullptr;
    if (!(s.parent && s.parent->tls) && s.parent_ca.empty()) return true;
    out = tls::client_context::make(s.parent_ca, problem);
    return out != nullptr;
}

// --admin-token-file: the token (its first line), or "" with `problem` set.
std::string read_admin_token(const config::settings& s, std::string& problem) {
    if (s.admin_auth != "token") return {};
    std::ifstream file(s.admin_token_file);
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file.good() && !file.eof()) {
        problem = fmt::format("cannot read the admin token file {}: {}", s.admin_token_file,
                              util::access_error(errno));
        return {};
    }
    auto token = token_from_file_text(text);
    if (token.empty())
        problem = fmt::format("the admin token file {} has no token on its first line",
                              s.admin_token_file);
    return token;
}

namespace {

std::string describe(const config::acl_rule::list_files& lists) {
    const std::size_t names = lists.names ? lists.names->size() : 0;
    const std::size_t networks = lists.networks ? lists.networks->intervals() : 0;
    const std::size_t bytes = (lists.names ? lists.names->memory_bytes() : 0) +
                              (lists.networks ? lists.networks->memory_bytes() : 0);
    return fmt::format("{} names, {} networks from {} file{} ({:.1f} MB)", with_thousands(names),
                       with_thousands(networks), lists.files.size(),
                       lists.files.size() == 1 ? "" : "s", double(bytes) / 1e6);
}

} // namespace

std::vector<std::string> list_file_lines(const config::settings& s) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.acl.size(); ++i) {
        const auto& rule = s.acl[i];
        const auto label = rule.name.empty()
                               ? fmt::format("access rule {}", i + 1)
                               : fmt::format("access rule {} (\"{}\")", i + 1, rule.name);
        if (rule.client_files.given())
            out.push_back(
                fmt::format("ferry: {}: client_file: {}", label, describe(rule.client_files)));
        if (rule.dest_files.given())
            out.push_back(
                fmt::format("ferry: {}: dest_file: {}", label, describe(rule.dest_files)));
    }
    return out;
}

} // namespace ferry::app
