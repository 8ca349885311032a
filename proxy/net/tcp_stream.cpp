#include "proxy/net/tcp_stream.hpp"

#include <boost/asio/write.hpp>

namespace mproxy::proxy {

TcpStream::TcpStream(tcp::socket socket) : socket_(std::move(socket)) {
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);  // heads and 1xx must not wait for Nagle
}

awaitable<IoResult> TcpStream::read_some(asio::mutable_buffer buffer) {
    auto [ec, n] = co_await socket_.async_read_some(buffer, use_tuple);
    count_rx(n);
    co_return IoResult{ec, n};
}

awaitable<IoResult> TcpStream::write(std::span<const asio::const_buffer> buffers) {
    auto [ec, n] = co_await asio::async_write(socket_, buffers, use_tuple);
    count_tx(n);
    co_return IoResult{ec, n};
}

awaitable<error_code> TcpStream::wait_readable() {
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
    co_return ec;
}

void TcpStream::shutdown_send_now() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<> TcpStream::shutdown_send() {
    shutdown_send_now();
    co_return;
}

void TcpStream::cancel() {
    error_code ignored;
    socket_.cancel(ignored);
}

void TcpStream::close() {
    error_code ignored;
    socket_.close(ignored);
}

void TcpStream::reset() {
    error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
}

}  // namespace mproxy::proxy
