#include "clients/health_check.hpp"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <future>
#include <vector>

namespace mproxy::ctl {

namespace {

constexpr const char* check_method = "/grpc.health.v1.Health/Check";

// HealthCheckResponse is one field: `ServingStatus status = 1` (a varint).
std::string serving_status(const grpc::ByteBuffer& response) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response.Dump(&slices).ok())
        for (const auto& slice : slices)
            bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    unsigned value = 0;  // absent: 0, UNKNOWN
    if (bytes.size() >= 2 && bytes[0] == 0x08) value = static_cast<unsigned char>(bytes[1]);
    switch (value) {
        case 1:
            return "SERVING";
        case 2:
            return "NOT_SERVING";
        case 3:
            return "SERVICE_UNKNOWN";
        default:
            return "UNKNOWN";
    }
}

}  // namespace

std::string check_health(const ControlChannel& replica) {
    grpc::GenericStub stub(replica.channel());
    grpc::Slice empty_message("", 0);  // HealthCheckRequest{service: ""}: the server as a whole
    grpc::ByteBuffer request(&empty_message, 1);
    grpc::ByteBuffer response;
    auto context = replica.context();
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), check_method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    const auto status = done.get_future().get();
    if (!status.ok()) return "unreachable: " + status.error_message();
    return serving_status(response);
}

}  // namespace mproxy::ctl
