#pragma once
// Where the CA lives between runs: ca.pem and ca-key.pem in the state directory, or two files the
// operator names. Loading never repairs anything: a missing half, a corrupt file or a mismatched
// pair stops start-up with a CaError naming the file, and the files stay exactly as they were,
// because they may be the only copy of a CA that clients already trust.

#include <filesystem>
#include <memory>

#include "proxy/tls/certificate_authority.hpp"

namespace mproxy::proxy {

// Loads state_dir/ca.pem and state_dir/ca-key.pem; if neither exists, generates a CA for this
// host, creating state_dir (mode 0700) if needed, and writes both files (key mode 0600, certificate
// 0644) without ever replacing an existing file.
std::shared_ptr<const CertificateAuthority> load_or_create_ca(
    const std::filesystem::path& state_dir);

// For --ca-cert/--ca-key: the files are only read.
std::shared_ptr<const CertificateAuthority> load_ca_files(const std::filesystem::path& cert,
                                                          const std::filesystem::path& key);

// Replaces state_dir's CA files with `ca` (rotation, import). Each file is replaced atomically;
// the pair is not: a crash between the two renames leaves a mismatched pair, which the next start
// reports instead of using.
void save_ca(const std::filesystem::path& state_dir, const CertificateAuthority& ca);

}  // namespace mproxy::proxy
