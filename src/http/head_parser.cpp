#include "http/head_parser.h"

#include "http/chars.h"

namespace ferry::http {

namespace {

constexpr std::size_t max_fields = 256;

// Splits off the next CRLF-terminated line. The scanner guaranteed every LF has a CR.
std::string_view next_line(std::string_view& rest) {
    auto lf = rest.find('\n');
    if (lf == std::string_view::npos) {
        auto line = rest;
        rest = {};
        return line;
    }
    auto line = rest.substr(0, lf - 1);
    rest.remove_prefix(lf + 1);
    return line;
}

bool has_cr(std::string_view s) {
    return s.find('\r') != std::string_view::npos;
}

// "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
parse_error parse_version(std::string_view v, int& minor) {
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return parse_error::bad_version;
    char major = v[5], min = v[7];
    if (major < '0' || major > '9' || min < '0' || min > '9') return parse_error::bad_version;
    if (major != '1') return parse_error::unsupported_version;
    minor = (min == '0') ? 0 : 1;
    return parse_error::none;
}

parse_error parse_fields(std::string_view rest, std::vector<field>& fields) {
    fields.clear();
    while (!rest.empty()) {
        auto line = next_line(rest);
        if (line.empty()) break; // the empty line ending the head
        field f;
        if (auto e = parse_field_line(line, f); e != parse_error::none) return e;
        if (fields.size() == max_fields) return parse_error::too_many_fields;
        fields.push_back(f);
    }
    return parse_error::none;
}

} // namespace

std::string_view describe(parse_error e) {
    switch (e) {
    case parse_error::none:
        return "no error";
    case parse_error::bad_start_line:
        return "malformed start line";
    case parse_error::bad_method:
        return "invalid method";
    case parse_error::bad_target:
        return "invalid request-target";
    case parse_error::target_too_long:
        return "request-target too long";
    case parse_error::bad_version:
        return "malformed HTTP version";
    case parse_error::unsupported_version:
        return "HTTP version not supported";
    case parse_error::bad_status:
        return "invalid status code";
    case parse_error::bare_cr:
        return "bare CR in head";
    case parse_error::obs_fold:
        return "obsolete line folding in header";
    case parse_error::empty_field_name:
        return "empty header field name";
    case parse_error::bad_field_name:
        return "invalid header field name";
    case parse_error::space_before_colon:
        return "whitespace between header name and colon";
    case parse_error::bad_field_value:
        return "invalid character in header value";
    case parse_error::too_many_fields:
        return "too many header fields";
    }
    return "unknown error";
}

parse_error parse_field_line(std::string_view line, field& out) {
    if (has_cr(line)) return parse_error::bare_cr;
    if (line.find('\n') != std::string_view::npos) return parse_error::bad_field_value;
    if (line.front() == ' ' || line.front() == '\t') return parse_error::obs_fold;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return parse_error::bad_field_name;
    if (colon == 0) return parse_error::empty_field_name;
    auto name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t') return parse_error::space_before_colon;
    if (!is_token(name)) return parse_error::bad_field_name;
    auto value = trim_ows(line.substr(colon + 1));
    for (char c : value)
        if (!is_field_char(c)) return parse_error::bad_field_value;
    out = {name, value};
    return parse_error::none;
}

parse_error parse_request_head(std::string_view head, std::size_t max_target, request_head& out) {
    out = request_head{std::string_view{}, std::string_view{}, 1, std::move(out.fields), {}};
    out.fields.clear();
    auto rest = head;
    auto line = next_line(rest);
    out.request_line = line;
    if (has_cr(line)) return parse_error::bare_cr;
    // method SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return parse_error::bad_start_line;
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return parse_error::bad_start_line;
    out.method = line.substr(0, sp1);
    out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto version = line.substr(sp2 + 1);
    if (!is_token(out.method)) return parse_error::bad_method;
    if (out.target.empty()) return parse_error::bad_target;
    if (out.target.size() > max_target) return parse_error::target_too_long;
    for (char c : out.target)
        if (!is_vchar(c)) return parse_error::bad_target;
    if (auto e = parse_version(version, out.minor); e != parse_error::none) return e;
    return parse_fields(rest, out.fields);
}

parse_error parse_response_head(std::string_view head, response_head& out) {
    out = response_head{1, 0, std::string_view{}, std::move(out.fields), {}};
    out.fields.clear();
    auto rest = head;
    auto line = next_line(rest);
    out.status_line = line;
    if (has_cr(line)) return parse_error::bare_cr;
    // HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4). A missing SP before an
    // empty reason is tolerated: it cannot change where the message ends.
    if (line.size() < 12 || line[8] != ' ') return parse_error::bad_start_line;
    if (auto e = parse_version(line.substr(0, 8), out.minor); e != parse_error::none) return e;
    auto code = line.substr(9, 3);
    for (char c : code)
        if (c < '0' || c > '9') return parse_error::bad_status;
    out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (out.status < 100 || out.status > 599) return parse_error::bad_status;
    if (line.size() > 12) {
        if (line[12] != ' ') return parse_error::bad_status;
        out.reason = line.substr(13);
        for (char c : out.reason)
            if (!is_field_char(c)) return parse_error::bad_start_line;
    } else {
        out.reason = {};
    }
    return parse_fields(rest, out.fields);
}

} // namespace ferry::http
