#pragma once
// Runs one asynchronous operation of a blocking-style test client to completion on its own
// io_context, within the step deadline: on time-out the stream's socket is closed, which completes
// the operation, and the result is timed_out.

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <optional>

#include "tests/support/deadline.hpp"

namespace mproxy::test {

template <class Stream, class Initiate>
boost::system::error_code run_with_deadline(boost::asio::io_context& io, Stream& stream, Initiate&& initiate) {
    std::optional<boost::system::error_code> result;
    initiate([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run_for(step_timeout);
    if (result) return *result;
    boost::system::error_code ignored;
    boost::beast::get_lowest_layer(stream).close(ignored);  // completes the pending operation
    io.restart();
    io.run();
    return boost::asio::error::timed_out;
}

}  // namespace mproxy::test
