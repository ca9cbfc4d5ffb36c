// Dropping root after binding (--user): ferry can listen on port 80 or 3128 as root and
// then serve as an unprivileged user. Once it has, SIGHUP re-reads the configuration and
// the htpasswd file and SIGUSR1 reopens the logs with that user's rights only; what that
// user cannot reach is said at start, while ferry is still root, and again when it fails.
#pragma once

#include "config/settings.h"

#include <string>
#include <vector>

namespace ferry::app {

// Switches the process (before any worker thread starts) to `user`'s uid, gid and
// supplementary groups. Returns an empty string, or why it could not.
std::string drop_privileges(const std::string& user);

// What a reload or a log reopen will need of `user` (settings.user) and it lacks, one
// warning line each: the configuration file and the htpasswd file to read, each log
// file's directory to create files in (logrotate moves the file away) and the file itself
// to append to. Asked of the kernel by a child process switched to that user (access(2),
// with its groups), so ACLs and group membership count. Empty when not root or no user.
std::vector<std::string> access_warnings(const config::settings& settings);

// "PATH: permission denied for user NAME" when this process may not read `path`; empty
// when it may, or when the file fails otherwise (its reader then says why).
std::string unreadable_by_us(const std::string& path);

} // namespace ferry::app
