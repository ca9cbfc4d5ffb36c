#include "frontend/http1_answers.h"

#include "http/head_parser.h"
#include "http/rewrite.h"

namespace ferry::frontend {

namespace {

class http1 final : public proxy::client_protocol {
public:
    http::response_plan response_head(const http::request_head& request,
                                      const http::response_head& response,
                                      const http::body_framing& in,
                                      const proxy::answer_context& ctx,
                                      std::string& out) const override {
        const auto plan = http::plan_response(response, in, request.minor == 1,
                                              http1_client_wants_close(request) || ctx.must_close);
        http::response_options options;
        options.framing = plan.framing;
        options.close = plan.close;
        options.keep_alive_10 = plan.keep_alive_10;
        options.pseudonym = ctx.via;
        options.date = ctx.date;
        http::write_forward_response(response, options, out);
        return plan;
    }

    bool interim_head(const http::request_head& request, const http::response_head& response,
                      std::string_view pseudonym, std::string& out) const override {
        // 1xx go on to HTTP/1.1 clients only (RFC 9110 §15.2).
        if (request.minor != 1) return false;
        http::write_interim_response(response, pseudonym, out);
        return true;
    }

    void switch_head(const http::response_head& response, std::string_view pseudonym,
                     std::string& out) const override {
        http::write_switch_response(response, pseudonym, out);
    }

    void tunnel_established(const boost::asio::ip::tcp::endpoint&,
                            std::string& out) const override {
        out.append("HTTP/1.1 200 Connection established\r\n\r\n");
    }

    bool local_reply(const http::request_head& request, const http::local_reply& reply,
                     const proxy::answer_context& ctx, std::string& out) const override {
        http::local_reply r = reply;
        if (!r.close && (http1_client_wants_close(request) || ctx.must_close)) r.close = true;
        if (!r.close && request.minor == 0) r.extra_fields += "Connection: keep-alive\r\n";
        http::write_local_reply(r, ctx.pseudonym, ctx.date, out);
        return r.close;
    }
};

} // namespace

const proxy::client_protocol& http1_answers() {
    static const http1 protocol;
    return protocol;
}

bool http1_client_wants_close(const http::request_head& request) {
    if (http::has_option(request, "connection", "close")) return true;
    if (request.minor == 0)
        return !http::has_option(request, "connection", "keep-alive") &&
               !http::has_option(request, "proxy-connection", "keep-alive");
    return false;
}

} // namespace ferry::frontend
