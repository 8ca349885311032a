#pragma once
// Leaf certificates for intercepted names, each with its server TLS context, minted on demand
// and kept in a bounded LRU cache. All leaves share one EC P-256 key made at construction, so a
// mint costs one signature and one context rather than a key generation.
//
// Thread-safe. The lock covers only cache bookkeeping, never minting, and concurrent requests for
// one uncached name mint once: the first caller mints, the others wait for its result. Minting
// blocks for a fraction of a millisecond (see stats().total_mint_time), so I/O threads call
// cached() and leave misses to leaf_for() on a worker thread.

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proxy/accounting/latency_histogram.hpp"
#include "proxy/tls/certificate_authority.hpp"
#include "proxy/tls/openssl_handles.hpp"

namespace mproxy::proxy {

// Immutable once minted; shared by every connection for `name`, and valid for as long as one of
// them holds it, even after the minter dropped it or switched to another CA.
struct MintedLeaf {
    std::string name;  // canonical: lower-case DNS name or the IP address as inet_ntop writes it
    X509Ptr certificate;
    X509Ptr ca_certificate;         // the issuer, sent as the chain
    std::shared_ptr<EVP_PKEY> key;  // the minter's shared leaf key
    // Leaf + chain + key, TLS >= 1.2, ALPN http/1.1 only, server session cache. `mutable`
    // because asio::ssl::stream takes a non-const context although it only creates an SSL from
    // it; OpenSSL synchronises that and the session cache internally. Do not reconfigure it.
    mutable boost::asio::ssl::context server_context;
};

struct LeafCacheStats {
    std::uint64_t hits = 0;       // leaf_for() or cached() answered from the cache
    std::uint64_t misses = 0;     // leaf_for() not answered from the cache (cached() misses are
                                  // not counted: the caller follows them with leaf_for())
    std::uint64_t coalesced = 0;  // misses that waited for another caller's mint of the name
    std::uint64_t mints = 0;
    std::uint64_t mint_failures = 0;
    std::size_t entries = 0;
    std::size_t capacity = 0;
    std::chrono::nanoseconds total_mint_time{0};
    std::uint64_t evictions = 0;  // leaves dropped to stay within capacity (not purges or rotations)
    HistogramSnapshot mint_durations;  // successful mints
};

class CertMinter {
  public:
    // `capacity` leaves at most (at least 1); throws std::invalid_argument otherwise.
    CertMinter(std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity);
    ~CertMinter();
    CertMinter(const CertMinter&) = delete;
    CertMinter& operator=(const CertMinter&) = delete;

    // The leaf for `name` (a DNS name or an IPv4/IPv6 literal without brackets), minting it if
    // needed; may block. Throws std::invalid_argument for a name that is neither, and
    // std::runtime_error if OpenSSL fails (nothing is cached then).
    std::shared_ptr<const MintedLeaf> leaf_for(const std::string& name);
    // Never blocks on a mint: the cached leaf, or null.
    std::shared_ptr<const MintedLeaf> cached(const std::string& name);

    // New leaves come from `ca` from now on; the cache is emptied. Leaves already handed out, and
    // those being minted for callers that asked before the swap, keep the old CA.
    void replace_ca(std::shared_ptr<const CertificateAuthority> ca);
    std::shared_ptr<const CertificateAuthority> ca() const;
    void purge();
    LeafCacheStats stats() const;

  private:
    struct InFlight;
    struct Entry {
        std::string name;
        std::shared_ptr<const MintedLeaf> leaf;
    };
    using Recency = std::list<Entry>;  // most recently used first

    std::shared_ptr<const MintedLeaf> find_locked(const std::string& name);
    // Evicted entries move to `evicted`, for the caller to free once the lock is released.
    void insert_locked(std::shared_ptr<const MintedLeaf> leaf, Recency& evicted);
    // Empties the cache, handing back its entries so they are freed after the lock is released.
    Recency take_entries_locked();

    const std::shared_ptr<EVP_PKEY> leaf_key_;
    const std::size_t capacity_;

    mutable std::mutex mutex_;
    std::shared_ptr<const CertificateAuthority> ca_;
    std::uint64_t ca_generation_ = 0;  // bumped by replace_ca: older mints are not cached
    Recency recency_;
    std::unordered_map<std::string, Recency::iterator> entries_;
    std::unordered_map<std::string, std::shared_ptr<InFlight>> in_flight_;
    LeafCacheStats counters_;
    // Mint times for /metrics: 0.1 ms to 1 s (an EC signature takes ~0.2 ms, an RSA CA's several ms).
    LatencyHistogram mint_durations_{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1};
};

}  // namespace mproxy::proxy
