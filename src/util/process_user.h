// The name of the user this process runs as, for messages about files it cannot use:
// "ferry: /etc/ferry/htpasswd: permission denied for user nobody".
#pragma once

#include <string>

namespace ferry::util {

// The effective user's name, or "uid N" when it has none.
std::string effective_user_name();

// strerror(error), except that a refused access names the user:
// "permission denied for user nobody" for EACCES and EPERM.
std::string access_error(int error);

} // namespace ferry::util
