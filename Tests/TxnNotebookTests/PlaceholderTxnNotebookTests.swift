import XCTest
@testable import TxnNotebook
final class PlaceholderTxnNotebookTests: XCTestCase { func testBuilds() {} }
