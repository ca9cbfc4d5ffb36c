// One access-log line per exchange, in the format the operator chose. Each function appends
// exactly one line, ending in '\n', whatever bytes the record holds (a client's target or
// User-Agent never breaks a line or a field apart).
//
//   ferry     TIME CLIENT METHOD TARGET STATUS BYTES_TO_CLIENT BYTES_FROM_CLIENT DURATIONms
//   ["CAUSE"] squid     END.MS ELAPSED CLIENT_IP CODE/STATUS BYTES METHOD URL USER HIERARCHY/PEER
//   TYPE combined  CLIENT_IP - USER [dd/Mon/yyyy:HH:MM:SS +0000] "REQUEST" STATUS BODY "REFERER"
//   "UA" json      {"time":"...","client":"...",...}
#pragma once

#include "observe/access_log_format.h"
#include "observe/exchange_record.h"

#include <chrono>
#include <string>

namespace ferry::observe {

// `end` is when the exchange ended (the record holds when it started).
void append_access_line(access_log_format format, const exchange_record& r,
                        std::chrono::steady_clock::time_point end, std::string& out);

void append_ferry_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                       std::string& out);
void append_squid_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                       std::string& out);
void append_combined_line(const exchange_record& r, std::string& out);
void append_json_line(const exchange_record& r, std::chrono::steady_clock::time_point end,
                      std::string& out);

// Squid's result code for an exchange: TCP_MISS, TCP_TUNNEL, TCP_DENIED, NONE_NONE, with
// _ABORTED when nothing was answered.
std::string squid_result_code(const exchange_record& r);

} // namespace ferry::observe
