// The admin listener's standard routes (app/admin.h): what each path answers.
#include "app/admin.h"
#include "app/status_page.h"
#include "web/assets.h"

#include <charconv>

namespace ferry::app {

namespace asio = boost::asio;

namespace {

constexpr std::string_view json_type = "application/json";

admin_answer page(std::string body, std::string_view type, std::string_view cache) {
    admin_answer a;
    a.reply = {200, std::move(body), true};
    a.reply.content_type = type;
    a.reply.extra_fields = "Cache-Control: " + std::string(cache) + "\r\n";
    return a;
}

admin_answer not_found() {
    admin_answer a;
    a.reply = {404, "ferry: not found\n", true};
    return a;
}

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t n = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size())
        return std::nullopt;
    return n;
}

// A page from web/ with its marker filled.
admin_answer filled(std::string_view asset, std::string_view marker, std::string_view content) {
    const auto* a = web::find_asset(asset);
    if (!a) return not_found();
    return page(fill_marker(a->body, marker, content), a->content_type, "no-store");
}

asio::awaitable<admin_answer> status_page(const admin_request& r) {
    co_return filled("status.html", "<!-- ferry:tables -->", r.source.status_tables_html());
}

asio::awaitable<admin_answer> flow_page(const admin_request& r) {
    auto& ring = r.source.flow();
    co_return filled("flow.html", "<!-- ferry:flow -->",
                     flow_blocks_html(ring.since(0, ring.capacity())));
}

asio::awaitable<admin_answer> asset(const admin_request& r) {
    const auto* a = web::find_asset(r.path.substr(std::string_view("/assets/").size()));
    if (!a) co_return not_found();
    // Built into the binary: the same until ferry is upgraded.
    co_return page(std::string(a->body), a->content_type, "max-age=3600");
}

asio::awaitable<admin_answer> api_status(const admin_request& r) {
    co_return page(r.source.status_json(true, std::nullopt), json_type, "no-store");
}

asio::awaitable<admin_answer> api_flow(const admin_request& r) {
    std::uint64_t after = 0;
    if (auto v = query_value(r.query, "after")) {
        auto n = number(*v);
        if (!n) {
            admin_answer bad;
            bad.reply = {400, "ferry: after= expects a sequence number\n", true};
            co_return bad;
        }
        after = *n;
    }
    auto& ring = r.source.flow();
    if (after > ring.last()) after = 0; // from before a restart: start over
    const auto entries = ring.since(after, ring.capacity());
    std::string body = "{\"next\":" + std::to_string(entries.empty() ? after : entries.back().seq) +
                       ",\"exchanges\":[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i) body += ',';
        observe::append_flow_entry_json(entries[i], body);
    }
    body += "]}";
    co_return page(std::move(body), json_type, "no-store");
}

asio::awaitable<admin_answer> ticks(const admin_request&) {
    admin_answer a;
    a.reply = {200, "", true};
    a.opens = admin_answer::stream::ticks;
    co_return a;
}

// The entries after Last-Event-ID (a reconnecting EventSource) or ?after=N; else only new ones.
asio::awaitable<admin_answer> flow_events(const admin_request& r) {
    admin_answer a;
    a.reply = {200, "", true};
    a.opens = admin_answer::stream::flow;
    auto last = http::find_field(r.head, "last-event-id");
    if (last.empty())
        if (auto v = query_value(r.query, "after")) last = *v;
    if (!last.empty()) a.flow_after = number(last);
    co_return a;
}

asio::awaitable<admin_answer> metrics(const admin_request& r) {
    co_return page(r.source.metrics_page(), "text/plain; version=0.0.4; charset=utf-8", "no-store");
}

// 200 while serving; 503 from the moment a drain begins (SIGTERM), for the rest of it: a
// balancer's health check takes the instance out while its exchanges in flight finish.
asio::awaitable<admin_answer> healthz(const admin_request& r) {
    auto a = page("ok\n", "text/plain; charset=utf-8", "no-store");
    if (r.source.draining()) {
        a.reply.status = 503;
        a.reply.body = "draining\n";
    }
    co_return a;
}

} // namespace

void add_standard_routes(admin_routes& routes) {
    routes.add("/", status_page);
    routes.add("/flow", flow_page);
    routes.add("/assets/", asset);
    routes.add("/api/status", api_status);
    routes.add("/api/flow", api_flow);
    routes.add("/api/events", ticks);
    routes.add("/api/flow/events", flow_events);
    routes.add("/metrics", metrics);
    routes.add("/healthz", healthz);
}

} // namespace ferry::app
