// log_sink: files, reopening them after they were moved away (logrotate), and moving to a
// new destination while threads write (a reload).
#include "observe/log_sink.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace ferry::observe {

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct temp_path {
    std::string path;
    temp_path() {
        std::string pattern = ::testing::TempDir() + "ferry-sink-XXXXXX";
        int fd = mkstemp(pattern.data());
        if (fd >= 0) ::close(fd);
        path = pattern;
        std::remove(path.c_str());
    }
    ~temp_path() {
        std::remove(path.c_str());
        std::remove((path + ".1").c_str());
    }
};

} // namespace

TEST(LogSink, OffAndEmptyAreDisabled) {
    log_sink off, none;
    EXPECT_TRUE(off.open("off"));
    EXPECT_TRUE(none.open(""));
    EXPECT_FALSE(off.enabled());
    EXPECT_FALSE(none.enabled());
    EXPECT_TRUE(off.reopen());
}

TEST(LogSink, AppendsToAFile) {
    temp_path tmp;
    {
        log_sink sink;
        ASSERT_TRUE(sink.open(tmp.path));
        EXPECT_TRUE(sink.is_file());
        sink.write("one\n");
        sink.write("two\n");
    }
    log_sink again;
    ASSERT_TRUE(again.open(tmp.path));
    again.write("three\n");
    EXPECT_EQ(slurp(tmp.path), "one\ntwo\nthree\n");
}

TEST(LogSink, CannotOpenAFileInAMissingDirectory) {
    log_sink sink;
    EXPECT_FALSE(sink.open("/nonexistent-ferry-dir/access.log"));
    EXPECT_FALSE(sink.enabled());
}

TEST(LogSink, ReopenWritesToANewFileAfterARename) {
    temp_path tmp;
    log_sink sink;
    ASSERT_TRUE(sink.open(tmp.path));
    sink.write("before\n");
    ASSERT_EQ(std::rename(tmp.path.c_str(), (tmp.path + ".1").c_str()), 0);
    sink.write("still old\n"); // not reopened yet: follows the renamed file
    ASSERT_TRUE(sink.reopen());
    sink.write("after\n");
    EXPECT_EQ(slurp(tmp.path + ".1"), "before\nstill old\n");
    EXPECT_EQ(slurp(tmp.path), "after\n");
}

TEST(LogSink, ReopenWhileOtherThreadsWriteLosesAndSplitsNoBlock) {
    temp_path tmp;
    log_sink sink;
    ASSERT_TRUE(sink.open(tmp.path));
    constexpr int threads = 4, blocks = 2000, rotations = 20;
    const std::string block(300, 'x');
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&] {
            for (int i = 0; i < blocks; ++i)
                sink.write(block + "\n");
        });
    std::vector<std::string> rotated;
    for (int i = 0; i < rotations; ++i) {
        rotated.push_back(tmp.path + ".r" + std::to_string(i));
        ASSERT_EQ(std::rename(tmp.path.c_str(), rotated.back().c_str()), 0);
        ASSERT_TRUE(sink.reopen());
    }
    for (auto& w : writers)
        w.join();
    rotated.push_back(tmp.path);
    int whole = 0;
    for (const auto& path : rotated) {
        std::istringstream in(slurp(path));
        std::string l;
        while (std::getline(in, l)) {
            EXPECT_EQ(l, block);
            ++whole;
        }
        if (path != tmp.path) std::remove(path.c_str());
    }
    EXPECT_EQ(whole, threads * blocks);
}

TEST(LogSink, ReopenOfAnUnwritablePathKeepsTheOldFile) {
    temp_path tmp;
    log_sink sink;
    ASSERT_TRUE(sink.open(tmp.path));
    ASSERT_EQ(std::remove(tmp.path.c_str()), 0);
    ASSERT_EQ(::mkdir(tmp.path.c_str(), 0700), 0); // a directory now stands at the path
    EXPECT_FALSE(sink.reopen());
    sink.write("kept\n"); // to the unlinked old file: no crash, nothing lost from the sink
    ::rmdir(tmp.path.c_str());
}

TEST(LogSink, RetargetMovesToANewFileAndBackToNone) {
    temp_path first, second;
    log_sink sink;
    ASSERT_TRUE(sink.open(first.path));
    sink.write("one\n");
    ASSERT_TRUE(sink.retarget(second.path));
    EXPECT_EQ(sink.path(), second.path);
    sink.write("two\n");
    ASSERT_TRUE(sink.retarget("off"));
    EXPECT_FALSE(sink.enabled());
    EXPECT_FALSE(sink.is_file());
    sink.write("nowhere\n");
    ASSERT_TRUE(sink.retarget(first.path));
    EXPECT_TRUE(sink.enabled());
    sink.write("three\n");
    EXPECT_EQ(slurp(first.path), "one\nthree\n");
    EXPECT_EQ(slurp(second.path), "two\n");
}

TEST(LogSink, RetargetToAnUnopenableFileKeepsTheOldOne) {
    temp_path tmp;
    log_sink sink;
    ASSERT_TRUE(sink.open(tmp.path));
    EXPECT_FALSE(sink.retarget("/nonexistent-ferry-dir/flow.log"));
    EXPECT_EQ(sink.path(), tmp.path);
    sink.write("kept\n");
    EXPECT_EQ(slurp(tmp.path), "kept\n");
}

TEST(LogSink, RetargetWhileOtherThreadsWriteLosesAndSplitsNoBlock) {
    temp_path a, b;
    log_sink sink;
    ASSERT_TRUE(sink.open(a.path));
    constexpr int threads = 4, blocks = 2000;
    const std::string block(300, 'x');
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&] {
            for (int i = 0; i < blocks; ++i)
                sink.write(block + "\n");
        });
    for (int i = 0; i < 20; ++i)
        ASSERT_TRUE(sink.retarget(i % 2 == 0 ? b.path : a.path));
    for (auto& w : writers)
        w.join();
    int whole = 0;
    for (const auto& path : {a.path, b.path}) {
        std::istringstream in(slurp(path));
        std::string l;
        while (std::getline(in, l)) {
            EXPECT_EQ(l, block);
            ++whole;
        }
    }
    EXPECT_EQ(whole, threads * blocks);
}

} // namespace ferry::observe
