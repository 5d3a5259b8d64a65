import XCTest
@testable import TxnPlot
final class PlaceholderTxnPlotTests: XCTestCase { func testBuilds() {} }
