// `mproxyctl ca ...`: the CA that intercepted connections' leaves come from, and their cache.

#include <fstream>
#include <sstream>

#include "clients/command_context.hpp"
#include "clients/formatting.hpp"
#include "mproxy/v1/certificates.grpc.pb.h"

namespace mproxy::ctl {

namespace {

using CA = v1::CertificateAuthority;
using Stub = v1::CertificatesService::Stub;

int print_authorities(const CommandContext& context, const Fleet& fleet,
                      const std::vector<ReplicaAnswer<CA>>& answers) {
    Printer printer(context.format(), fleet.tagged,
                    {"SUBJECT", "FINGERPRINT (SHA-256)", "NOT BEFORE", "NOT AFTER"});
    for (const auto& answer : answers) {
        if (!answer.result) continue;
        const auto& ca = *answer.result;
        printer.row(answer.replica, ca,
                    {ca.subject(), ca.fingerprint_sha256(), timestamp_text(ca.not_before()),
                     timestamp_text(ca.not_after())});
    }
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

template <class Request>
int ca_call(const CommandContext& context,
            grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, CA*),
            const Request& request) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<CA>(fleet, [&](const ControlChannel& replica) {
        return call<v1::CertificatesService>(replica, method, request);
    });
    return print_authorities(context, fleet, answers);
}

std::string read_pem(const std::string& path, const std::string& flag) {
    std::ifstream in(path);
    if (!in) throw CliError(exit_usage, "cannot read " + flag + " " + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The PEM of each replica's CA, each one once: a fleet sharing a CA exports one certificate.
int export_ca(const CommandContext& context, const std::string& file) {
    const auto fleet = context.fleet();
    const auto answers = ask_each<CA>(fleet, [](const ControlChannel& replica) {
        return call<v1::CertificatesService>(replica, &Stub::GetCA, v1::GetCARequest{});
    });
    std::string bundle;
    for (const auto& answer : answers)
        if (answer.result && bundle.find(answer.result->certificate_pem()) == std::string::npos)
            bundle += answer.result->certificate_pem();
    if (file.empty() || file == "-") {
        std::cout << bundle << std::flush;
    } else if (!bundle.empty()) {
        std::ofstream out(file, std::ios::trunc);
        out << bundle;
        if (!out.flush()) throw CliError(exit_failure, "cannot write " + file);
    }
    return report_errors(answers, fleet.tagged);
}

int leaf_cache(const CommandContext& context, bool purge) {
    const auto fleet = context.fleet();
    if (purge) {
        const auto answers =
            ask_each<v1::PurgeLeafCacheResponse>(fleet, [](const ControlChannel& replica) {
                return call<v1::CertificatesService>(replica, &Stub::PurgeLeafCache,
                                                     v1::PurgeLeafCacheRequest{});
            });
        Printer printer(context.format(), fleet.tagged, {"PURGED"});
        for (const auto& answer : answers)
            if (answer.result)
                printer.row(answer.replica, *answer.result,
                            {std::to_string(answer.result->purged())});
        printer.finish();
        return report_errors(answers, fleet.tagged);
    }
    const auto answers = ask_each<v1::LeafCacheStats>(fleet, [](const ControlChannel& replica) {
        return call<v1::CertificatesService>(replica, &Stub::GetLeafCacheStats,
                                             v1::GetLeafCacheStatsRequest{});
    });
    Printer printer(context.format(), fleet.tagged,
                    {"ENTRIES", "CAPACITY", "HITS", "MISSES", "MINTS", "EVICTIONS", "MINT TIME"});
    for (const auto& answer : answers) {
        if (!answer.result) continue;
        const auto& s = *answer.result;
        printer.row(
            answer.replica, s,
            {std::to_string(s.entries()), std::to_string(s.capacity()), std::to_string(s.hits()),
             std::to_string(s.misses()), std::to_string(s.mints()), std::to_string(s.evictions()),
             human_duration(s.total_mint_time())});
    }
    printer.finish();
    return report_errors(answers, fleet.tagged);
}

}  // namespace

void add_ca_commands(CLI::App& app, CommandContext& context) {
    auto* ca = app.add_subcommand("ca", "The CA that signs intercepted connections' certificates");
    ca->require_subcommand(1);

    auto* show = ca->add_subcommand("show", "The CA's subject, fingerprint and validity");
    show->footer("Examples:\n  mproxyctl ca show\n  mproxyctl ca show -o json");
    on_run(show, context,
           [](const CommandContext& c) { return ca_call(c, &Stub::GetCA, v1::GetCARequest{}); });

    auto file = std::make_shared<std::string>();
    auto* export_command =
        ca->add_subcommand("export", "The CA certificate (PEM), for clients to trust");
    export_command->add_option("-o,--file", *file, "Write it to this file instead of stdout");
    export_command->footer(
        "Examples:\n  mproxyctl ca export -o mproxy-ca.pem\n  curl --cacert mproxy-ca.pem -x "
        "127.0.0.1:8080 https://example.com/");
    on_run(export_command, context,
           [file](const CommandContext& c) { return export_ca(c, *file); });

    auto* rotate =
        ca->add_subcommand("rotate", "Make a new CA; new intercepted connections use it at once");
    rotate->footer("Examples:\n  mproxyctl ca rotate && mproxyctl ca export -o mproxy-ca.pem");
    on_run(rotate, context, [](const CommandContext& c) {
        return ca_call(c, &Stub::RotateCA, v1::RotateCARequest{});
    });

    auto cert = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto* import = ca->add_subcommand("import", "Use an existing CA (certificate and key, PEM)");
    import->add_option("--cert", *cert, "The CA certificate (PEM)")->required();
    import->add_option("--key", *key, "Its private key (PEM)")->required();
    import->footer("Examples:\n  mproxyctl ca import --cert corp-ca.pem --key corp-ca-key.pem");
    on_run(import, context, [cert, key](const CommandContext& c) {
        v1::ImportCARequest request;
        request.set_certificate_pem(read_pem(*cert, "--cert"));
        request.set_private_key_pem(read_pem(*key, "--key"));
        return ca_call(c, &Stub::ImportCA, request);
    });

    auto purge = std::make_shared<bool>(false);
    auto* cache = ca->add_subcommand("cache", "The cache of minted leaf certificates");
    cache->add_flag("--purge", *purge, "Empty it (leaves are minted again on demand)");
    cache->footer("Examples:\n  mproxyctl ca cache\n  mproxyctl ca cache --purge");
    on_run(cache, context, [purge](const CommandContext& c) { return leaf_cache(c, *purge); });
}

}  // namespace mproxy::ctl
