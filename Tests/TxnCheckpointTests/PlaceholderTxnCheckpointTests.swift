import XCTest
@testable import TxnCheckpoint
final class PlaceholderTxnCheckpointTests: XCTestCase { func testBuilds() {} }
