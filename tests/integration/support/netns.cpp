#include "support/netns.h"

#include "support/command.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry_test {

namespace {

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

// One request head read (bounded), then the answer; the connection is closed after.
void answer_one(int fd, const std::string& address) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) break;
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, std::size_t(n));
    }
    const std::string body = "origin " + address + "\n";
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

} // namespace

network_namespace::network_namespace() {
    saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ < 0) {
        problem_ = errno_text("cannot open /proc/thread-self/ns/net");
        return;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
        problem_ = errno_text("unshare(CLONE_NEWNET) failed (a network namespace needs "
                              "CAP_SYS_ADMIN)");
        ::close(saved_);
        saved_ = -1;
        return;
    }
    ok_ = ip({"link", "set", "lo", "up"});
}

network_namespace::~network_namespace() {
    if (saved_ < 0) return;
    (void)::setns(saved_, CLONE_NEWNET);
    ::close(saved_);
}

bool network_namespace::ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_program(argv);
    if (r.exit_code() == 0) return true;
    std::string line;
    for (const auto& a : argv)
        line += (line.empty() ? "" : " ") + a;
    problem_ = line + " failed: " + r.err;
    return false;
}

bool network_namespace::add_address(const std::string& cidr) {
    if (cidr.find(':') != std::string::npos)
        return ip({"-6", "addr", "add", cidr, "dev", "lo", "nodad"});
    return ip({"addr", "add", cidr, "dev", "lo"});
}

address_origin::address_origin(const std::string& address, int port) : address_(address) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    const bool v6 = address.find(':') != std::string::npos;
    if (v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(std::uint16_t(port));
        if (::inet_pton(AF_INET6, address.c_str(), &s6->sin6_addr) != 1) return;
        len = sizeof(sockaddr_in6);
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(std::uint16_t(port));
        if (::inet_pton(AF_INET, address.c_str(), &s4->sin_addr) != 1) return;
        len = sizeof(sockaddr_in);
    }
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        ::close(fd);
        return;
    }
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    fd_ = fd;
    thread_ = std::thread([this] { serve(); });
}

address_origin::~address_origin() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
}

std::string address_origin::authority() const {
    if (address_.find(':') != std::string::npos)
        return "[" + address_ + "]:" + std::to_string(port_);
    return address_ + ":" + std::to_string(port_);
}

void address_origin::serve() {
    while (!stopping_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++accepted_;
        answer_one(c, address_);
        ::close(c);
    }
}

} // namespace ferry_test
