#include "proxy/tls/ca_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "proxy/state/small_file.hpp"

namespace mproxy::proxy {

namespace {

namespace fs = std::filesystem;

constexpr const char* certificate_file_name = "ca.pem";
constexpr const char* key_file_name = "ca-key.pem";
constexpr std::size_t pem_file_limit = 1 << 20;  // a PEM certificate or key is a few KiB
constexpr mode_t state_directory_mode = 0700;
constexpr mode_t key_file_mode = 0600;
constexpr mode_t certificate_file_mode = 0644;  // public, and clients are meant to fetch it

std::string read_pem_file(const fs::path& path, CaError::Part part) {
    try {
        return read_small_file(path, pem_file_limit);
    } catch (const std::system_error& error) {
        throw CaError(error.what(), part);
    }
}

std::shared_ptr<const CertificateAuthority> load_pair(const fs::path& certificate,
                                                      const fs::path& key) {
    const std::string certificate_pem = read_pem_file(certificate, CaError::Part::certificate);
    const std::string key_pem = read_pem_file(key, CaError::Part::key);
    try {
        return CertificateAuthority::from_pem(certificate_pem, key_pem);
    } catch (const CaError& error) {
        switch (error.part()) {
            case CaError::Part::certificate:
                throw CaError(certificate.string() + ": " + error.what(), error.part());
            case CaError::Part::key:
                throw CaError(key.string() + ": " + error.what(), error.part());
            default:
                throw CaError(key.string() + " and " + certificate.string() + ": " + error.what(),
                              error.part());
        }
    }
}

// Any directory entry counts, a dangling symlink too: it is not ours to replace.
bool present(const fs::path& path, CaError::Part part) {
    std::error_code error;
    const fs::file_status status = fs::symlink_status(path, error);
    if (error && error != std::errc::no_such_file_or_directory)
        throw CaError(path.string() + ": cannot look it up: " + error.message(), part);
    return fs::exists(status);
}

void ensure_state_directory(const fs::path& directory) {
    std::error_code error;
    if (fs::is_directory(directory, error)) return;  // an existing directory keeps its mode
    if (!directory.parent_path().empty()) fs::create_directories(directory.parent_path(), error);
    // mkdir's mode is narrowed by the umask, never widened; chmod makes it exactly 0700.
    if (::mkdir(directory.c_str(), state_directory_mode) != 0 ||
        ::chmod(directory.c_str(), state_directory_mode) != 0)
        throw CaError(directory.string() + ": cannot create the state directory: " +
                          std::generic_category().message(errno),
                      CaError::Part::storage);
}

void write_pair(const fs::path& directory, const CertificateAuthority& ca,
                StagedFile::Existing existing) {
    ensure_state_directory(directory);
    try {
        // Both files are complete on disk before either takes its name, which narrows the window
        // in which a crash could leave one without the other to the two commits.
        StagedFile key(directory / key_file_name, ca.key_pem(), key_file_mode);
        StagedFile certificate(directory / certificate_file_name, ca.certificate_pem(),
                               certificate_file_mode);
        key.commit(existing);
        certificate.commit(existing);
    } catch (const std::system_error& error) {
        throw CaError(error.what(), CaError::Part::storage);
    }
}

std::string local_host_name() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
    return name.data();
}

}  // namespace

std::shared_ptr<const CertificateAuthority> load_or_create_ca(const fs::path& state_dir) {
    const fs::path certificate = state_dir / certificate_file_name;
    const fs::path key = state_dir / key_file_name;
    const bool has_certificate = present(certificate, CaError::Part::certificate);
    const bool has_key = present(key, CaError::Part::key);

    if (has_certificate && has_key) return load_pair(certificate, key);
    if (has_certificate != has_key) {
        const fs::path& found = has_certificate ? certificate : key;
        const fs::path& missing = has_certificate ? key : certificate;
        throw CaError(missing.string() + " is missing while " + found.string() +
                          " exists; restore it, or move " + found.string() +
                          " away to have a new CA generated",
                      has_certificate ? CaError::Part::key : CaError::Part::certificate);
    }
    auto ca = CertificateAuthority::generate(local_host_name());
    write_pair(state_dir, *ca, StagedFile::Existing::keep);
    return ca;
}

std::shared_ptr<const CertificateAuthority> load_ca_files(const fs::path& cert,
                                                          const fs::path& key) {
    return load_pair(cert, key);
}

void save_ca(const fs::path& state_dir, const CertificateAuthority& ca) {
    write_pair(state_dir, ca, StagedFile::Existing::replace);
}

}  // namespace mproxy::proxy
