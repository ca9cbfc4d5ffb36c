// Who may read the admin listener (--admin-auth): the decision on one request, pure. /healthz
// is always open (a load balancer's or a supervisor's probe carries no credentials and says
// only "ok").
#pragma once

#include "http/head.h"
#include "http/local_reply.h"

#include <string>
#include <string_view>

namespace ferry::app {

struct admin_gate {
    enum class kind {
        pass,        // no credentials needed, or the token matched
        refuse,      // answer `refusal` (401)
        check_basic, // Basic credentials to verify against the htpasswd users: `credentials`
    } what = kind::pass;
    http::local_reply refusal;
    std::string_view credentials; // the Authorization value (points into the request)
};

// `mode`: "none", "token" or "basic"; `token`: the expected bearer token (token mode). In
// token mode the token is also accepted as the password of Basic credentials (any user name),
// so that a browser, which cannot send a bearer token, can open the pages.
admin_gate gate_admin(std::string_view mode, std::string_view token, std::string_view path,
                      const http::request_head& request);

// The 401 for `mode`: WWW-Authenticate (Bearer and Basic for a token, Basic for basic) and a
// one-line body.
http::local_reply admin_unauthorized(std::string_view mode, std::string_view why);

// The token in a token file's text: its first line, without a trailing CR and surrounding
// blanks; "" when there is none.
std::string token_from_file_text(std::string_view text);

} // namespace ferry::app
