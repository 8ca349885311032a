#include "proxy/capture/redaction.hpp"

#include <gtest/gtest.h>

namespace mproxy::proxy {
namespace {

TEST(Redaction, CredentialValuesBecomeTheirLengthWhateverTheNamesCase) {
    HeaderFields fields;
    fields.add("Host", "example.com");
    fields.add("authorization", "Bearer abc.def.ghi");
    fields.add("COOKIE", "a=1");
    fields.add("Cookie", "b=22");
    fields.add("Proxy-Authorization", "");
    fields.add("X-Api-Key", "k-123");
    EXPECT_EQ(redact_fields(fields, default_redacted_fields()), 4u);
    const auto& all = fields.all();
    EXPECT_EQ(all[0].value, "example.com");
    EXPECT_EQ(all[1].name, "authorization") << "names stay as sent";
    EXPECT_EQ(all[1].value, "[redacted: 18 bytes]");
    EXPECT_EQ(all[2].value, "[redacted: 3 bytes]");
    EXPECT_EQ(all[3].value, "[redacted: 4 bytes]");
    EXPECT_EQ(all[4].value, "[redacted: 0 bytes]");
    EXPECT_EQ(all[5].value, "k-123") << "not in the default list";
}

TEST(Redaction, ARulesOwnListReplacesTheDefault) {
    HeaderFields fields;
    fields.add("Authorization", "Basic dXNlcjpwYXNz");
    fields.add("X-Api-Key", "k-123");
    EXPECT_EQ(redact_fields(fields, {"x-api-key"}), 1u);
    EXPECT_EQ(fields.all()[0].value, "Basic dXNlcjpwYXNz") << "a rule may choose to see it";
    EXPECT_EQ(fields.all()[1].value, "[redacted: 5 bytes]");
    EXPECT_EQ(redact_fields(fields, {}), 0u);
}

}  // namespace
}  // namespace mproxy::proxy
