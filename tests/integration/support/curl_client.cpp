#include "support/curl_client.h"

#include <cstring>

namespace ferry_test {

namespace {

struct sink {
    curl_response* response;
    bool keep;
    fnv1a hash;
};

size_t on_body(char* p, size_t size, size_t n, void* user) {
    auto* s = static_cast<sink*>(user);
    auto len = size * n;
    if (s->keep) s->response->body.append(p, len);
    s->hash.update(p, len);
    s->response->body_size += len;
    return len;
}

size_t on_header(char* p, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(p, size * n);
    return size * n;
}

struct source {
    std::size_t total;
    std::size_t sent = 0;
};

size_t on_read(char* p, size_t size, size_t n, void* user) {
    auto* s = static_cast<source*>(user);
    std::size_t k = std::min(size * n, s->total - s->sent);
    for (std::size_t i = 0; i < k; ++i)
        p[i] = pattern_byte(s->sent + i);
    s->sent += k;
    return k;
}

} // namespace

curl_client::curl_client() : easy_(curl_easy_init()) {}
curl_client::~curl_client() {
    curl_easy_cleanup(easy_);
}

curl_response curl_client::perform(const curl_request& r) {
    curl_response response;
    sink s{&response, r.keep_body, {}};
    source src{r.pattern_upload};
    curl_slist* headers = nullptr;
    for (const auto& h : r.headers)
        headers = curl_slist_append(headers, h.c_str());
    if (r.chunked_upload) headers = curl_slist_append(headers, "Transfer-Encoding: chunked");

    curl_easy_reset(easy_);
    curl_easy_setopt(easy_, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROXY, r.proxy.c_str());
    curl_easy_setopt(easy_, CURLOPT_NOPROXY, "");
    if (!r.proxy_user.empty()) {
        curl_easy_setopt(easy_, CURLOPT_PROXYUSERPWD, r.proxy_user.c_str());
        curl_easy_setopt(easy_, CURLOPT_PROXYAUTH, long(CURLAUTH_BASIC));
    }
    if (!r.interface.empty()) curl_easy_setopt(easy_, CURLOPT_INTERFACE, r.interface.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPPROXYTUNNEL, r.tunnel ? 1L : 0L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, r.insecure ? 0L : 1L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, r.insecure ? 0L : 2L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &response.headers);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, r.timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION,
                     r.http10 ? CURL_HTTP_VERSION_1_0 : CURL_HTTP_VERSION_1_1);
    if (r.method == "HEAD") {
        curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    } else if (r.pattern_upload > 0 || r.chunked_upload) {
        curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy_, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(easy_, CURLOPT_READDATA, &src);
        if (!r.chunked_upload)
            curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, curl_off_t(r.pattern_upload));
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (!r.body.empty() || r.method == "POST") {
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, r.body.data());
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(r.body.size()));
        if (r.method != "POST") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method != "GET") {
        curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);

    response.code = curl_easy_perform(easy_);
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &response.status);
    curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &response.connects);
    response.body_hash = s.hash.h;
    curl_slist_free_all(headers);
    return response;
}

} // namespace ferry_test
