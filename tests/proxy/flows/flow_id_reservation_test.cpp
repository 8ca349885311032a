#include "proxy/flows/flow_id_reservation.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "proxy/state/small_file.hpp"
#include "tests/support/temporary_directory.hpp"

namespace mproxy::proxy {
namespace {

TEST(FlowIdReservation, AFreshDirectoryStartsAtOneAndReservesTheBlock) {
    test::TemporaryDirectory dir;
    const auto file = dir.path() / "flow-ids";
    FlowIdReservation ids(file, 1000);
    EXPECT_EQ(ids.first(), 1u);
    EXPECT_EQ(read_small_file(file, 64), "1000\n");
}

TEST(FlowIdReservation, ACleanStopLetsTheNextRunGoOnFromTheLastIdUsed) {
    test::TemporaryDirectory dir;
    const auto file = dir.path() / "flow-ids";
    {
        FlowIdReservation ids(file, 1000);
        ids.release(41);
    }
    FlowIdReservation next(file, 1000);
    EXPECT_EQ(next.first(), 42u);
    EXPECT_EQ(read_small_file(file, 64), "1041\n");
}

TEST(FlowIdReservation, AfterACrashTheNextRunStartsAboveTheWholeBlock) {
    test::TemporaryDirectory dir;
    const auto file = dir.path() / "flow-ids";
    { FlowIdReservation crashed(file, 1000); }  // never released: as after kill -9
    FlowIdReservation next(file, 1000);
    EXPECT_EQ(next.first(), 1001u);
}

TEST(FlowIdReservation, ARunThatUsedNoIdLeavesTheCeilingBelowItsBlock) {
    test::TemporaryDirectory dir;
    const auto file = dir.path() / "flow-ids";
    { FlowIdReservation(file, 1000).release(0); }
    EXPECT_EQ(FlowIdReservation(file, 1000).first(), 1u);
}

TEST(FlowIdReservation, AFileWithoutANumberIsRefusedByName) {
    test::TemporaryDirectory dir;
    const auto file = dir.path() / "flow-ids";
    std::ofstream(file) << "twelve\n";
    try {
        FlowIdReservation ids(file);
        FAIL() << "accepted a file holding no number";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
}

TEST(FlowIdReservation, APlaceThatCannotHoldTheFileIsAnErrorNamingIt) {
    test::TemporaryDirectory dir;
    std::ofstream(dir.path() / "plain-file") << "x";
    const auto file = dir.path() / "plain-file" / "flow-ids";  // ENOTDIR, even for root
    try {
        FlowIdReservation ids(file);
        FAIL() << "reserved ids in a file that cannot exist";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("plain-file"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace mproxy::proxy
