// Many clients at once on several worker threads: every transfer intact, each connection's own
// counters its own. Not a benchmark: nothing here is timed.

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/support/curl_transfer.hpp"
#include "tests/support/payload.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace mproxy::test {
namespace {

class ConcurrencyTest : public ProxyFixture {
  protected:
    proxy::ProxyConfig config() override {
        auto c = default_config();
        c.threads = 2;
        c.connect_action = proxy::ConnectAction::http;
        return c;
    }
};

struct ClientOutcome {
    CURLcode code = CURLE_OK;
    std::string error;
    bool intact = false;
};

TEST_F(ConcurrencyTest, ParallelClientsOfEveryKindGetTheirOwnBytes) {
    constexpr int clients = 8;
    constexpr int rounds = 5;
    std::vector<ClientOutcome> outcomes(clients * rounds);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            CurlTransfer transfer;
            transfer.via_proxy(proxy_port(), /*tunnel=*/c % 2 == 1);
            for (int r = 0; r < rounds; ++r) {
                auto& outcome = outcomes[static_cast<std::size_t>(c * rounds + r)];
                const std::uint64_t size = 256 * 1024 + static_cast<std::uint64_t>(c * 1000 + r);
                if ((c + r) % 2 == 0) {
                    transfer.url(origin.url("/bytes/" + std::to_string(size)));
                    curl_easy_setopt(transfer.handle(), CURLOPT_HTTPGET, 1L);
                    outcome.code = transfer.perform();
                    outcome.intact = transfer.body().bytes == size &&
                                     transfer.body().hash.hex() == payload_hash_hex(size);
                } else {
                    transfer.url(origin.url("/upload"));
                    transfer.upload(size, UploadFraming::content_length);
                    outcome.code = transfer.perform();
                    outcome.intact =
                        transfer.response_header("X-Body-Hash") == payload_hash_hex(size);
                }
                outcome.error = transfer.error_text();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        EXPECT_EQ(outcomes[i].code, CURLE_OK) << "transfer " << i << ": " << outcomes[i].error;
        EXPECT_TRUE(outcomes[i].intact) << "transfer " << i << " got the wrong bytes";
    }
}

TEST_F(ConcurrencyTest, EachConnectionCountsOnlyItsOwnBytes) {
    // Two raw clients with very different transfers, side by side.
    auto small = raw_client();
    auto large = raw_client();
    small.send(absolute_get(origin.authority(), "/bytes/1000"));
    large.send(absolute_get(origin.authority(), "/bytes/3000000"));
    auto small_reply = small.read_response();
    auto large_reply = large.read_response();
    ASSERT_TRUE(small_reply.response && large_reply.response)
        << small_reply.error << " / " << large_reply.error;
    const auto small_tx = small_reply.response->wire.size();
    const auto large_tx = large_reply.response->wire.size();
    auto first = wait_for_connection([&](const auto& c) { return c.client_tx == small_tx; });
    auto second = wait_for_connection([&](const auto& c) { return c.client_tx == large_tx; });
    ASSERT_TRUE(first);
    ASSERT_TRUE(second);
    EXPECT_NE(first->id, second->id);
    EXPECT_LT(first->upstream_rx, 2000u) << describe(*first);
    EXPECT_GT(second->upstream_rx, 3000000u) << describe(*second);
}

}  // namespace
}  // namespace mproxy::test
