#include "tests/support/https_transfer.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace mproxy::test {

namespace {

template <auto free_function>
struct Deleter {
    template <class T>
    void operator()(T* p) const {
        free_function(p);
    }
};

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string one_line(const X509_NAME* name) {
    std::unique_ptr<BIO, Deleter<BIO_free>> bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    return bio_text(bio.get());
}

std::string common_name(const X509_NAME* name) {
    const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0) return {};
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    const int size = ASN1_STRING_to_UTF8(&utf8, value);
    if (size < 0) return {};
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
    OPENSSL_free(utf8);
    return out;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* time) {
    std::tm tm{};
    if (!ASN1_TIME_to_tm(time, &tm)) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

void read_alt_names(X509* certificate, SeenCertificate& out) {
    auto* names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            const ASN1_STRING* dns = name->d.dNSName;
            out.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                       static_cast<std::size_t>(ASN1_STRING_length(dns)));
        } else if (name->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = name->d.iPAddress;
            const int length = ASN1_STRING_length(ip);
            char text[INET6_ADDRSTRLEN] = {};
            if ((length == 4 || length == 16) &&
                inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text,
                          sizeof text))
                out.ip_addresses.emplace_back(text);
        }
    }
    GENERAL_NAMES_free(names);
}

}  // namespace

std::optional<SeenCertificate> parse_certificate(const std::string& pem) {
    std::unique_ptr<BIO, Deleter<BIO_free>> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return std::nullopt;
    std::unique_ptr<X509, Deleter<X509_free>> certificate(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) return std::nullopt;
    X509* x = certificate.get();
    SeenCertificate out;
    out.subject = one_line(X509_get_subject_name(x));
    out.issuer = one_line(X509_get_issuer_name(x));
    out.common_name = common_name(X509_get_subject_name(x));
    out.issuer_common_name = common_name(X509_get_issuer_name(x));
    read_alt_names(x, out);
    out.not_before = to_time_point(X509_get0_notBefore(x));
    out.not_after = to_time_point(X509_get0_notAfter(x));
    if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
        if (char* hex = BN_bn2hex(serial)) {
            out.serial_hex = hex;
            OPENSSL_free(hex);
        }
        BN_free(serial);
    }
    if (const EVP_PKEY* key = X509_get0_pubkey(x)) {
        if (const char* type = EVP_PKEY_get0_type_name(key)) out.key_type = type;
    }
    out.pem = pem;
    return out;
}

HttpsTransfer::HttpsTransfer(const std::string& ca_file) {
    if (!ca_file.empty()) curl_easy_setopt(handle(), CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(handle(), CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(handle(), CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(handle(), CURLOPT_CERTINFO, 1L);
}

HttpsTransfer::~HttpsTransfer() {
    // The handle is cleaned up by ~CurlTransfer after this; it must not use the lists again.
    curl_easy_setopt(handle(), CURLOPT_CONNECT_TO, static_cast<curl_slist*>(nullptr));
    curl_easy_setopt(handle(), CURLOPT_RESOLVE, static_cast<curl_slist*>(nullptr));
    curl_slist_free_all(connect_to_);
    curl_slist_free_all(resolve_);
}

void HttpsTransfer::connect_to(const std::string& host, std::uint16_t port,
                               const std::string& to_host, std::uint16_t to_port) {
    const std::string entry =
        host + ":" + std::to_string(port) + ":" + to_host + ":" + std::to_string(to_port);
    connect_to_ = curl_slist_append(connect_to_, entry.c_str());
    curl_easy_setopt(handle(), CURLOPT_CONNECT_TO, connect_to_);
}

void HttpsTransfer::resolve(const std::string& host, std::uint16_t port,
                            const std::string& address) {
    const std::string entry = host + ":" + std::to_string(port) + ":" + address;
    resolve_ = curl_slist_append(resolve_, entry.c_str());
    curl_easy_setopt(handle(), CURLOPT_RESOLVE, resolve_);
}

void HttpsTransfer::http1_only() {
    curl_easy_setopt(handle(), CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
}

void HttpsTransfer::max_tls_version(long curl_sslversion_max) {
    curl_easy_setopt(handle(), CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 | curl_sslversion_max);
}

std::vector<SeenCertificate> HttpsTransfer::certificates() {
    std::vector<SeenCertificate> chain;
    curl_certinfo* info = nullptr;
    if (curl_easy_getinfo(handle(), CURLINFO_CERTINFO, &info) != CURLE_OK || !info) return chain;
    for (int i = 0; i < info->num_of_certs; ++i) {
        std::map<std::string, std::string> fields;
        for (const curl_slist* item = info->certinfo[i]; item; item = item->next) {
            const std::string line = item->data;
            const auto colon = line.find(':');
            if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 1);
        }
        auto parsed = parse_certificate(fields["Cert"]);
        SeenCertificate certificate = parsed ? std::move(*parsed) : SeenCertificate{};
        certificate.curl_fields = std::move(fields);
        chain.push_back(std::move(certificate));
    }
    return chain;
}

std::optional<SeenCertificate> HttpsTransfer::leaf_certificate() {
    auto chain = certificates();
    if (chain.empty()) return std::nullopt;
    return std::move(chain.front());
}

long HttpsTransfer::verify_result() {
    long result = 0;
    curl_easy_getinfo(handle(), CURLINFO_SSL_VERIFYRESULT, &result);
    return result;
}

}  // namespace mproxy::test
