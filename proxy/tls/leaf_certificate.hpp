#pragma once
// The certificate an intercepted client sees: for one name, signed by our CA, for the shared
// leaf key.

#include "proxy/tls/certificate_authority.hpp"
#include "proxy/tls/leaf_name.hpp"
#include "proxy/tls/openssl_handles.hpp"
#include "proxy/tls/x509_fields.hpp"

namespace mproxy::proxy {

// Valid from an hour before `now` (clients whose clock lags) until 30 days after it, or until the
// CA expires if that comes first: well under the 398 days browsers accept, and short enough that
// a leaf outliving a CA rotation does little harm. Throws std::runtime_error on OpenSSL failure.
X509Ptr build_leaf_certificate(const CertificateAuthority& ca, EVP_PKEY* leaf_key,
                               const LeafName& name, system_time now);

}  // namespace mproxy::proxy
