import XCTest
@testable import TxnPlot

final class TicksTests: XCTestCase {
    func testLogTicksCoverWholeDecadesWithExponentLabels() {
        let scale = Ticks.logarithmic(minimum: 1.2e4, maximum: 2e9)
        XCTAssertEqual(scale.lower, 4)
        XCTAssertEqual(scale.upper, 10)
        XCTAssertEqual(scale.labels, ["1e4", "1e5", "1e6", "1e7", "1e8", "1e9", "1e10"])
        XCTAssertEqual(scale.ticks.filter { $0.label == nil }.count, 6 * 8, "minor ticks at 2...9 in each decade")
    }

    func testLogTicksAtExactPowersAndNegativeExponents() {
        XCTAssertEqual(Ticks.logarithmic(minimum: 1e4, maximum: 1e9).labels.first, "1e4")
        XCTAssertEqual(Ticks.logarithmic(minimum: 1e4, maximum: 1e9).labels.last, "1e9")
        XCTAssertEqual(Ticks.logarithmic(minimum: 0.002, maximum: 0.5).labels, ["1e-3", "1e-2", "1e-1", "1e0"])
    }

    func testLogTicksThinOutOverManyDecadesAndFillInWithinOne() {
        let wide = Ticks.logarithmic(minimum: 1e-3, maximum: 1e12)
        XCTAssertEqual(wide.labels, ["1e-3", "1e-1", "1e1", "1e3", "1e5", "1e7", "1e9", "1e11"])
        XCTAssertEqual(wide.upper, 12)
        XCTAssertTrue(wide.ticks.allSatisfy { $0.position.rounded() == $0.position }, "no minor ticks over 15 decades")
        XCTAssertEqual(Ticks.logarithmic(minimum: 2.5e4, maximum: 8e4).labels, ["1e4", "2e4", "5e4", "1e5"])
        let constant = Ticks.logarithmic(minimum: 1e5, maximum: 1e5)
        XCTAssertEqual([constant.lower, constant.upper], [4, 6], "a constant series sits mid-axis")
    }

    func testLinearTicks() {
        let scale = Ticks.linear(minimum: 0.14, maximum: 0.98, expand: true)
        XCTAssertEqual(scale.lower, 0, accuracy: 1e-12)
        XCTAssertEqual(scale.upper, 1, accuracy: 1e-12)
        XCTAssertEqual(scale.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(Ticks.linear(minimum: 0, maximum: 3e8, expand: true).labels,
                       ["0", "1e8", "2e8", "3e8"])
        XCTAssertEqual(Ticks.linear(minimum: 0, maximum: 2.5e8, expand: true).labels,
                       ["0", "5e7", "1e8", "1.5e8", "2e8", "2.5e8"])
        XCTAssertEqual(Ticks.linear(minimum: -7, maximum: 7, expand: true).labels,
                       ["-10", "-5", "0", "5", "10"])
    }

    func testIterationTicksStartAtOne() {
        let scale = Ticks.iterations(count: 500)
        XCTAssertEqual([scale.lower, scale.upper], [1, 500])
        XCTAssertEqual(scale.labels, ["1", "100", "200", "300", "400", "500"])
        XCTAssertEqual(Ticks.iterations(count: 5).labels, ["1", "2", "3", "4", "5"])
        XCTAssertEqual(Ticks.iterations(count: 1).labels, ["1", "2"], "a single point still gets an axis")
    }

    func testNumberFormatting() {
        XCTAssertEqual(Ticks.compact(0), "0")
        XCTAssertEqual(Ticks.compact(0.5), "0.5")
        XCTAssertEqual(Ticks.compact(-3.14159), "-3.14")
        XCTAssertEqual(Ticks.compact(12345.6), "12346")
        XCTAssertEqual(Ticks.compact(1.23e-4), "1.23e-4")
        XCTAssertEqual(Ticks.compact(2.5e8), "2.5e8")
        XCTAssertEqual(Ticks.compact(9.999e5), "1e6")
        XCTAssertEqual(Ticks.fixed(-0.0001, decimals: 2), "0.00")
        XCTAssertEqual(Ticks.fixed(0.05, decimals: 2), "0.05")
        XCTAssertTrue(Ticks.compactPair(-30000, 1.2e5) == ("-3e4", "1.2e5"))
    }
}
