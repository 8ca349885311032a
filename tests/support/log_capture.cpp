#include "tests/support/log_capture.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace mproxy::test {

struct LogCapture::Sink final : spdlog::sinks::base_sink<std::mutex> {
    explicit Sink(std::shared_ptr<State> state) : state(std::move(state)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        {
            std::lock_guard lock(state->mutex);
            state->lines.emplace_back(message.payload.data(), message.payload.size());
        }
        state->logged.notify_all();
    }
    void flush_() override {}

  private:
    std::shared_ptr<State> state;
};

LogCapture::LogCapture() : state_(std::make_shared<State>()), previous_(spdlog::default_logger()) {
    auto sinks = previous_->sinks();
    sinks.push_back(std::make_shared<Sink>(state_));
    auto logger = std::make_shared<spdlog::logger>(previous_->name(), sinks.begin(), sinks.end());
    logger->set_level(previous_->level());
    spdlog::set_default_logger(std::move(logger));
}

LogCapture::~LogCapture() {
    spdlog::set_default_logger(previous_);
}

std::vector<std::string> LogCapture::lines() const {
    std::lock_guard lock(state_->mutex);
    return state_->lines;
}

bool LogCapture::wait_for(std::string_view part, Deadline deadline) const {
    std::unique_lock lock(state_->mutex);
    return state_->logged.wait_until(lock, deadline, [&] {
        for (const auto& line : state_->lines)
            if (line.find(part) != std::string::npos) return true;
        return false;
    });
}

}  // namespace mproxy::test
