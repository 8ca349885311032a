#pragma once
// TLS sessions of origins, kept so that the next connection to the same origin resumes instead of
// running a full handshake. One session per origin (the newest ticket wins); shared by all worker
// threads through the client SSL_CTX's new-session callback.

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mproxy::proxy {

class OriginSessions {
public:
    // Makes `context` hand every new client session to this cache.
    void attach(SSL_CTX* context);
    // Before a handshake: offer the saved session for `origin` (host:port), and remember the key so
    // that the tickets this connection receives are saved under it.
    void prepare(SSL* ssl, const std::string& origin);

    std::size_t size() const;

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    struct SessionFree {
        void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
    };
    using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, SessionPtr> sessions_;
};

}  // namespace mproxy::proxy
