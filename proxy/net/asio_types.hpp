#pragma once
// The few Asio and Beast names every data-plane file uses, spelled once.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>

namespace mproxy::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady_clock = std::chrono::steady_clock;

// Completion token for operations whose failures are expected outcomes: the error comes back as a
// value instead of an exception.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

template <class T = void>
using awaitable = asio::awaitable<T>;

}  // namespace mproxy::proxy
