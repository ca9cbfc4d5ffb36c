// ferry: an HTTP/1.1 forward proxy. `ferry [PORT]` listens on 127.0.0.1:PORT (9001).
#include "app/admission.h"
#include "app/explain_run.h"
#include "app/server.h"
#include "config/cli.h"
#include "config/settings.h"

#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <sys/resource.h>

namespace {

// The most a process may be given (fs.nr_open); the kernel's default when it cannot be read.
std::size_t nr_open() {
    std::size_t n = 0;
    if (auto* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
        if (std::fscanf(f, "%zu", &n) != 1) n = 0;
        std::fclose(f);
    }
    return n > 0 ? n : std::size_t(1) << 20;
}

std::size_t files(rlim_t value) {
    return value == RLIM_INFINITY ? std::size_t(-1) : std::size_t(value);
}

// Open files for the connection limit, before any worker starts (as HAProxy does): root, or
// CAP_SYS_RESOURCE, raises soft and hard to what max_connections needs (or, automatic, what
// 65,536 clients need), at most fs.nr_open; otherwise the soft limit goes up to the hard
// one. Never lowered. server.cpp derives the automatic limit from what this leaves.
void fit_file_limit(const ferry::config::settings& settings) {
    using namespace ferry::app;
    rlimit now{};
    if (getrlimit(RLIMIT_NOFILE, &now) != 0) return;
    const auto clients =
        settings.max_connections != 0 ? settings.max_connections : automatic_connection_target;
    const auto next = raised_file_limit({files(now.rlim_cur), files(now.rlim_max)},
                                        files_needed(clients, budget_for(settings)), nr_open());
    if (next.soft == files(now.rlim_cur) && next.hard == files(now.rlim_max)) return;
    rlimit wanted{rlim_t(next.soft), rlim_t(next.hard)};
    if (setrlimit(RLIMIT_NOFILE, &wanted) == 0 || now.rlim_cur == now.rlim_max) return;
    // Not allowed to raise the hard limit: the soft one up to it, as before.
    now.rlim_cur = now.rlim_max;
    setrlimit(RLIMIT_NOFILE, &now);
}

// glibc gives the top of a heap back to the system as soon as more than a threshold is free
// there (128 KiB, raised as large blocks come and go), and takes it again on the next burst:
// page faults on the request path (0.2–0.7 per request measured under keep-alive load, plain
// and TLS alike). A fixed 64 MiB keeps it; the workers still give memory back after a burst
// of sessions (worker::trim_memory, malloc_trim). Measured (wrk, 50 keep-alive clients, 1 KiB,
// same binary, alternating): CPU per request 33–37 → 27 µs plain, 59–62 → 37 µs over TLS.
void keep_freed_memory() {
    ::mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

} // namespace

int main(int argc, char** argv) {
    auto cli = ferry::config::parse_command_line(argc, argv);
    if (!cli.parsed) return cli.exit_code;
    if (cli.explain) {
        // Nothing is sent to the origin: the rules, the route and a DNS lookup only.
        const auto& e = *cli.explain;
        return ferry::app::run_explain(*cli.parsed, {e.target, e.client, e.user, e.method});
    }
    std::signal(SIGPIPE, SIG_IGN);
    keep_freed_memory();
    fit_file_limit(*cli.parsed);
    try {
        // SIGHUP reads the same command line again: the file it names, then its flags.
        return ferry::app::run_server(*cli.parsed, [argc, argv] {
            return ferry::config::parse_command_line(argc, argv).parsed;
        });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ferry: %s\n", e.what());
        return 1;
    }
}
