// The connection-limit decision and its bookkeeping (app/admission.h).
#include "app/admission.h"

#include <gtest/gtest.h>

using namespace ferry::app;
using boost::asio::ip::make_address;

TEST(Admission, ZeroMeansNoLimit) {
    EXPECT_EQ(decide_admission(1'000'000, 1'000'000, {}), admit_verdict::admitted);
}

TEST(Admission, TheTotalLimitComesFirst) {
    const connection_limits limits{10, 2};
    EXPECT_EQ(decide_admission(9, 1, limits), admit_verdict::admitted);
    EXPECT_EQ(decide_admission(10, 0, limits), admit_verdict::over_total);
    EXPECT_EQ(decide_admission(10, 2, limits), admit_verdict::over_total);
    EXPECT_EQ(decide_admission(5, 2, limits), admit_verdict::over_client);
}

TEST(Admission, CountsPerAddressAndGivesSlotsBack) {
    admission a;
    const auto one = make_address("192.0.2.1"), two = make_address("2001:db8::1");
    const connection_limits limits{3, 2};
    EXPECT_EQ(a.admit(one, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(one, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(one, limits), admit_verdict::over_client);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::admitted);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::over_total);
    EXPECT_EQ(a.open(), 3u);
    EXPECT_EQ(a.open_from(one), 2u);
    a.release(one);
    EXPECT_EQ(a.open_from(one), 1u);
    EXPECT_EQ(a.admit(two, limits), admit_verdict::admitted);
    a.release(one);
    a.release(two);
    a.release(two);
    EXPECT_EQ(a.open(), 0u);
    a.release(two); // never admitted: nothing to give back, no wrap-around
    EXPECT_EQ(a.open(), 0u);
}

TEST(Admission, RefusalsNameTheLimit) {
    const connection_limits limits{100, 4};
    EXPECT_EQ(refusal_cause(admit_verdict::over_total, limits, make_address("192.0.2.1")),
              "too many connections (limit 100)");
    EXPECT_EQ(refusal_cause(admit_verdict::over_client, limits, make_address("2001:db8::1")),
              "too many connections from 2001:db8::1 (limit 4)");
}

// Two workers with the default pools (1,024 idle each) and 64 pipes each: 64 + 2 × (16 + 128)
// = 352 files whatever the limit, plus the pools at their cap or a quarter of the limit.
const descriptor_budget two_workers{2, 1024, 64};

TEST(Admission, AutomaticLimitIsTwoFilesPerClientLessAReserve) {
    // The machine: 20,000 files. 20,000 − 352 − 2,048 = 17,600 → 8,800 clients
    // (the old third: 6,624).
    EXPECT_EQ(descriptor_reserve(20'000, two_workers), 2'400u);
    EXPECT_EQ(automatic_connection_limit(20'000, two_workers), 8'800u);
    EXPECT_EQ(automatic_connection_limit(1'048'576, two_workers), (1'048'576u - 2'400) / 2);
    // Few files: the pools count for a quarter of them at most.
    EXPECT_EQ(descriptor_reserve(2'000, two_workers), 352u + 500);
    EXPECT_EQ(automatic_connection_limit(2'000, two_workers), (2'000u - 852) / 2);
    EXPECT_EQ(automatic_connection_limit(1'000, {1, 0, 64}), (1'000u - 64 - 16 - 128) / 2);
    EXPECT_EQ(automatic_connection_limit(64, two_workers), 1u);
}

TEST(Admission, FilesNeededLetThatManyClientsIn) {
    for (std::size_t clients : {2u, 500u, 8'000u, 65'536u, 1'000'000u}) // (1 is the floor)
        for (const auto& budget : {two_workers, descriptor_budget{16, 1024, 64},
                                   descriptor_budget{1, 0, 0}, descriptor_budget{4, 100'000, 64}}) {
            const auto files = files_needed(clients, budget);
            EXPECT_GE(automatic_connection_limit(files, budget), clients)
                << clients << " clients, " << budget.workers << " workers";
            EXPECT_LT(automatic_connection_limit(files - 3, budget), clients)
                << clients << " clients, " << budget.workers << " workers: not the least";
        }
    EXPECT_EQ(files_needed(65'536, two_workers), 131'072u + 2'400);
}

TEST(Admission, TheHardLimitIsRaisedToWhatIsWantedAtMostNrOpen) {
    // Below what is wanted: both limits up to it.
    auto next = raised_file_limit({1'024, 20'000}, 133'472, 1'048'576);
    EXPECT_EQ(next.hard, 133'472u);
    EXPECT_EQ(next.soft, 133'472u);
    // Never past fs.nr_open.
    next = raised_file_limit({20'000, 20'000}, 2'000'000, 1'048'576);
    EXPECT_EQ(next.hard, 1'048'576u);
    EXPECT_EQ(next.soft, 1'048'576u);
    // Already enough: the soft limit up to the hard one, nothing lowered.
    next = raised_file_limit({1'024, 524'288}, 133'472, 1'048'576);
    EXPECT_EQ(next.hard, 524'288u);
    EXPECT_EQ(next.soft, 524'288u);
}

TEST(Admission, TheNoticeSaysTheLimitAndWhyUnder10000Only) {
    EXPECT_EQ(connection_limit_notice(0, 20'000, two_workers),
              "ferry: serving at most 8,800 connections at once: the open-files limit is 20,000 "
              "(ulimit -n); raise it or set max_connections");
    EXPECT_EQ(connection_limit_notice(0, files_needed(10'000, two_workers), two_workers), "");
    EXPECT_NE(connection_limit_notice(0, files_needed(10'000, two_workers) - 2, two_workers), "");
    // An explicit limit the files hold: the operator's own, nothing to explain.
    EXPECT_EQ(connection_limit_notice(500, 20'000, two_workers), "");
    EXPECT_EQ(connection_limit_notice(10'000, 1'048'576, two_workers), "");
    // An explicit limit the files cannot hold is named whatever its size.
    EXPECT_EQ(connection_limit_notice(50'000, 20'000, two_workers),
              "ferry: max_connections is 50,000, but the open-files limit of 20,000 (ulimit -n) "
              "holds 8,800 clients in exchange at once: past that, new clients wait to be "
              "accepted and new origin connections fail; raise the limit or lower "
              "max_connections");
}

TEST(Admission, ThousandsAreSeparated) {
    EXPECT_EQ(with_thousands(0), "0");
    EXPECT_EQ(with_thousands(999), "999");
    EXPECT_EQ(with_thousands(6'624), "6,624");
    EXPECT_EQ(with_thousands(1'048'576), "1,048,576");
}
