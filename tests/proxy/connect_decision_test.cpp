#include "proxy/connect_decision.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

ConnectRequest request_to(std::string host, std::uint16_t port) {
    return ConnectRequest{Authority{std::move(host), port}, asio::ip::make_address("192.0.2.10")};
}

TEST(DecideConnect, TheDefaultActionApplies) {
    for (auto action : {ConnectAction::tunnel, ConnectAction::http, ConnectAction::reject}) {
        const auto decision = decide_connect(request_to("example.com", 443), action);
        EXPECT_EQ(decision.action, action);
    }
}

TEST(DecideConnect, ReasonNamesTheDefaultAndItsAction) {
    const auto decision = decide_connect(request_to("example.com", 443), ConnectAction::reject);
    EXPECT_NE(decision.reason.find("default"), std::string::npos) << decision.reason;
    EXPECT_NE(decision.reason.find("reject"), std::string::npos) << decision.reason;
    EXPECT_EQ(decision.reject_status, 403u);
}

TEST(DecideConnect, SameRequestSameDecision) {
    const auto a = decide_connect(request_to("::1", 8443), ConnectAction::http);
    const auto b = decide_connect(request_to("::1", 8443), ConnectAction::http);
    EXPECT_EQ(a.action, b.action);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.reject_status, b.reject_status);
}

}  // namespace
}  // namespace mproxy::proxy
