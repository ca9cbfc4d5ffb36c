#include "app/admin_explain.h"

#include "app/explain_run.h"
#include "config/values.h"

#include <fmt/format.h>

namespace ferry::app {

namespace asio = boost::asio;

namespace {

http::local_reply text_reply(int status, std::string body) {
    http::local_reply r{status, std::move(body), true};
    r.extra_fields = "Cache-Control: no-store\r\n";
    return r;
}

} // namespace

std::string parse_explain_query(std::string_view query, explain_args& out) {
    bool have_url = false;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const auto name = pair.substr(0, eq);
        std::string value;
        if (!config::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), value))
            return fmt::format("bad percent-encoding in {}", name);
        if (name == "url") {
            out.target = std::move(value);
            have_url = true;
        } else if (name == "client") {
            out.client = std::move(value);
        } else if (name == "user") {
            out.user = std::move(value);
        } else if (name == "method") {
            out.method = std::move(value);
        } else {
            return fmt::format("unknown parameter {} (url, client, user, method)", name);
        }
    }
    if (!have_url) return "/explain?url=URL[&client=IP&user=NAME&method=M] needs a url";
    return {};
}

explain_pages::explain_pages(asio::io_context& io, const config::settings& start,
                             explain_sources sources)
    : sources_(std::move(sources)), resolver_(io, start) {}

void explain_pages::add_routes(admin_routes& routes) {
    routes.add("/explain", [this](const admin_request& r) -> asio::awaitable<admin_answer> {
        admin_answer answer;
        answer.reply = co_await explain(r.query);
        co_return answer;
    });
    for (const char* path : {"/proxy.pac", "/wpad.dat"})
        routes.add(path, [this](const admin_request& r) -> asio::awaitable<admin_answer> {
            admin_answer answer;
            answer.reply = pac(r.head);
            co_return answer;
        });
}

asio::awaitable<http::local_reply> explain_pages::explain(std::string_view query) {
    explain_args args;
    if (auto problem = parse_explain_query(query, args); !problem.empty())
        co_return text_reply(400, "ferry: explain: " + problem + "\n");
    // The running configuration, kept for the whole answer (a reload may replace it meanwhile).
    const auto settings = sources_.settings();
    const auto users = sources_.users();
    std::vector<asio::ip::tcp::endpoint> self;
    for (const auto& l : sources_.listeners())
        self.push_back(l.endpoint);
    explain_env env{*settings, sources_.fallback(), users.get(), self};
    if (sources_.admin) env.admin = sources_.admin();
    auto out = co_await app::explain(env, resolver_, args);
    auto reply = text_reply(out.exit_code == 2 ? 400 : 200, std::move(out.text));
    if (out.exit_code != 2)
        reply.extra_fields +=
            fmt::format("Ferry-Verdict: {}\r\n", out.exit_code == 0 ? "allowed" : "refused");
    co_return reply;
}

http::local_reply explain_pages::pac(const http::request_head& r) const {
    const auto settings = sources_.settings();
    const auto proxies = pac_proxies(*settings, sources_.listeners(), http::find_field(r, "host"));
    if (proxies.empty())
        return text_reply(503, "ferry: no address to name in the PAC file: the proxy listens on "
                               "a wildcard address and the request had no usable Host; set "
                               "--pac-proxy\n");
    http::local_reply reply{200, pac_file(*settings, proxies), true};
    reply.content_type = "application/x-ns-proxy-autoconfig";
    // It follows the configuration, which a reload may change.
    reply.extra_fields = "Cache-Control: no-cache\r\n";
    return reply;
}

} // namespace ferry::app
