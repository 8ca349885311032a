#include "proxy/tls/cert_minter.hpp"

#include <condition_variable>
#include <exception>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "proxy/tls/leaf_certificate.hpp"
#include "proxy/tls/leaf_name.hpp"
#include "proxy/tls/server_tls_context.hpp"

namespace mproxy::proxy {

// One mint under way; callers asking for the same name meanwhile wait on `finished`.
struct CertMinter::InFlight {
    std::condition_variable finished;
    bool done = false;
    std::shared_ptr<const MintedLeaf> leaf;
    std::exception_ptr error;
};

namespace {

std::shared_ptr<EVP_PKEY> generate_leaf_key() {
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error(openssl_failure("cannot generate the leaf key"));
    return std::shared_ptr<EVP_PKEY>(std::move(key));
}

std::shared_ptr<const MintedLeaf> mint(const CertificateAuthority& ca,
                                       const std::shared_ptr<EVP_PKEY>& key, const LeafName& name) {
    ERR_clear_error();
    X509Ptr certificate =
        build_leaf_certificate(ca, key.get(), name, std::chrono::system_clock::now());
    auto context = make_leaf_server_context(certificate.get(), ca.certificate(), key.get());
    return std::make_shared<const MintedLeaf>(MintedLeaf{name.text, std::move(certificate),
                                                         share_certificate(ca.certificate()), key,
                                                         std::move(context)});
}

}  // namespace

CertMinter::CertMinter(std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity)
    : leaf_key_(generate_leaf_key()), capacity_(capacity), ca_(std::move(ca)) {
    if (!ca_) throw std::invalid_argument("CertMinter needs a CA");
    if (capacity_ == 0) throw std::invalid_argument("the leaf cache needs room for one leaf");
    counters_.capacity = capacity_;
}

CertMinter::~CertMinter() = default;

std::shared_ptr<const MintedLeaf> CertMinter::cached(const std::string& name) {
    const auto parsed = parse_leaf_name(name);
    if (!parsed) return nullptr;
    const std::lock_guard lock(mutex_);
    return find_locked(parsed->text);
}

std::shared_ptr<const MintedLeaf> CertMinter::leaf_for(const std::string& name) {
    const auto parsed = parse_leaf_name(name);
    if (!parsed)
        throw std::invalid_argument("no certificate for \"" + name.substr(0, 300) +
                                    "\": not a DNS name or an IP address");

    Recency evicted;  // declared before the lock: freed after it is released
    const auto flight = std::make_shared<InFlight>();  // used if this call is the one to mint
    std::unique_lock lock(mutex_);
    if (auto leaf = find_locked(parsed->text)) return leaf;
    ++counters_.misses;

    if (const auto [slot, first] = in_flight_.try_emplace(parsed->text, flight); !first) {
        ++counters_.coalesced;
        const std::shared_ptr<InFlight> joined = slot->second;
        joined->finished.wait(lock, [&] { return joined->done; });
        if (joined->error) std::rethrow_exception(joined->error);
        return joined->leaf;
    }
    const std::shared_ptr<const CertificateAuthority> ca = ca_;
    const std::uint64_t generation = ca_generation_;
    lock.unlock();

    const auto started = std::chrono::steady_clock::now();
    std::shared_ptr<const MintedLeaf> leaf;
    std::exception_ptr error;
    try {
        leaf = mint(*ca, leaf_key_, *parsed);
    } catch (...) {
        error = std::current_exception();
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;

    lock.lock();
    // Waiters are released however this block ends, even if caching the leaf throws.
    struct ReleaseWaiters {
        InFlight& flight;
        ~ReleaseWaiters() { flight.finished.notify_all(); }
    } release{*flight};
    flight->done = true;
    flight->leaf = leaf;
    flight->error = error;
    // replace_ca may have dropped this entry, and a newer mint for the name may have taken it.
    if (const auto mine = in_flight_.find(parsed->text);
        mine != in_flight_.end() && mine->second == flight)
        in_flight_.erase(mine);
    if (error) {
        ++counters_.mint_failures;
        std::rethrow_exception(error);
    }
    ++counters_.mints;
    counters_.total_mint_time += std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed);
    mint_durations_.observe(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
    if (generation == ca_generation_) insert_locked(leaf, evicted);
    return leaf;
}

void CertMinter::replace_ca(std::shared_ptr<const CertificateAuthority> ca) {
    if (!ca) throw std::invalid_argument("CertMinter needs a CA");
    Recency dropped;
    {
        const std::lock_guard lock(mutex_);
        ca_ = std::move(ca);
        ++ca_generation_;
        dropped = take_entries_locked();
        // Callers from now on mint afresh with the new CA; those already waiting keep waiting on
        // the mint they joined, which holds its own reference.
        in_flight_.clear();
    }
}

std::shared_ptr<const CertificateAuthority> CertMinter::ca() const {
    const std::lock_guard lock(mutex_);
    return ca_;
}

void CertMinter::purge() {
    Recency dropped;
    const std::lock_guard lock(mutex_);
    dropped = take_entries_locked();
}

LeafCacheStats CertMinter::stats() const {
    const std::lock_guard lock(mutex_);
    LeafCacheStats stats = counters_;
    stats.entries = entries_.size();
    stats.mint_durations = mint_durations_.snapshot();
    return stats;
}

std::shared_ptr<const MintedLeaf> CertMinter::find_locked(const std::string& name) {
    const auto found = entries_.find(name);
    if (found == entries_.end()) return nullptr;
    recency_.splice(recency_.begin(), recency_, found->second);
    ++counters_.hits;
    return found->second->leaf;
}

void CertMinter::insert_locked(std::shared_ptr<const MintedLeaf> leaf, Recency& evicted) {
    if (const auto found = entries_.find(leaf->name); found != entries_.end()) {
        found->second->leaf = std::move(leaf);
        recency_.splice(recency_.begin(), recency_, found->second);
        return;
    }
    recency_.push_front(Entry{leaf->name, std::move(leaf)});
    try {
        entries_.emplace(recency_.front().name, recency_.begin());
    } catch (...) {
        recency_.pop_front();
        throw;
    }
    while (entries_.size() > capacity_) {
        entries_.erase(recency_.back().name);
        evicted.splice(evicted.end(), recency_, std::prev(recency_.end()));
        ++counters_.evictions;
    }
}

CertMinter::Recency CertMinter::take_entries_locked() {
    entries_.clear();
    return std::exchange(recency_, Recency{});
}

}  // namespace mproxy::proxy
