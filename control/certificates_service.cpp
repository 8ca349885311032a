// CertificatesService: the interception CA (read, rotate, import) and the cache of leaves minted
// from it.

#include <google/protobuf/util/time_util.h>

#include <chrono>

#include "control/services.hpp"
#include "control/unary_call.hpp"
#include "mproxy/v1/certificates.grpc.pb.h"
#include "proxy/tls/tls_interception.hpp"

namespace mproxy::control {

namespace {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp timestamp(std::chrono::system_clock::time_point at) {
    return TimeUtil::NanosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count());
}

void fill(const proxy::CertificateAuthority& ca, v1::CertificateAuthority& out) {
    out.set_certificate_pem(ca.certificate_pem());
    out.set_fingerprint_sha256(ca.fingerprint_sha256());
    out.set_subject(ca.subject());
    *out.mutable_not_before() = timestamp(ca.not_before());
    *out.mutable_not_after() = timestamp(ca.not_after());
}

// The data plane says which half of the pair an error is about; the API names that field.
grpc::Status import_error(const proxy::CaError& error) {
    switch (error.part()) {
        case proxy::CaError::Part::certificate:
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                std::string("certificate_pem: ") + error.what());
        case proxy::CaError::Part::key:
        case proxy::CaError::Part::pair:  // the key is judged against the certificate
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                std::string("private_key_pem: ") + error.what());
        case proxy::CaError::Part::storage:
            break;
    }
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string("the CA could not be saved: ") + error.what());
}

class CertificatesService final : public v1::CertificatesService::CallbackService {
  public:
    explicit CertificatesService(ControlContext& context) : ctx_(context) {}

    grpc::ServerUnaryReactor* GetCA(grpc::CallbackServerContext* context, const v1::GetCARequest*,
                                    v1::CertificateAuthority* response) override {
        return unary_call(context, ctx_.auth, [&] {
            fill(*minter().ca(), *response);
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* RotateCA(grpc::CallbackServerContext* context,
                                       const v1::RotateCARequest*,
                                       v1::CertificateAuthority* response) override {
        return unary_call(context, ctx_.auth, [&] {
            if (auto refusal = refuse_when_ca_is_external(); !refusal.ok()) return refusal;
            // Generating a key and writing two files: a few milliseconds on a gRPC thread, never on
            // the data plane's.
            ctx_.proxy.interception().rotate_ca();
            fill(*minter().ca(), *response);
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* ImportCA(grpc::CallbackServerContext* context,
                                       const v1::ImportCARequest* request,
                                       v1::CertificateAuthority* response) override {
        return unary_call(context, ctx_.auth, [&] {
            if (auto refusal = refuse_when_ca_is_external(); !refusal.ok()) return refusal;
            if (request->certificate_pem().empty())
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "certificate_pem: required");
            if (request->private_key_pem().empty())
                return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "private_key_pem: required");
            try {
                ctx_.proxy.interception().import_ca(request->certificate_pem(),
                                                    request->private_key_pem());
            } catch (const proxy::CaError& error) {
                return import_error(error);
            }
            fill(*minter().ca(), *response);
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* GetLeafCacheStats(grpc::CallbackServerContext* context,
                                                const v1::GetLeafCacheStatsRequest*,
                                                v1::LeafCacheStats* response) override {
        return unary_call(context, ctx_.auth, [&] {
            const auto stats = minter().stats();
            response->set_entries(stats.entries);
            response->set_capacity(stats.capacity);
            response->set_hits(stats.hits);
            response->set_misses(stats.misses);
            response->set_mints(stats.mints);
            response->set_evictions(stats.evictions);
            *response->mutable_total_mint_time() =
                TimeUtil::NanosecondsToDuration(stats.total_mint_time.count());
            return grpc::Status::OK;
        });
    }

    grpc::ServerUnaryReactor* PurgeLeafCache(grpc::CallbackServerContext* context,
                                             const v1::PurgeLeafCacheRequest*,
                                             v1::PurgeLeafCacheResponse* response) override {
        return unary_call(context, ctx_.auth, [&] {
            // A leaf minted between the two calls is purged without being counted: the answer is
            // what the cache held when asked, not a ledger.
            response->set_purged(minter().stats().entries);
            minter().purge();
            return grpc::Status::OK;
        });
    }

  private:
    proxy::CertMinter& minter() { return ctx_.proxy.interception().minter(); }

    // A CA read from --ca-cert (a Kubernetes Secret, say) is changed where it comes from: changed
    // here it would be lost at the next restart, and replicas sharing that file would part ways.
    grpc::Status refuse_when_ca_is_external() {
        const auto& file = ctx_.proxy.interception().ca_cert_file();
        if (file.empty()) return grpc::Status::OK;
        return grpc::Status(
            grpc::StatusCode::FAILED_PRECONDITION,
            "the CA is read from --ca-cert " + file +
                ": replace that file and --ca-key's, then restart mproxyd (a change made "
                "here would be lost at the restart and reach no other replica)");
    }

    ControlContext& ctx_;
};

}  // namespace

std::unique_ptr<grpc::Service> make_certificates_service(ControlContext& context) {
    return std::make_unique<CertificatesService>(context);
}

}  // namespace mproxy::control
