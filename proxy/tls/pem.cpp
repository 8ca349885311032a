#include "proxy/tls/pem.hpp"

#include <openssl/pem.h>

#include <climits>
#include <stdexcept>

namespace mproxy::proxy {

namespace {

BioPtr read_only_bio(std::string_view text) {
    if (text.size() > INT_MAX) return nullptr;
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Says "no pass phrase" instead of asking for one.
int refuse_pass_phrase(char*, int, int, void*) {
    return -1;
}

std::string drain(BIO* bio) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace

X509Ptr read_certificate_pem(std::string_view pem) {
    const BioPtr bio = read_only_bio(pem);
    if (!bio) return nullptr;
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, refuse_pass_phrase, nullptr));
}

EvpPkeyPtr read_private_key_pem(std::string_view pem) {
    const BioPtr bio = read_only_bio(pem);
    if (!bio) return nullptr;
    return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_pass_phrase, nullptr));
}

std::string certificate_pem(X509* certificate) {
    const BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1)
        throw std::runtime_error(openssl_failure("cannot write the certificate as PEM"));
    return drain(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
    const BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw std::runtime_error(openssl_failure("cannot write the private key as PEM"));
    return drain(bio.get());
}

}  // namespace mproxy::proxy
