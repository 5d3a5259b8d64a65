import XCTest
@testable import TxnVGG
final class PlaceholderTxnVGGTests: XCTestCase { func testBuilds() {} }
