#pragma once
// The fields the CA and the leaf minter both fill in an X.509 v3 certificate, each in one place:
// serial, validity, names, extensions, signature. Failures throw std::runtime_error carrying
// OpenSSL's reason.

#include <chrono>
#include <string_view>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy {

using system_time = std::chrono::system_clock::time_point;

// An empty X.509 v3 certificate.
X509Ptr new_v3_certificate();

// A random positive 128-bit serial: unique without any state to keep, and unpredictable, which
// is what defeats chosen-prefix collisions on the signature.
void set_random_serial(X509* certificate);

void set_validity(X509* certificate, system_time not_before, system_time not_after);
system_time to_system_time(const ASN1_TIME* time);

// Appends one UTF-8 attribute ("CN", "O", ...) to `name`. The common name is capped at 64
// characters, its upper bound in RFC 5280; callers truncate before calling.
void add_name_entry(X509_NAME* name, const char* field, std::string_view value);

// Adds an extension written in OpenSSL's configuration syntax ("critical,CA:TRUE"). `issuer` is
// the certificate whose key identifier an authorityKeyIdentifier refers to; for a self-signed
// certificate it is the certificate itself. Only constant strings go through here: names taken
// from the network are encoded with add_subject_alt_name, never spliced into this syntax.
void add_extension(X509* certificate, X509* issuer, int nid, const char* value);

// subjectAltName with exactly one entry, a DNS name or an IP address (4 or 16 octets).
void add_dns_subject_alt_name(X509* certificate, std::string_view dns_name);
void add_ip_subject_alt_name(X509* certificate, const unsigned char* address, int length);

// Signs with SHA-256 (RSA PKCS#1 v1.5 or ECDSA, per the key).
void sign_certificate(X509* certificate, EVP_PKEY* issuer_key);

}  // namespace mproxy::proxy
