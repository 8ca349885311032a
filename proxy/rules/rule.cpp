#include "proxy/rules/rule.hpp"

namespace mproxy::proxy {

std::string_view to_string(ExpectPolicy policy) {
    switch (policy) {
        case ExpectPolicy::forward: return "forward";
        case ExpectPolicy::answer_locally: return "answer_locally";
        case ExpectPolicy::reject: return "reject";
    }
    return "unknown";
}

}  // namespace mproxy::proxy
