#include "proxy/session/tunnel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "proxy/session/splice_relay.hpp"

namespace mproxy::proxy {

namespace {

using namespace asio::experimental::awaitable_operators;
constexpr std::size_t tunnel_chunk = 64 * 1024;

struct Direction {
    ByteStream& from;
    beast::flat_buffer& buffer;
    ByteStream& to;
    const char* name;
    std::uint64_t bytes = 0;
    std::string error;
    const std::function<void(std::string_view)>* tap = nullptr;
};

// Between two plain TCP sockets the bytes go through a kernel pipe, never through user space.
awaitable<bool> splice_direction(Direction& d, Deadline& deadline, steady_clock::duration idle_timeout) {
    auto* from = dynamic_cast<TcpStream*>(&d.from);
    auto* to = dynamic_cast<TcpStream*>(&d.to);
    if (!from || !to) co_return false;
    const auto r = co_await splice_relay(*from, *to, splice_until_end, deadline, idle_timeout);
    d.bytes += r.bytes;
    if (r.write_error) {
        d.error = std::string(d.name) + " write: " + r.write_error.message();
        d.from.close();
    } else if (r.read_error) {
        if (r.read_error != asio::error::operation_aborted)
            d.error = std::string(d.name) + " read: " + r.read_error.message();
        d.to.reset();
    } else {
        co_await d.to.shutdown_send();
    }
    co_return true;
}

awaitable<> pump(Direction& d, Deadline& deadline, steady_clock::duration idle_timeout) {
    for (bool first = true;; first = false) {
        if (d.buffer.size() > 0) {
            auto [ec, n] = co_await d.to.write(d.buffer.data());
            if (ec) {
                d.error = std::string(d.name) + " write: " + ec.message();
                d.from.close();  // nowhere to send the rest
                co_return;
            }
            if (d.tap && *d.tap) {
                (*d.tap)(std::string_view(static_cast<const char*>(d.buffer.data().data()), n));
            }
            d.buffer.consume(n);
            d.bytes += n;
            deadline.expires_after(idle_timeout);
        }
        if (first && !d.tap && co_await splice_direction(d, deadline, idle_timeout)) co_return;
        auto [ec, n] = co_await d.from.read_some(d.buffer.prepare(tunnel_chunk));
        d.buffer.commit(n);
        if (ec == asio::error::eof) {
            co_await d.to.shutdown_send();  // pass the FIN on; the other direction keeps flowing
            co_return;
        }
        if (ec) {
            if (ec != asio::error::operation_aborted) d.error = std::string(d.name) + " read: " + ec.message();
            d.to.reset();  // an abortive end on one side is passed on as one
            co_return;
        }
        deadline.expires_after(idle_timeout);
    }
}

}  // namespace

awaitable<TunnelResult> run_tunnel(ByteStream& client, beast::flat_buffer& client_buffer, ByteStream& upstream,
                                   beast::flat_buffer& upstream_buffer, Deadline& deadline,
                                   steady_clock::duration idle_timeout, const TunnelTaps* taps) {
    Direction up{client, client_buffer, upstream, "client->upstream", 0, {},
                 taps ? &taps->client_to_upstream : nullptr};
    Direction down{upstream, upstream_buffer, client, "upstream->client", 0, {},
                   taps ? &taps->upstream_to_client : nullptr};
    deadline.expires_after(idle_timeout);
    co_await (pump(up, deadline, idle_timeout) && pump(down, deadline, idle_timeout));

    TunnelResult result{up.bytes, down.bytes, up.error};
    if (!down.error.empty()) result.error += (result.error.empty() ? "" : "; ") + down.error;
    if (deadline.expired()) result.error = "idle timeout";
    co_return result;
}

}  // namespace mproxy::proxy
