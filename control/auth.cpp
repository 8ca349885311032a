#include "control/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "control/atomic_file.hpp"
#include "proxy/state/small_file.hpp"

namespace mproxy::control {

namespace {

constexpr std::size_t min_token_length = 16;
constexpr std::size_t max_token_file_size = 64 * 1024;
constexpr std::string_view token_file_name = "control-token";
constexpr std::string_view missing_message =
    "missing authorization metadata: send 'authorization: Bearer <token>'";

std::string_view trim_trailing_whitespace(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                             text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

// The token travels as a gRPC metadata value after "Bearer ", which allows only visible ASCII.
bool is_visible_ascii(std::string_view text) {
    for (unsigned char c : text)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

std::string read_token_file(const std::filesystem::path& path) {
    std::string content;
    try {
        content = proxy::read_small_file(path, max_token_file_size);
    } catch (const std::system_error& e) {
        throw std::runtime_error("control token file " + std::string(e.what()));
    }
    const auto token = trim_trailing_whitespace(content);
    const std::string name = "control token file " + path.string();
    if (token.empty()) throw std::runtime_error(name + " is empty");
    if (token.size() < min_token_length) {
        throw std::runtime_error(name + " holds a token of " + std::to_string(token.size()) +
                                 " characters; at least " + std::to_string(min_token_length) +
                                 " are required");
    }
    if (!is_visible_ascii(token))
        throw std::runtime_error(name +
                                 ": the token may hold only visible ASCII characters (no spaces)");
    return std::string(token);
}

std::string random_token() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        throw std::runtime_error("no randomness for the control token");
    static constexpr char hex[] = "0123456789abcdef";
    std::string token;
    token.reserve(2 * sizeof bytes);
    for (unsigned char b : bytes) {
        token += hex[b >> 4];
        token += hex[b & 15];
    }
    return token;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

LoadedToken load_or_create_token(const TokenSettings& settings) {
    if (!settings.token_file.empty())
        return LoadedToken{read_token_file(settings.token_file), "file " + settings.token_file,
                           false};

    if (!settings.env_var.empty()) {
        if (const char* value = std::getenv(settings.env_var.c_str()); value && *value) {
            const auto token = trim_trailing_whitespace(value);
            if (token.empty() || !is_visible_ascii(token)) {
                throw std::runtime_error(
                    "environment variable " + settings.env_var +
                    ": the token may hold only visible ASCII characters (no spaces)");
            }
            return LoadedToken{std::string(token), "environment " + settings.env_var, false};
        }
    }

    if (settings.state_dir.empty())
        return LoadedToken{random_token(), "generated (memory only)", true};

    const auto path = std::filesystem::path(settings.state_dir) / token_file_name;
    std::error_code error;
    if (std::filesystem::exists(std::filesystem::symlink_status(path, error)))
        return LoadedToken{read_token_file(path), "file " + path.string(), false};
    try {
        ensure_private_directory(settings.state_dir);
        auto token = random_token();
        // Only the owner may read it: the token is the whole of the control plane's security.
        write_file_atomically(path, token + "\n", 0600);
        return LoadedToken{std::move(token), "generated " + path.string(), true};
    } catch (const std::system_error& e) {
        throw std::runtime_error(std::string("cannot store the control token: ") + e.what());
    }
}

grpc::Status Authenticator::check(const grpc::ServerContextBase& context) const {
    const auto& metadata = context.client_metadata();
    const auto found = metadata.find("authorization");
    if (found == metadata.end())
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(missing_message));

    const std::string_view value(found->second.data(), found->second.size());
    const auto space = value.find(' ');
    const auto scheme = value.substr(0, space);
    auto offered = space == std::string_view::npos ? std::string_view{} : value.substr(space + 1);
    while (!offered.empty() && offered.front() == ' ') offered.remove_prefix(1);

    // Evaluated in full whatever the scheme, so a wrong scheme and a wrong token take the same
    // path.
    const bool same_length = offered.size() == token_.size();
    const bool same_token =
        same_length && CRYPTO_memcmp(offered.data(), token_.data(), token_.size()) == 0;
    if (!iequals(scheme, "bearer") || !same_token)
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid token");
    return grpc::Status::OK;
}

}  // namespace mproxy::control
