// Support for the upstream pool's tests: an origin that numbers its connections and says
// on every answer who it is and which connection and request it answers on, a record of
// what each connection saw (requests, the peer's EOF), and a client that makes one
// request per client connection and waits until ferry has let go of that connection.
#pragma once

#include "support/ferry_process.h"
#include "support/origin.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ferry_test {

// What the connections of one origin saw; shared between the origin's threads and the test.
class connection_record {
public:
    // Numbers a new connection: 1, 2, ... in the order they were accepted.
    int opened();
    void request(int conn, std::string_view head);
    // The peer (ferry) closed the connection: the origin read EOF.
    void peer_closed(int conn);

    int opened_count() const;
    // The connections ferry closed, in the order it closed them.
    std::vector<int> closed_by_peer() const;
    std::optional<std::chrono::steady_clock::time_point> closed_at(int conn) const;
    // Waits until ferry has closed at least `n` connections.
    bool wait_closed_by_peer(std::size_t n, std::chrono::milliseconds timeout) const;
    // How many requests for `path` with `method` arrived, on all connections.
    int requests_for(std::string_view method, std::string_view path) const;
    // "conn C: <request line>" per request, in arrival order, for failure messages.
    std::string summary() const; // the first 30 requests

    // Counts requests that arrived to be held; an origin can hold its first answers until
    // that many have gathered, so that that many connections are busy at once.
    void enter();
    bool wait_gathered(int n, std::chrono::milliseconds timeout);

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    int opened_ = 0;
    int in_flight_ = 0;
    std::vector<std::pair<int, std::string>> requests_;
    std::vector<int> closed_;
    std::map<int, std::chrono::steady_clock::time_point> closed_at_;
};

// One request as an origin connection sees it, handed to a script that answers it.
struct origin_exchange {
    std::string_view name; // the origin's name
    connection_record& record;
    origin_connection& c;
    int conn; // the connection's number (1, 2, ...)
    int req;  // the request's number on that connection
    std::string head;
    std::string path;
};
// Answers one request; false ends the connection (the origin closes it).
using origin_script = std::function<bool(origin_exchange&)>;

// The body the default script answers: "<name> conn <C> req <R> <path>".
std::string identity_body(std::string_view name, int conn, int req, std::string_view path);
// Sends that body in an HTTP/1.1 200 with Content-Length, the connection kept open.
bool send_identity(origin_exchange& x);
// A script that holds the first answers until `n` requests have arrived (so that n
// connections are busy at once), then answers on connection c only after c × stagger, so
// that the answers, and the moments ferry gives the connections back, come in connection
// order.
origin_script gathering(int n, std::chrono::milliseconds stagger);

// An origin that numbers its connections, reads each request (head and body), records it,
// and lets a script answer it; by default the identity answer. A connection whose next
// request does not come is recorded as closed by ferry.
class numbered_origin {
public:
    explicit numbered_origin(std::string name, origin_script script = {});

    test_origin& origin() { return origin_; }
    const test_origin& origin() const { return origin_; }
    connection_record& record() { return *record_; }
    std::string url(std::string_view path) const { return origin_.url(path); }
    std::string authority() const { return origin_.authority(); }
    int connections() const { return origin_.connections(); }
    std::string answer(int conn, int req, std::string_view path) const {
        return identity_body(name_, conn, req, path);
    }

private:
    std::string name_;
    std::shared_ptr<connection_record> record_ = std::make_shared<connection_record>();
    test_origin origin_;
};

// "GET <absolute url> HTTP/1.1" with Host, for a request through ferry.
std::string proxy_request(const test_origin& origin, std::string_view method, std::string_view path,
                          std::string_view body = {});

// One request on a new client connection: sends it, reads the response, closes, and waits
// until ferry's flow log (--flow) shows the client connection gone, so that whatever ferry
// does with the upstream connection when an exchange or a client ends has happened.
// Returns the raw response ("" if none came).
std::string exchange_once(const ferry_process& ferry, const std::string& request,
                          bool head_only = false);

// One "[SRV connected to H:P]" or "[SRV connection to H:P reused]" line of the flow log.
struct upstream_event {
    int connection = 0; // the client connection's number, from its block header
    std::string upstream;
    bool reused = false;
};
std::vector<upstream_event> upstream_events(const std::string& flow_log);
int count_reused(const std::string& flow_log, std::string_view upstream);
int count_connected(const std::string& flow_log, std::string_view upstream);

} // namespace ferry_test
