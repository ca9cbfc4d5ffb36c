#include "support/smuggling_checks.h"

#include "support/socket_io.h"
#include "support/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <sys/wait.h>

namespace ferry_test {

client_exchange send_one(int port, std::string_view bytes, std::chrono::milliseconds timeout,
                         bool head_request) {
    client_exchange x;
    auto s = tcp_stream::connect_to(port);
    if (!s.ok()) return x;
    s.send_all(bytes); // may fail part-way when ferry answers early and closes: that is fine
    x.response = s.read_response(timeout, head_request);
    const int status = status_of(x.response);
    if (status < 200 || status > 299) x.closed = s.peer_closed(std::chrono::milliseconds(1500));
    return x;
}

void expect_ferry_refusal(const client_exchange& x, int status, bool head_request) {
    EXPECT_EQ(status_of(x.response), status) << printable(x.response);
    const auto head = head_of(x.response);
    const auto body = body_of(x.response);
    EXPECT_TRUE(header_value(head, "content-type").starts_with("text/plain"))
        << printable(x.response);
    if (head_request) {
        EXPECT_EQ(body, "") << printable(x.response);
    } else {
        EXPECT_TRUE(body.starts_with("ferry: ")) << printable(x.response);
        EXPECT_TRUE(body.ends_with("\n")) << printable(x.response);
        EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << printable(x.response);
    }
    EXPECT_EQ(header_value(head, "connection"), "close") << printable(x.response);
    EXPECT_TRUE(x.closed) << "ferry kept the client connection open after a " << status;
}

recorded_request expect_one_clean_message(const recording_origin& origin, std::size_t before,
                                          std::string_view body) {
    auto all = origin.messages();
    EXPECT_EQ(all.size(), before + 1) << "the origin did not read exactly one new request";
    if (all.size() <= before) return {};
    const auto& m = all[before];
    const auto& f = m.parsed.fields;
    EXPECT_EQ(m.parsed.problem, "") << "origin read: " << printable(m.head + m.body);
    EXPECT_LE(count_fields(f, "content-length") + count_fields(f, "transfer-encoding"), 1)
        << printable(m.head);
    EXPECT_EQ(printable(m.decoded), printable(body)) << printable(m.head);
    // Relay duties (RFC 9110 §7.6, RFC 9112 §3.2.1).
    const auto& line = m.parsed.start_line;
    const auto sp = line.find(' ');
    EXPECT_TRUE(sp != std::string::npos && line.size() > sp + 1 && line[sp + 1] == '/')
        << "not origin-form: " << printable(line);
    EXPECT_TRUE(line.ends_with(" HTTP/1.1")) << printable(line);
    EXPECT_EQ(count_fields(f, "host"), 1) << printable(m.head);
    EXPECT_EQ(field_value(f, "host"), origin.authority()) << printable(m.head);
    EXPECT_TRUE(field_value(f, "via").starts_with("1.")) << printable(m.head);
    for (auto name : {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                      "proxy-authorization"})
        EXPECT_EQ(count_fields(f, name), 0) << name << " forwarded: " << printable(m.head);
    return m;
}

void expect_nothing_forwarded_and_still_serving(const ferry_process& ferry,
                                                const recording_origin& origin,
                                                std::size_t before) {
    EXPECT_EQ(origin.count(), before)
        << "a refused request reached the origin: " << printable(origin.messages().back().head);
    ASSERT_TRUE(ferry.running()) << tail(ferry.err());
    static std::atomic<int> serial{0};
    const std::string marker = "/after-refusal/" + std::to_string(++serial);
    auto s = tcp_stream::connect_to(ferry.port());
    ASSERT_TRUE(s.ok()) << "ferry no longer accepts connections: " << tail(ferry.err());
    ASSERT_TRUE(s.send_all("GET http://" + origin.authority() + marker +
                           " HTTP/1.1\r\nHost: " + origin.authority() + "\r\n\r\n"));
    auto r = s.read_response(std::chrono::seconds(5));
    EXPECT_EQ(status_of(r), 200) << printable(r) << "\nferry's stderr: " << tail(ferry.err());
    auto all = origin.messages();
    ASSERT_EQ(all.size(), before + 1) << "more than the following request reached the origin";
    EXPECT_EQ(all[before].parsed.start_line, "GET " + marker + " HTTP/1.1");
}

void expect_clean_exit(ferry_process& ferry) {
    if (!ferry.started()) return;
    const int status = ferry.stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "ferry's exit status " << status << "; its stderr: " << tail(ferry.err());
    EXPECT_EQ(ferry.err().find("Sanitizer"), std::string::npos) << tail(ferry.err());
}

} // namespace ferry_test
