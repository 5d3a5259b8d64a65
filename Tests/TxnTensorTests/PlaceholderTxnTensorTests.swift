import XCTest
@testable import TxnTensor
final class PlaceholderTxnTensorTests: XCTestCase { func testBuilds() {} }
