// What a front end needs of the worker beyond what its exchanges need (proxy/context.h):
// the connection's life — its number, its count against the limits, draining, parking and
// the flow log's connect/disconnect blocks. The worker implements it (app/worker.h).
#pragma once

#include "net/deadline.h"
#include "net/stream.h"
#include "proxy/context.h"
#include "tls/server_context.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ferry::frontend {

class host;

// What a front end keeps of a parked connection beyond its socket (a TLS session's state,
// its client's identity), and how the connection resumes when its client sends again.
class parked_session {
public:
    virtual ~parked_session() = default;
    virtual boost::asio::awaitable<void> resume(host& h, boost::asio::ip::tcp::socket socket,
                                                boost::asio::ip::tcp::endpoint peer,
                                                std::uint64_t id) = 0;
};

class host : public proxy::context {
public:
    // A number for a new connection, unique in this process.
    virtual std::uint64_t next_connection_id() = 0;
    // A client connection as a stream on this loop's clock and deadlines.
    virtual std::unique_ptr<net::stream> client_stream(boost::asio::ip::tcp::socket socket) = 0;
    // A connection that the worker drains and force-closes with the others.
    virtual void add(net::drainable* c) = 0;
    virtual void remove(net::drainable* c) = 0;
    // A client connection admitted under the connection limits is closed: its count goes.
    virtual void connection_closed(const boost::asio::ip::address& client) = 0;
    // Takes an idle client's socket until `until` (app/parking.h), and `extra` with it
    // (null for a plain connection): false when both stay here.
    virtual bool park(boost::asio::ip::tcp::socket& socket,
                      const boost::asio::ip::tcp::endpoint& peer, std::uint64_t id,
                      net::steady_time until, std::unique_ptr<parked_session>& extra) = 0;
    // The https:// listeners' TLS as now configured (null when there is none); a reload
    // replaces it, and a connection keeps the one it was accepted with.
    virtual const std::shared_ptr<const tls::server_context>& tls_server() const = 0;
    // Many connections on this loop: an idle one parks at once rather than after a pause.
    virtual bool crowded() const = 0;
    // The flow log's block for a connection that opened or closed (no-op when it is off).
    virtual void flow_connected(std::uint64_t id, std::string_view client) = 0;
    virtual void flow_disconnected(std::uint64_t id, std::string_view client) = 0;
};

} // namespace ferry::frontend
