#include "proxy/tls/tls_interception.hpp"

#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/tls/ca_store.hpp"

namespace mproxy::proxy {

namespace {

std::string host_name() {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    return host;
}

std::shared_ptr<const CertificateAuthority> load_configured_ca(const InterceptionConfig& config) {
    if (!config.ca_cert_file.empty() || !config.ca_key_file.empty()) {
        if (config.ca_cert_file.empty() || config.ca_key_file.empty())
            throw CaError("--ca-cert and --ca-key go together: give both or neither");
        return load_ca_files(config.ca_cert_file, config.ca_key_file);
    }
    if (config.state_dir.empty())
        return CertificateAuthority::generate(host_name());  // lives in memory only
    return load_or_create_ca(config.state_dir);
}

void configure_origin_context(asio::ssl::context& context, const InterceptionConfig& config, bool verify) {
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
    static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(context.native_handle(), alpn, sizeof alpn);
    if (!verify) {
        context.set_verify_mode(asio::ssl::verify_none);
        return;
    }
    context.set_default_verify_paths();
    if (!config.upstream_ca_file.empty()) {
        error_code ec;
        context.load_verify_file(config.upstream_ca_file, ec);
        if (ec) throw CaError("--upstream-ca " + config.upstream_ca_file + ": " + ec.message());
    }
    context.set_verify_mode(asio::ssl::verify_peer);
}

}  // namespace

TlsInterception::TlsInterception(const InterceptionConfig& config)
    : state_dir_(config.state_dir),
      ca_cert_file_(config.ca_cert_file),
      persist_(config.ca_cert_file.empty() && !config.state_dir.empty()),
      insecure_(config.upstream_insecure),
      minter_(load_configured_ca(config), config.leaf_cache_size) {
    configure_origin_context(verifying_, config, true);
    configure_origin_context(trusting_, config, false);
    // Resume sessions with origins: later connections to one origin skip the full handshake.
    origin_sessions_.attach(verifying_.native_handle());
    origin_sessions_.attach(trusting_.native_handle());
}

TlsInterception::~TlsInterception() {
    mint_pool_.stop();
    mint_pool_.join();
}

awaitable<std::shared_ptr<const MintedLeaf>> TlsInterception::leaf_for(const std::string& name) {
    if (auto leaf = minter_.cached(name)) co_return leaf;
    // The mint runs on the pool; this coroutine resumes on its own executor when it is done. (A
    // named lambda taking the name as a parameter: GCC 12 mishandles capturing temporaries in
    // co_await.)
    auto mint = [this](std::string n) -> awaitable<std::shared_ptr<const MintedLeaf>> {
        co_return minter_.leaf_for(n);
    };
    co_return co_await asio::co_spawn(mint_pool_, mint(name), asio::use_awaitable);
}

std::string TlsInterception::ca_pem() const {
    return minter_.ca()->certificate_pem();
}

void TlsInterception::rotate_ca() {
    auto ca = CertificateAuthority::generate(host_name());
    if (persist_) save_ca(state_dir_, *ca);
    minter_.replace_ca(std::move(ca));
}

void TlsInterception::import_ca(std::string_view cert_pem, std::string_view key_pem) {
    auto ca = CertificateAuthority::from_pem(cert_pem, key_pem);
    if (persist_) save_ca(state_dir_, *ca);
    minter_.replace_ca(std::move(ca));
}

}  // namespace mproxy::proxy
