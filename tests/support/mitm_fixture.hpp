#pragma once
// The fixture of the TLS interception tests: the proxy in mitm mode trusting the test PKI's CA for
// origins, and clients that trust only the proxy's own CA (as a browser that imported it would).

#include <atomic>
#include <string>
#include <vector>

#include "proxy/proxy_server.hpp"
#include "proxy/tls/tls_interception.hpp"
#include "tests/support/https_transfer.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/tls_origin.hpp"

namespace mproxy::test {

class MitmFixture : public ProxyFixture {
  protected:
    // One test PKI per process: origins' certificates and the proxy's extra trust anchor.
    static TestPki& pki();

    // mitm for every CONNECT; origins verified against the system store and the test CA.
    proxy::ProxyConfig config() override { return mitm_config(); }
    static proxy::ProxyConfig mitm_config();

    // The proxy's CA as it is now, written to a new file (a client's CAINFO).
    std::string proxy_ca_file();
    // Points `transfer` (which trusts the CA file it was made with) at `url` through the proxy;
    // curl then opens a CONNECT tunnel for the https URL.
    HttpsTransfer& prepare(HttpsTransfer& transfer, const std::string& url) const {
        transfer.url(url);
        transfer.via_proxy(proxy_port());
        return transfer;
    }

  private:
    std::atomic<unsigned> files_written_{0};
};

// The SHA-256 fingerprint of a PEM certificate, hex; "" when it is not one.
std::string certificate_fingerprint(const std::string& pem);

bool contains_text(const std::string& text, const std::string& part);
// The index of `event` in `events`, -1 when absent.
long event_index(const std::vector<std::string>& events, const std::string& event);
// "[a] [b] ..." for failure messages.
std::string event_list(const std::vector<std::string>& events);

}  // namespace mproxy::test
