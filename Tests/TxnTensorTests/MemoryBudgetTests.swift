import XCTest
@testable import TxnTensor

final class MemoryBudgetTests: XCTestCase {
    override func tearDown() { MemoryBudget.limitBytes = MemoryBudget.defaultLimitBytes }

    func testDefaultIsAtMostThreeQuartersOfPhysicalMemory() {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        XCTAssertGreaterThan(MemoryBudget.defaultLimitBytes, 0)
        XCTAssertLessThanOrEqual(MemoryBudget.defaultLimitBytes, max(physical / 4 * 3, 64 << 20))
    }

    /// The budget says what, how much and the limit; how to raise it is each front end's to say (`--max-memory` on the
    /// command line, `set memory=` in a notebook: HardeningTests), so it is an error that says it is over the limit.
    func testRequestOverTheLimitNamesWhatSizeAndLimit() throws {
        try MemoryBudget.setLimit(mebibytes: 100)
        XCTAssertNoThrow(try MemoryBudget.require(100 << 20, for: "exactly the limit"))
        XCTAssertThrowsError(try MemoryBudget.require((100 << 20) + 1, for: "noise 6000x6000")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("noise 6000x6000"), text)
            XCTAssertTrue(text.contains("101 MiB"), text)      // rounded up
            XCTAssertTrue(text.contains("limit of 100 MiB"), text)
            XCTAssertEqual(text, "noise 6000x6000 needs 101 MiB, over the memory limit of 100 MiB")
            XCTAssertEqual((error as? MemoryLimitError)?.isOverMemoryLimit, true)
        }
    }

    func testProductsThatOverflowAreOverBudgetNotWrapped() throws {
        // 2^32 * 2^32 * 4 wraps to 0 in unchecked arithmetic.
        XCTAssertThrowsError(try MemoryBudget.requireFloats([1 << 32, 1 << 32], for: "huge")) { error in
            XCTAssertTrue("\(error)".contains("more memory than can be counted"), "\(error)")
        }
        XCTAssertThrowsError(try MemoryBudget.requireFloats([3, -1], for: "negative"))
        try MemoryBudget.setLimit(mebibytes: 1)
        XCTAssertEqual(try MemoryBudget.requireFloats([1, 3, 256, 256], for: "ok"), 196_608)  // 768 KiB
        XCTAssertThrowsError(try MemoryBudget.requireFloats([1, 3, 256, 256], copies: 2, for: "two copies"))
    }

    func testInvalidLimitsAreRejectedAndKeepTheOldOne() throws {
        try MemoryBudget.setLimit(mebibytes: 50)
        XCTAssertThrowsError(try MemoryBudget.setLimit(mebibytes: 0))
        XCTAssertThrowsError(try MemoryBudget.setLimit(mebibytes: Int.max / 2))
        XCTAssertEqual(MemoryBudget.limitMiB, 50)
    }
}
