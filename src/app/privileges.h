// Dropping root after binding (--user): ferry can listen on port 80 or 3128 as root and
// then serve as an unprivileged user.
#pragma once

#include <string>

namespace ferry::app {

// Switches the process (before any worker thread starts) to `user`'s uid, gid and
// supplementary groups. Returns an empty string, or why it could not.
std::string drop_privileges(const std::string& user);

} // namespace ferry::app
