#include "tests/support/mitm_fixture.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace mproxy::test {

TestPki& MitmFixture::pki() {
    static TestPki shared;
    return shared;
}

proxy::ProxyConfig MitmFixture::mitm_config() {
    auto config = default_config();
    config.connect_action = proxy::ConnectAction::mitm;
    config.upstream_ca_file = pki().ca_file();
    return config;
}

std::string MitmFixture::proxy_ca_file() {
    // Unique per fixture object and call; the directory is the process's own (mkdtemp).
    const auto name = "proxy-ca-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" +
                      std::to_string(files_written_++) + ".pem";
    return pki().write_file(name, proxy().interception().ca_pem());
}

std::string certificate_fingerprint(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!bio) return {};
    std::unique_ptr<X509, decltype(&X509_free)> certificate(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!certificate) return {};
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!X509_digest(certificate.get(), EVP_sha256(), digest, &size)) return {};
    std::string hex;
    char byte[3];
    for (unsigned int i = 0; i < size; ++i) {
        std::snprintf(byte, sizeof byte, "%02x", digest[i]);
        hex += byte;
    }
    return hex;
}

bool contains_text(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

long event_index(const std::vector<std::string>& events, const std::string& event) {
    const auto it = std::find(events.begin(), events.end(), event);
    return it == events.end() ? -1 : static_cast<long>(it - events.begin());
}

std::string event_list(const std::vector<std::string>& events) {
    std::string out;
    for (const auto& e : events) out += "[" + e + "] ";
    return out;
}

}  // namespace mproxy::test
