// What the server reads when it starts and on every reload, apart from the configuration:
// the log destinations, the htpasswd users, the parent's TLS context and the admin token.
// Each says what went wrong (printed, or as a value) so that start-up can refuse and a reload
// can keep what runs.
#pragma once

#include "auth/authenticator.h"
#include "config/settings.h"
#include "observe/log_sink.h"
#include "tls/client_context.h"

#include <memory>
#include <string>
#include <vector>

namespace ferry::app {

// Where the flow log goes: "off" when it is not asked for.
std::string flow_destination(const config::settings& s);

// A reload's log destinations: a new one that cannot be opened keeps the old one (and its
// settings in `next`), and says why.
void retarget_logs(observe::log_sink& access_log, observe::log_sink& flow_log,
                   const config::settings& running, config::settings& next);

// The htpasswd file's users and the verification threads; null (the reason printed) when
// the file cannot be used.
std::unique_ptr<auth::service> load_auth(const config::settings& settings);

// The TLS client context for an https:// parent (or to check a parent_ca given anyway):
// true with `out` null when none is needed; false with `problem` naming the file and why.
bool load_parent_tls(const config::settings& s, std::shared_ptr<const tls::client_context>& out,
                     std::string& problem);

// What the access rules' list files hold, one line per rule and key that names files:
// `ferry: access rule 2 ("blocklist"): dest_file: 1,000,000 names, 100,000 networks from 2
// files (46.8 MB)` — said at start and after every reload, so an edited list is seen taken.
std::vector<std::string> list_file_lines(const config::settings& s);

// --admin-token-file: the token (its first line), or "" with `problem` set.
std::string read_admin_token(const config::settings& s, std::string& problem);

} // namespace ferry::app
