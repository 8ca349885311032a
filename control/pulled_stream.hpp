#pragma once
// A server stream whose messages are made one at a time, each when the previous one is written:
// what it holds at once is one message, whatever the whole stream adds up to (a body, a HAR
// export), and a slow reader slows only its own stream.

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <exception>
#include <functional>
#include <utility>

namespace mproxy::control {

template <class Message>
class PulledStream final : public grpc::ServerWriteReactor<Message> {
  public:
    // Fills the next message and says whether it is the last; a status other than OK ends the
    // stream with it instead (what was written before stays written).
    using Next = std::function<grpc::Status(Message& out, bool& last)>;

    // Writes from `next` until its last message; the reactor deletes itself when gRPC is done.
    static grpc::ServerWriteReactor<Message>* start(Next next) {
        auto* stream = new PulledStream(std::move(next));
        stream->pull();
        return stream;
    }
    // A stream that ends at once with `status` (a refused call).
    static grpc::ServerWriteReactor<Message>* fail(grpc::Status status) {
        auto* stream = new PulledStream({});
        stream->Finish(std::move(status));
        return stream;
    }

  private:
    explicit PulledStream(Next next) : next_(std::move(next)) {}

    void OnWriteDone(bool ok) override {
        if (!ok) {
            this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
        } else if (last_) {
            this->Finish(grpc::Status::OK);
        } else {
            pull();
        }
    }
    void OnDone() override { delete this; }

    void pull() {
        message_.Clear();
        grpc::Status status;
        try {
            status = next_(message_, last_);
        } catch (const std::exception& e) {
            status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
        }
        if (status.ok())
            this->StartWrite(&message_);
        else
            this->Finish(std::move(status));
    }

    Next next_;
    Message message_;
    bool last_ = false;
};

}  // namespace mproxy::control
