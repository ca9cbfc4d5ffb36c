#include "http/response_plan.h"

namespace ferry::http {

response_plan plan_response(const response_head& resp, const body_framing& in, bool client_11,
                            bool close) {
    response_plan plan;
    switch (in.kind) {
    case body_kind::length:
        plan.framing.content_length = in.length;
        break;
    case body_kind::chunked:
    case body_kind::until_close:
        // HTTP/1.1 clients get chunks; an HTTP/1.0 client reads until ferry closes.
        if (client_11)
            plan.chunked_output = plan.framing.chunked = true;
        else
            close = true;
        break;
    case body_kind::none: {
        // HEAD and 304 keep the framing fields of the representation they describe.
        body_framing representation;
        if (resp.status != 204 && declared_framing(resp, representation) == framing_error::none) {
            if (representation.kind == body_kind::length)
                plan.framing.content_length = representation.length;
            if (representation.kind == body_kind::chunked && client_11) plan.framing.chunked = true;
        }
        break;
    }
    }
    plan.close = close;
    plan.keep_alive_10 = !close && !client_11;
    return plan;
}

} // namespace ferry::http
