#pragma once
// The TCP layer under a TLS stream: forwards to the connection's socket and counts the bytes that
// cross it, so that TLS connections report wire bytes like plain ones. Completion handlers run on
// the socket's executor, the connection's single-threaded worker.

#include <boost/asio/async_result.hpp>

#include "proxy/net/tcp_stream.hpp"

namespace mproxy::proxy {

class CountedSocket {
public:
    using executor_type = tcp::socket::executor_type;
    using lowest_layer_type = tcp::socket::lowest_layer_type;

    explicit CountedSocket(TcpStream& tcp) : tcp_(&tcp) {}

    executor_type get_executor() { return tcp_->socket().get_executor(); }
    lowest_layer_type& lowest_layer() { return tcp_->socket().lowest_layer(); }
    const lowest_layer_type& lowest_layer() const { return tcp_->socket().lowest_layer(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [tcp = tcp_](auto handler, const MutableBuffers& b) {
                tcp->socket().async_read_some(b, [tcp, h = std::move(handler)](error_code ec, std::size_t n) mutable {
                    tcp->note_received(n);
                    std::move(h)(ec, n);
                });
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [tcp = tcp_](auto handler, const ConstBuffers& b) {
                tcp->socket().async_write_some(b, [tcp, h = std::move(handler)](error_code ec, std::size_t n) mutable {
                    tcp->note_sent(n);
                    std::move(h)(ec, n);
                });
            },
            token, buffers);
    }

private:
    TcpStream* tcp_;
};

}  // namespace mproxy::proxy
