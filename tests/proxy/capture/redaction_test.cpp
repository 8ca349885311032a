#include "proxy/capture/redaction.hpp"

#include <gtest/gtest.h>

#include "proxy/capture/capture_codec.hpp"

namespace mproxy::proxy {
namespace {

// The request's fields as a detail record written with `names` redacted keeps them.
HeaderFields stored(const HeaderFields& fields, const std::vector<std::string>& names) {
    const RequestHead head{.method = "GET", .target = "/", .version_minor = 1, .fields = fields};
    std::string record;
    CaptureDetailWriter writer(record);
    writer.begin(1, "127.0.0.1:1", ConnectionMode::plain, "example.com", 80);
    const RedactionList redacted(names);
    writer.request(head, {true, &redacted});
    writer.end({});
    CapturedExchange back;
    EXPECT_TRUE(decode_capture_detail(record, back));
    return back.request.fields;
}

TEST(Redaction, CredentialValuesBecomeTheirLengthWhateverTheNamesCase) {
    HeaderFields fields;
    fields.add("Host", "example.com");
    fields.add("authorization", "Bearer abc.def.ghi");
    fields.add("COOKIE", "a=1");
    fields.add("Cookie", "b=22");
    fields.add("Proxy-Authorization", "");
    fields.add("X-Api-Key", "k-123");
    const auto kept = stored(fields, default_redacted_fields());
    const auto& all = kept.all();
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all[0].value, "example.com");
    EXPECT_EQ(all[1].name, "authorization") << "names stay as sent";
    EXPECT_EQ(all[1].value, "[redacted: 18 bytes]");
    EXPECT_EQ(all[2].value, "[redacted: 3 bytes]");
    EXPECT_EQ(all[3].value, "[redacted: 4 bytes]");
    EXPECT_EQ(all[4].value, "[redacted: 0 bytes]");
    EXPECT_EQ(all[5].value, "k-123") << "not in the default list";
    EXPECT_EQ(fields.all()[1].value, "Bearer abc.def.ghi") << "the head itself is never changed";
}

TEST(Redaction, ARulesOwnListReplacesTheDefault) {
    HeaderFields fields;
    fields.add("Authorization", "Basic dXNlcjpwYXNz");
    fields.add("X-Api-Key", "k-123");
    const auto kept = stored(fields, {"x-api-key"});
    EXPECT_EQ(kept.all()[0].value, "Basic dXNlcjpwYXNz") << "a rule may choose to see it";
    EXPECT_EQ(kept.all()[1].value, "[redacted: 5 bytes]");
    const auto unredacted = stored(fields, {});
    EXPECT_EQ(unredacted.all()[1].value, "k-123");
    EXPECT_TRUE(is_redacted("set-COOKIE", default_redacted_fields()));
    EXPECT_FALSE(is_redacted("Cookie2", default_redacted_fields()));
}

}  // namespace
}  // namespace mproxy::proxy
