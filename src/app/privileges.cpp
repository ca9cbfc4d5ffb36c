#include "app/privileges.h"

#include "util/process_user.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ferry::app {

namespace {

// One thing the user must be able to do: read a file, or create files in a directory.
struct access_need {
    std::string path;
    int mode;         // for access(2): R_OK, W_OK, or W_OK | X_OK for a directory
    std::string what; // the warning, after "user NAME cannot "
};

// The log file at `path` (a sink writing to a file): its directory, and the file if present.
void add_log_needs(const std::string& path, std::vector<access_need>& needs) {
    if (path.empty() || path == "-" || path == "stderr" || path == "off") return;
    const auto parent = std::filesystem::path(path).parent_path();
    const std::string dir = parent.empty() ? std::string(".") : parent.string();
    // The file itself is not asked for: ferry opened it as root, and after logrotate has
    // moved it away, the file to reopen is a new one (logrotate's `create`, or ferry's own).
    needs.push_back(
        {dir, W_OK | X_OK,
         fmt::format("create files in {}: SIGUSR1 (log rotation) will not reopen {}", dir, path)});
}

void add_read_need(const std::string& path, const char* signal_use,
                   std::vector<access_need>& needs) {
    if (path.empty()) return;
    needs.push_back({path, R_OK, fmt::format("read {}: {} will fail", path, signal_use)});
}

// For each need, whether `user` may do it: a child takes the user's groups, gid and uid and
// asks access(2). Only async-signal-safe calls after fork(): the groups are looked up first.
std::vector<bool> allowed_as(const passwd& user, const std::vector<access_need>& needs) {
    std::vector<bool> allowed(needs.size(), true);
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user.pw_name, user.pw_gid, groups.data(), &count) < 0) {
        groups.resize(std::size_t(count));
        if (::getgrouplist(user.pw_name, user.pw_gid, groups.data(), &count) < 0) return allowed;
    }
    groups.resize(std::size_t(count));
    int channel[2];
    if (::pipe2(channel, O_CLOEXEC) != 0) return allowed;
    const pid_t child = ::fork();
    if (child == 0) {
        ::close(channel[0]);
        if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(user.pw_gid) != 0 ||
            ::setuid(user.pw_uid) != 0)
            ::_exit(1);
        for (const auto& need : needs) {
            const char answer = ::access(need.path.c_str(), need.mode) == 0 ? '1' : '0';
            if (::write(channel[1], &answer, 1) != 1) ::_exit(1);
        }
        ::_exit(0);
    }
    ::close(channel[1]);
    if (child > 0) {
        char answer = 0;
        for (std::size_t i = 0; i < needs.size() && ::read(channel[0], &answer, 1) == 1; ++i)
            allowed[i] = answer == '1';
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
    }
    ::close(channel[0]);
    return allowed;
}

} // namespace

std::string drop_privileges(const std::string& user) {
    std::vector<char> buffer(16 * 1024);
    passwd entry{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr)
        return fmt::format("no such user \"{}\"{}", user,
                           rc != 0 ? fmt::format(" ({})", std::strerror(rc)) : "");
    if (::geteuid() != 0) {
        if (::geteuid() == found->pw_uid) return {}; // already that user
        return fmt::format("switching to user \"{}\" needs root", user);
    }
    // Groups first: once the uid is not root, they can no longer be changed.
    if (::initgroups(found->pw_name, found->pw_gid) != 0)
        return fmt::format("initgroups for \"{}\": {}", user, std::strerror(errno));
    if (::setgid(found->pw_gid) != 0)
        return fmt::format("setgid({}): {}", found->pw_gid, std::strerror(errno));
    if (::setuid(found->pw_uid) != 0)
        return fmt::format("setuid({}): {}", found->pw_uid, std::strerror(errno));
    // Make sure there is no way back.
    if (found->pw_uid != 0 && ::setuid(0) == 0)
        return "root privileges could be regained after dropping them";
    return {};
}

std::vector<std::string> access_warnings(const config::settings& settings) {
    if (settings.user.empty() || ::geteuid() != 0) return {};
    std::vector<char> buffer(16 * 1024);
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwnam_r(settings.user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr || found->pw_uid == 0)
        return {}; // drop_privileges says what is wrong with the name
    std::vector<access_need> needs;
    add_read_need(settings.config_file, "SIGHUP (reload)", needs);
    add_read_need(settings.auth.htpasswd, "SIGHUP (reload)", needs);
    add_log_needs(settings.access_log, needs);
    if (settings.flow) add_log_needs(settings.flow_log, needs);
    const auto allowed = allowed_as(*found, needs);
    std::vector<std::string> warnings;
    for (std::size_t i = 0; i < needs.size(); ++i)
        if (!allowed[i])
            warnings.push_back(
                fmt::format("ferry: warning: user {} cannot {}", settings.user, needs[i].what));
    return warnings;
}

std::string unreadable_by_us(const std::string& path) {
    if (path.empty()) return {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return {};
    }
    if (errno != EACCES && errno != EPERM) return {};
    return fmt::format("{}: {}", path, util::access_error(errno));
}

} // namespace ferry::app
