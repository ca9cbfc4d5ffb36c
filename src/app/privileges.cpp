#include "app/privileges.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace ferry::app {

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

} // namespace ferry::app
