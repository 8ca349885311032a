#include "proxy/tls/ca_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "tests/proxy/tls/x509_test_support.hpp"

namespace mproxy::proxy {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void spew(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
}

mode_t mode_of(const fs::path& path) {
    struct stat status {};
    EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
    return status.st_mode & 07777;
}

// Every file in a directory with its bytes: what "left unchanged" is checked against.
std::map<std::string, std::string> snapshot(const fs::path& directory) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(directory)) {
        const auto& path = entry.path();
        files[path.filename().string()] = entry.is_symlink()
                                              ? "-> " + fs::read_symlink(path).string()
                                          : entry.is_regular_file() ? slurp(path)
                                                                    : "(not a file)";
    }
    return files;
}

class CaStore : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::path(::testing::TempDir()) / "mproxy-ca-store-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        state_ = root_ / "state";
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path cert() const { return state_ / "ca.pem"; }
    fs::path key() const { return state_ / "ca-key.pem"; }

    // Expects load_or_create_ca to refuse with a message naming `file`, touching nothing.
    void expect_refusal_naming(const fs::path& file) {
        const auto before = snapshot(state_);
        try {
            load_or_create_ca(state_);
            ADD_FAILURE() << "loaded";
        } catch (const CaError& error) {
            EXPECT_NE(std::string(error.what()).find(file.string()), std::string::npos)
                << error.what();
        }
        EXPECT_EQ(snapshot(state_), before);
    }

    fs::path root_;
    fs::path state_;
};

TEST_F(CaStore, FirstStartCreatesPrivateFilesWhateverTheUmask) {
    const mode_t previous = ::umask(0);  // the most permissive umask must not widen anything
    const auto ca = load_or_create_ca(state_);
    ::umask(previous);

    ASSERT_TRUE(ca);
    EXPECT_EQ(mode_of(state_), 0700u);
    EXPECT_EQ(mode_of(key()), 0600u);
    EXPECT_EQ(mode_of(cert()), 0644u);
    EXPECT_EQ(snapshot(state_).size(), 2u) << "no temporary files left behind";
    EXPECT_EQ(slurp(cert()), ca->certificate_pem());
    EXPECT_EQ(slurp(key()), ca->key_pem());
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    EXPECT_NE(ca->subject().find(std::string("mproxy CA (") + host), std::string::npos)
        << ca->subject();
}

TEST_F(CaStore, SecondStartLoadsTheSameCaAndChangesNothing) {
    const auto first = load_or_create_ca(state_);
    const auto files = snapshot(state_);
    const auto second = load_or_create_ca(state_);
    EXPECT_EQ(second->fingerprint_sha256(), first->fingerprint_sha256());
    EXPECT_EQ(snapshot(state_), files);
}

TEST_F(CaStore, ExistingStateDirectoryIsUsed) {
    fs::create_directories(state_);
    const auto ca = load_or_create_ca(state_);
    EXPECT_TRUE(fs::exists(cert()));
    EXPECT_TRUE(fs::exists(key()));
}

TEST_F(CaStore, CorruptCertificateIsRefusedByName) {
    load_or_create_ca(state_);
    spew(cert(), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    expect_refusal_naming(cert());
    spew(cert(), "");
    expect_refusal_naming(cert());
}

TEST_F(CaStore, CorruptKeyIsRefusedByName) {
    load_or_create_ca(state_);
    std::string damaged = slurp(key());
    damaged[damaged.size() / 2] ^= 0x01;  // one flipped bit in the base64
    spew(key(), damaged);
    expect_refusal_naming(key());
}

TEST_F(CaStore, MismatchedPairIsRefusedByName) {
    load_or_create_ca(state_);
    const auto other = CertificateAuthority::generate("other");
    spew(key(), other->key_pem());
    expect_refusal_naming(key());
}

TEST_F(CaStore, CertificateWithoutKeyIsRefusedAndNothingIsCreated) {
    load_or_create_ca(state_);
    fs::remove(key());
    expect_refusal_naming(key());
    EXPECT_FALSE(fs::exists(key()));
}

TEST_F(CaStore, KeyWithoutCertificateIsRefusedAndNothingIsCreated) {
    load_or_create_ca(state_);
    fs::remove(cert());
    expect_refusal_naming(cert());
    EXPECT_FALSE(fs::exists(cert()));
}

TEST_F(CaStore, DanglingSymlinkCountsAsPresent) {
    load_or_create_ca(state_);
    fs::remove(cert());
    fs::create_symlink(root_ / "nowhere.pem", cert());
    expect_refusal_naming(cert());
    EXPECT_TRUE(fs::is_symlink(cert()));
}

TEST_F(CaStore, SaveReplacesTheCaAtomically) {
    load_or_create_ca(state_);
    const auto replacement = CertificateAuthority::generate("rotated");
    save_ca(state_, *replacement);
    EXPECT_EQ(mode_of(key()), 0600u);
    EXPECT_EQ(snapshot(state_).size(), 2u);
    EXPECT_EQ(load_or_create_ca(state_)->fingerprint_sha256(), replacement->fingerprint_sha256());
}

TEST_F(CaStore, SaveCreatesTheStateDirectory) {
    const auto ca = CertificateAuthority::generate("saved");
    save_ca(state_, *ca);
    EXPECT_EQ(mode_of(state_), 0700u);
    EXPECT_EQ(load_or_create_ca(state_)->fingerprint_sha256(), ca->fingerprint_sha256());
}

TEST_F(CaStore, LoadsNamedFilesAndNamesTheMissingOne) {
    fs::create_directories(state_);
    const testing_support::PemPair rsa = testing_support::rsa_ca_pem();
    spew(state_ / "my-ca.crt", rsa.certificate);
    spew(state_ / "my-ca.key", rsa.key);
    const auto ca = load_ca_files(state_ / "my-ca.crt", state_ / "my-ca.key");
    EXPECT_TRUE(EVP_PKEY_is_a(ca->key(), "RSA"));

    try {
        load_ca_files(state_ / "my-ca.crt", state_ / "absent.key");
        ADD_FAILURE() << "loaded";
    } catch (const CaError& error) {
        EXPECT_NE(std::string(error.what()).find("absent.key"), std::string::npos) << error.what();
        EXPECT_EQ(error.part(), CaError::Part::key);
    }
}

TEST_F(CaStore, ADirectoryInPlaceOfAFileIsRefused) {
    load_or_create_ca(state_);
    fs::remove(cert());
    fs::create_directory(cert());
    expect_refusal_naming(cert());
}

}  // namespace
}  // namespace mproxy::proxy
