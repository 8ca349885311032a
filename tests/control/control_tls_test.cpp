// The control plane over TLS: a client that trusts the server's CA gets through (with the token),
// a cleartext client does not, and with a client CA configured a client must present a
// certificate signed by it.

#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "tests/control/control_fixture.hpp"
#include "tests/support/test_pki.hpp"

namespace mproxy::test {
namespace {

class ControlTlsTest : public ControlFixture {
  protected:
    void SetUp() override {
        ControlFixture::SetUp();
        control_config.tls_cert_file = pki.write_file("control.pem", pki.localhost().certificate_pem);
        control_config.tls_key_file = pki.write_file("control-key.pem", pki.localhost().private_key_pem);
    }
    std::shared_ptr<grpc::Channel> tls_channel(std::optional<CertifiedKey> client_identity = std::nullopt) {
        grpc::SslCredentialsOptions options;
        options.pem_root_certs = pki.ca().certificate_pem;
        if (client_identity) {
            options.pem_cert_chain = client_identity->certificate_pem;
            options.pem_private_key = client_identity->private_key_pem;
        }
        grpc::ChannelArguments args;
        args.SetSslTargetNameOverride("localhost");
        return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(control().port()),
                                         grpc::SslCredentials(options), args);
    }
    grpc::Status server_info(const std::shared_ptr<grpc::Channel>& channel) {
        auto stub = v1::ServerService::NewStub(channel);
        v1::ServerInfo info;
        return stub->GetServerInfo(call().get(), {}, &info);
    }

    TestPki pki;
};

TEST_F(ControlTlsTest, ATrustingClientGetsThroughAndACleartextOneDoesNot) {
    restart();
    const auto status = server_info(tls_channel());
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(server_info(channel()).ok()) << "cleartext must not reach a TLS control port";
}

TEST_F(ControlTlsTest, WithAClientCaOnlyClientsWithACertificateItSignedGetThrough) {
    control_config.tls_client_ca_file = pki.ca_file();
    restart();
    EXPECT_EQ(server_info(tls_channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
    ServerCertificateSpec operator_identity{"operator", {"operator.example"}, {}};
    operator_identity.client_auth = true;
    const auto status = server_info(tls_channel(pki.issue(operator_identity)));
    EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace mproxy::test
