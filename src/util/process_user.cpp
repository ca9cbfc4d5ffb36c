#include "util/process_user.h"

#include <cerrno>
#include <cstring>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace ferry::util {

std::string effective_user_name() {
    const uid_t uid = ::geteuid();
    std::vector<char> buffer(16 * 1024);
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
        return found->pw_name;
    return "uid " + std::to_string(uid);
}

std::string access_error(int error) {
    if (error == EACCES || error == EPERM)
        return "permission denied for user " + effective_user_name();
    return std::strerror(error);
}

} // namespace ferry::util
