#pragma once
// A WatchFlows stream is a write reactor with one write in flight. Its state lives in a WatchStream
// shared by the reactor, the worker tasks and (weakly) the log's waiter, so a wake-up that races
// with the end of the stream finds either a live state or nothing, never a deleted reactor. The
// log calls the waiter on a data-plane I/O thread; it only posts to the service's worker, which
// does the reading and the encoding. A subscriber that stops reading stops being woken (its write
// never completes), the log overwrites what it did not read, and it is told so with a Gap.
//
// Each write carries every event ready at the time (a batch), and WatchFlows is served raw, with
// no message built: an unfiltered stream's batch points into the events' wire bytes, encoded once
// for every stream by the publishing thread (EncodedFlowTail, the log's sink while such a stream is
// open), between a WatchFlowsResponse's leading and trailing fields; a filtered stream writes the
// events that pass into a buffer of its own (FlowEventWire).
//
// A stream that has caught up with the log writes at most once per min_write_interval, and once
// per busy_write_interval while its batches are large: what a write costs (gRPC, the socket, the
// thread switches around it) dwarfs what an event costs, so under load events gather into batches
// of thousands, for at most 50 ms of delay; light traffic keeps the short one. (5 streams at
// 130,000 events/s: 20 ms cost mproxy's core 1.7 % more than 50 ms, in gRPC's writes and the thread
// switches around them.)

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <boost/asio/thread_pool.hpp>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "control/encoded_flow_tail.hpp"
#include "control/services.hpp"
#include "proxy/flows/flow_log.hpp"

namespace mproxy::control {

class WatchStream;

// What every stream of the service shares: the log, the worker thread that serves wake-ups, and
// the list of open streams that finish_streams() ends. It outlives every WatchStream (its
// destructor waits for the last one), so a stream may always post to the worker.
class WatchHub {
  public:
    explicit WatchHub(proxy::FlowLog& flows) : flows_(flows) {}
    ~WatchHub();

    // A WatchFlows call: the reactor gRPC drives (it deletes itself when done).
    grpc::ServerWriteReactor<grpc::ByteBuffer>* watch(const ControlContext& context,
                                                      grpc::CallbackServerContext* call,
                                                      const grpc::ByteBuffer& request);
    // Ends every open stream (the server is stopping) and refuses new ones.
    void finish_streams();

    proxy::FlowLog& flows() { return flows_; }
    EncodedFlowTail& tail() { return tail_; }
    boost::asio::thread_pool& worker() { return worker_; }

    // For the streams themselves.
    void stream_started();
    void stream_ended(const WatchStream* stream);
    // False once finish_streams() ran: the stream must end at once.
    bool add(const std::shared_ptr<WatchStream>& stream);

  private:
    proxy::FlowLog& flows_;
    EncodedFlowTail tail_{flows_};
    std::mutex mutex_;
    std::condition_variable ended_;
    std::size_t live_ = 0;
    bool closing_ = false;
    std::unordered_map<const WatchStream*, std::weak_ptr<WatchStream>> open_;
    boost::asio::thread_pool worker_{1};  // last: joined first, while the members above still exist
};

}  // namespace mproxy::control
