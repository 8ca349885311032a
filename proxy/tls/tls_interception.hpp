#pragma once
// Everything TLS interception shares across connections: the CA and the leaf minter (with a small
// thread pool, so that minting never runs on an I/O thread), and the client TLS contexts used
// towards origins. One per ProxyServer; its parts are safe to use from every worker thread.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>

#include "proxy/net/asio_types.hpp"
#include "proxy/tls/cert_minter.hpp"
#include "proxy/tls/certificate_authority.hpp"
#include "proxy/tls/interception_config.hpp"
#include "proxy/upstream/origin_sessions.hpp"

namespace mproxy::proxy {

class TlsInterception {
  public:
    // Loads or creates the CA as the configuration says; throws CaError with the reason.
    explicit TlsInterception(const InterceptionConfig& config);
    ~TlsInterception();

    // The leaf for `name`: from the cache on the calling thread, or minted on the mint pool.
    awaitable<std::shared_ptr<const MintedLeaf>> leaf_for(const std::string& name);

    // The context for TLS towards origins: verifying (system store + the configured extra anchor)
    // unless the configuration or the caller says not to.
    asio::ssl::context& upstream_context(bool verify) { return verify ? verifying_ : trusting_; }
    OriginSessions& origin_sessions() { return origin_sessions_; }
    bool verify_upstream_by_default() const { return !insecure_; }

    std::string ca_pem() const;
    CertMinter& minter() { return minter_; }
    // The file the CA was loaded from (--ca-cert); empty when it lives in the state directory (or
    // only in memory, without one).
    const std::string& ca_cert_file() const { return ca_cert_file_; }
    // Rotate (new CA) or import (PEM pair); persisted in the state directory when the CA lives
    // there. New handshakes see the new CA at once; live connections keep their leaf.
    void rotate_ca();
    void import_ca(std::string_view cert_pem, std::string_view key_pem);

  private:
    const std::string state_dir_;
    const std::string ca_cert_file_;
    const bool persist_;
    const bool insecure_;
    CertMinter minter_;
    asio::thread_pool mint_pool_{1};
    asio::ssl::context verifying_{asio::ssl::context::tls_client};
    asio::ssl::context trusting_{asio::ssl::context::tls_client};
    OriginSessions origin_sessions_;  // shared by both contexts: the key says which origin
};

}  // namespace mproxy::proxy
