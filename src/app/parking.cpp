#include "app/parking.h"

#include <array>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace ferry::app {

namespace asio = boost::asio;

namespace {
constexpr std::size_t slab_size = 256;
}

parking_lot::parking_lot(asio::io_context& io, ready_fn on_ready, closed_fn on_closed)
    : epoll_(io), on_ready_(std::move(on_ready)), on_closed_(std::move(on_closed)) {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd >= 0) {
        boost::system::error_code ignored;
        epoll_.assign(fd, ignored);
    }
}

parking_lot::~parking_lot() {
    for (auto* p = oldest_; p != nullptr; p = p->next) {
        ::close(p->fd);
        delete p->extra;
    }
}

parked_client* parking_lot::allocate() {
    if (!free_) {
        auto slab = std::make_unique<parked_client[]>(slab_size);
        for (std::size_t i = 0; i < slab_size; ++i) {
            slab[i].next = free_;
            free_ = &slab[i];
        }
        slabs_.push_back(std::move(slab));
    }
    auto* p = free_;
    free_ = p->next;
    return p;
}

void parking_lot::release(parked_client* p) {
    p->fd = -1;
    p->prev = nullptr;
    p->next = free_;
    free_ = p;
}

void parking_lot::link(parked_client* p) {
    p->prev = newest_;
    p->next = nullptr;
    if (newest_)
        newest_->next = p;
    else
        oldest_ = p;
    newest_ = p;
    ++count_;
}

void parking_lot::unlink(parked_client* p) {
    if (p->prev)
        p->prev->next = p->next;
    else
        oldest_ = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        newest_ = p->prev;
    --count_;
}

bool parking_lot::park(asio::ip::tcp::socket& socket, const asio::ip::tcp::endpoint& peer,
                       std::uint64_t id, net::steady_time until,
                       std::unique_ptr<frontend::parked_session>& extra) {
    if (closed_ || !epoll_.is_open() || !socket.is_open()) return false;
    parked_client* p = nullptr;
    try {
        p = allocate();
    } catch (const std::bad_alloc&) {
        return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = p;
    // Add first, while the socket is still Asio's: a failure leaves it as it was.
    if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, socket.native_handle(), &ev) != 0) {
        release(p);
        return false;
    }
    boost::system::error_code ec;
    p->fd = socket.release(ec); // out of the worker's epoll set
    if (ec) {
        ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, socket.native_handle(), nullptr);
        release(p);
        return false;
    }
    p->peer = peer;
    p->id = id;
    p->until = until;
    p->extra = extra.release();
    link(p);
    watch();
    return true;
}

void parking_lot::watch() {
    if (watching_ || closed_) return;
    watching_ = true;
    epoll_.async_wait(asio::posix::descriptor_base::wait_read,
                      [this](boost::system::error_code ec) {
                          watching_ = false;
                          if (ec) return; // the lot is closing
                          take_ready();
                          if (count_ > 0) watch();
                      });
}

void parking_lot::take_ready() {
    std::array<epoll_event, 64> events;
    for (int round = 0; round < 64; ++round) {
        int n = ::epoll_wait(epoll_.native_handle(), events.data(), int(events.size()), 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            const auto& event = events[std::size_t(i)];
            auto* p = static_cast<parked_client*>(event.data.ptr);
            int unread = 0;
            if ((event.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
                ::ioctl(p->fd, FIONREAD, &unread) == 0 && unread == 0) {
                close(p); // the client left without another request: no session needed
                continue;
            }
            ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, p->fd, nullptr);
            unlink(p);
            const int fd = p->fd;
            std::unique_ptr<frontend::parked_session> extra(std::exchange(p->extra, nullptr));
            const parked_client copy = *p;
            release(p);
            on_ready_(fd, copy, std::move(extra));
        }
        if (std::size_t(n) < events.size()) return;
    }
}

void parking_lot::close(parked_client* p) {
    unlink(p);
    ::close(p->fd); // leaves the lot's epoll set with it
    delete std::exchange(p->extra, nullptr);
    const parked_client copy = *p;
    release(p);
    on_closed_(copy);
}

void parking_lot::close_expired(net::steady_time now) {
    // Oldest first: with one idle timeout the first one still in time ends the sweep. (After a
    // reload that shortens the timeout, later ones may wait for earlier ones to expire.)
    while (oldest_ && oldest_->until <= now)
        close(oldest_);
}

void parking_lot::close_all() {
    closed_ = true;
    while (oldest_)
        close(oldest_);
    boost::system::error_code ignored;
    epoll_.close(ignored);
}

} // namespace ferry::app
