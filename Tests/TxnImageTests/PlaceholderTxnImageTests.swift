import XCTest
@testable import TxnImage
final class PlaceholderTxnImageTests: XCTestCase { func testBuilds() {} }
