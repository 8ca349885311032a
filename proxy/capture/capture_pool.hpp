#pragma once
// Capture objects kept for reuse by one I/O thread: an exchange a policy covers takes one, and
// gives it back once its record is handed to the store, so that the buffers serve exchange after
// exchange (an allocation and a free of each fewer per captured exchange) while an idle
// connection keeps none. Worker thread only, like everything the worker owns.

#include <memory>
#include <vector>

#include "proxy/capture/exchange_capture.hpp"

namespace mproxy::proxy {

class CapturePool {
  public:
    std::unique_ptr<ExchangeCapture> take() {
        if (spare_.empty()) return std::make_unique<ExchangeCapture>();
        auto capture = std::move(spare_.back());
        spare_.pop_back();
        return capture;
    }
    void give_back(std::unique_ptr<ExchangeCapture> capture) {
        if (capture && spare_.size() < max_kept) spare_.push_back(std::move(capture));
    }

  private:
    // As many as exchanges a busy worker has in flight at once, about; more are freed.
    static constexpr std::size_t max_kept = 64;
    std::vector<std::unique_ptr<ExchangeCapture>> spare_;
};

}  // namespace mproxy::proxy
