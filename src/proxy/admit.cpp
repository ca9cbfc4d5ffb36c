// The admit phase: the client's proxy credentials (when --htpasswd is set) and the access
// rules' verdict on what it asks for.
#include "proxy/exchange.h"

#include "http/head_parser.h"
#include "observe/counter.h"

#include <unistd.h>

namespace ferry::proxy {

namespace asio = boost::asio;

namespace {

// One write(2) per line, so that lines from several workers never interleave.
void write_stderr(const std::string& line) {
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        auto n = ::write(STDERR_FILENO, data, left);
        if (n <= 0) return;
        data += n;
        left -= std::size_t(n);
    }
}

} // namespace

bool exchange::wants_credentials_check() const {
    // A connection with a verified certificate has its user already.
    return ctx_.auth().enabled() && !client_.identity &&
           !http::find_field(req_, "proxy-authorization").empty();
}

policy::acl_verdict exchange::access_verdict(const http::target& dest,
                                             const std::string* user) const {
    std::string host(dest.where.host);
    for (auto& c : host)
        c = http::to_lower(c);
    return access_verdict_at(host, dest.where.port, user, nullptr);
}

policy::acl_verdict exchange::access_verdict_at(std::string_view host, std::uint16_t port,
                                                const std::string* user,
                                                const asio::ip::address* address) const {
    policy::acl_request request;
    request.client = client_.address;
    request.host = host;
    request.port = port;
    request.method = req_.method;
    request.user = user;
    request.address = address;
    request.auth_available = ctx_.auth().enabled();
    return policy::evaluate(settings().acl, ctx_.default_policy(), request);
}

void exchange::note_auth_failure(const auth::result& verdict) {
    // Logged once per request, whatever is answered (fail2ban reads these lines); a missing
    // header is a browser's first try, not a failure.
    if (verdict.what == auth::result::outcome::missing || verdict.ok()) return;
    write_stderr(auth::failure_line(verdict, client_.label));
    observe::bump(ctx_.metrics().auth_failures);
}

asio::awaitable<auth::result> exchange::check_credentials() {
    const auto value = http::find_field(req_, "proxy-authorization");
    const int fields = http::count_fields(req_, "proxy-authorization");
    auto verdict = co_await ctx_.auth().check(value, fields);
    if (verdict.ok()) rec_.user = verdict.user;
    co_return verdict;
}

asio::awaitable<next> exchange::refuse_credentials(const auth::result& verdict, bool has_body) {
    using outcome = auth::result::outcome;
    // A missing header is a client's first try, not a failure (browsers ask only after a 407).
    std::string cause = "ferry: proxy authentication required";
    if (verdict.what == outcome::malformed)
        cause = "ferry: " + verdict.problem;
    else if (verdict.what != outcome::missing)
        cause = "ferry: proxy authentication failed";
    rec_.cause = cause;
    // Browsers retry on the same connection: keep it unless an unread body is in the way.
    http::local_reply r{407, cause + "\n", has_body};
    r.extra_fields = ctx_.auth().challenge();
    co_return co_await reply(r);
}

} // namespace ferry::proxy
