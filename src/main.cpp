// ferry: an HTTP/1.1 forward proxy. `ferry [PORT]` listens on 127.0.0.1:PORT (9001).
#include "app/server.h"
#include "config/cli.h"

#include <csignal>
#include <sys/resource.h>

namespace {

// Each client costs two descriptors; take all the kernel allows this process.
void raise_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

} // namespace

int main(int argc, char** argv) {
    auto cli = ferry::config::parse_command_line(argc, argv);
    if (!cli.parsed) return cli.exit_code;
    std::signal(SIGPIPE, SIG_IGN);
    raise_file_limit();
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
