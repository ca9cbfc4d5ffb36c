// A contiguous receive buffer: bytes are appended at the back and consumed from the front.
// Its storage can be handed back while a connection idles, so an idle keep-alive client
// costs no buffer memory.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace ferry::net {

class byte_buffer {
public:
    explicit byte_buffer(std::size_t initial_capacity) : initial_(initial_capacity) {}

    std::string_view data() const { return {store_.get() + begin_, end_ - begin_}; }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }
    std::size_t capacity() const { return capacity_; }

    void consume(std::size_t n) {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }

    // Writable space of at least `min_free` bytes (grows at most to `limit`), returned as
    // pointer and size. Moves unread bytes to the front when that makes room.
    std::pair<char*, std::size_t> prepare(std::size_t min_free, std::size_t limit) {
        if (!store_) allocate(std::max(initial_, min_free));
        if (capacity_ - end_ < min_free && begin_ > 0) {
            std::memmove(store_.get(), store_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (capacity_ - end_ < min_free && capacity_ < limit) {
            std::size_t wanted = std::min(limit, std::max(capacity_ * 2, end_ + min_free));
            auto bigger = std::make_unique_for_overwrite<char[]>(wanted);
            std::memcpy(bigger.get(), store_.get(), end_);
            store_ = std::move(bigger);
            capacity_ = wanted;
        }
        return {store_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) { end_ += n; }

    // Frees the storage when nothing is buffered.
    void release_if_empty() {
        if (begin_ == end_ && store_) {
            store_.reset();
            capacity_ = begin_ = end_ = 0;
        }
    }

private:
    void allocate(std::size_t n) {
        store_ = std::make_unique_for_overwrite<char[]>(n);
        capacity_ = n;
        begin_ = end_ = 0;
    }

    std::size_t initial_;
    std::unique_ptr<char[]> store_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace ferry::net
