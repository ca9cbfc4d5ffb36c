#include "support/admin_client.h"

#include "support/socket_io.h"

#include <fmt/format.h>
#include <regex>

namespace ferry_test {

int admin_port(const ferry_process& ferry) {
    std::smatch m;
    const auto out = ferry.out();
    static const std::regex line(R"(Admin listener on port (\d+))");
    return std::regex_search(out, m, line) ? std::stoi(m.str(1)) : 0;
}

std::string admin_get(int port, std::string_view request_line) {
    auto s = tcp_stream::connect_to(port);
    if (!s.send_all(fmt::format("{}\r\nHost: 127.0.0.1\r\n\r\n", request_line))) return {};
    return s.read_response(5s);
}

double metric(const std::string& page, const std::string& sample) {
    std::size_t at = 0;
    while ((at = page.find(sample + " ", at)) != std::string::npos) {
        if (at == 0 || page[at - 1] == '\n') {
            const auto end = page.find('\n', at);
            return std::stod(page.substr(at + sample.size() + 1, end - at - sample.size() - 1));
        }
        at += sample.size();
    }
    return -1;
}

double fetch_metric(int port, const std::string& sample) {
    const std::string page(body_of(admin_get(port, "GET /metrics HTTP/1.1")));
    return metric(page, sample);
}

} // namespace ferry_test
