#pragma once
// A complete TLS handshake in memory (a BIO pair, no sockets) between a client that trusts one CA
// and a server context under test, to see what a real client would see.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy::testing_support {

using SslPtr = std::unique_ptr<SSL, OpenSslFree<SSL_free>>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpenSslFree<SSL_SESSION_free>>;

struct ClientOptions {
    std::string server_name{};  // SNI and the name the client verifies
    bool name_is_ip = false;
    std::vector<std::string> alpn{};  // offered protocols, none if empty
    int max_version = 0;              // 0: the library's highest
    SSL_SESSION* resume = nullptr;    // a session to offer for resumption
};

struct HandshakeOutcome {
    bool completed = false;
    std::string failure;
    std::string alpn;  // what the server selected, empty if nothing
    int version = 0;
    bool resumed = false;
    SslSessionPtr session;
};

inline HandshakeOutcome handshake(SSL_CTX* server_context, X509* trusted_ca,
                                  const ClientOptions& options) {
    HandshakeOutcome outcome;
    SslCtxPtr client_context(SSL_CTX_new(TLS_client_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_context.get()), trusted_ca);
    SSL_CTX_set_verify(client_context.get(), SSL_VERIFY_PEER, nullptr);
    if (options.max_version != 0) {
        SSL_CTX_set_min_proto_version(client_context.get(), 0);
        SSL_CTX_set_max_proto_version(client_context.get(), options.max_version);
        SSL_CTX_set_security_level(client_context.get(), 0);
    }

    SslPtr client(SSL_new(client_context.get()));
    SslPtr server(SSL_new(server_context));
    BIO* client_end = nullptr;
    BIO* server_end = nullptr;
    BIO_new_bio_pair(&client_end, 0, &server_end, 0);
    SSL_set_bio(client.get(), client_end, client_end);
    SSL_set_bio(server.get(), server_end, server_end);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());

    if (options.name_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(client.get()), options.server_name.c_str());
    } else {
        SSL_set_tlsext_host_name(client.get(), options.server_name.c_str());
        SSL_set1_host(client.get(), options.server_name.c_str());
    }
    if (!options.alpn.empty()) {
        std::string wire;
        for (const auto& protocol : options.alpn) {
            wire += static_cast<char>(protocol.size());
            wire += protocol;
        }
        SSL_set_alpn_protos(client.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
    }
    if (options.resume != nullptr) SSL_set_session(client.get(), options.resume);

    ERR_clear_error();
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
        for (auto [ssl, done] :
             {std::pair{client.get(), &client_done}, {server.get(), &server_done}}) {
            if (*done) continue;
            const int result = SSL_do_handshake(ssl);
            if (result == 1) {
                *done = true;
                continue;
            }
            const int error = SSL_get_error(ssl, result);
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
                outcome.failure = openssl_failure(ssl == client.get() ? "client" : "server");
                const long verify = SSL_get_verify_result(client.get());
                if (verify != X509_V_OK)
                    outcome.failure +=
                        std::string(" (verify: ") + X509_verify_cert_error_string(verify) + ")";
                return outcome;
            }
        }
    }
    outcome.completed = client_done && server_done;
    if (!outcome.completed) outcome.failure = "handshake did not finish";
    const unsigned char* selected = nullptr;
    unsigned int selected_length = 0;
    SSL_get0_alpn_selected(client.get(), &selected, &selected_length);
    if (selected != nullptr)
        outcome.alpn.assign(reinterpret_cast<const char*>(selected), selected_length);
    outcome.version = SSL_version(client.get());
    outcome.resumed = SSL_session_reused(client.get()) == 1;
    outcome.session.reset(SSL_get1_session(client.get()));
    // Freed without a close_notify, OpenSSL would mark the session not resumable.
    SSL_shutdown(client.get());
    SSL_shutdown(server.get());
    return outcome;
}

}  // namespace mproxy::proxy::testing_support
