#include "proxy/upstream/origin_sessions.hpp"

namespace mproxy::proxy {

namespace {
// ex_data slots: the cache on the SSL_CTX, the origin key on each SSL.
int context_slot() {
    static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}
void free_key(void*, void* key, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(key); }
int connection_slot() {
    // The key string is owned by the SSL and freed with it (OpenSSL's ex_data free callback).
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_key);
    return slot;
}
}  // namespace

void OriginSessions::attach(SSL_CTX* context) {
    SSL_CTX_set_ex_data(context, context_slot(), this);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(context, &OriginSessions::on_new_session);
}

void OriginSessions::prepare(SSL* ssl, const std::string& origin) {
    SSL_set_ex_data(ssl, connection_slot(), std::make_unique<std::string>(origin).release());
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(origin);
    if (it != sessions_.end()) SSL_set_session(ssl, it->second.get());
}

int OriginSessions::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<OriginSessions*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_slot()));
    const auto* origin = static_cast<const std::string*>(SSL_get_ex_data(ssl, connection_slot()));
    if (!self || !origin || !SSL_SESSION_is_resumable(session)) return 0;
    std::lock_guard lock(self->mutex_);
    self->sessions_[*origin] = SessionPtr(session);  // we keep the reference OpenSSL hands us
    return 1;
}

std::size_t OriginSessions::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace mproxy::proxy
