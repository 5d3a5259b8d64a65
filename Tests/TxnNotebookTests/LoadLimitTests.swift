import Foundation
import TxnImage
import TxnTestSupport
import XCTest
@testable import TxnNotebook

/// The notebook's `load` of issue 19's scan bomb is an error at the path, not half a minute of decoding.
final class LoadLimitTests: XCTestCase {
    func testLoadingTheScanBombIsAPositionedError() throws {
        let tmp = NSTemporaryDirectory() + "txn-load-limit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        FileManager.default.createFile(atPath: tmp + "/bomb.jpg", contents: Data(ScanBombJPEG.make(width: 4000, height: 4000, scans: 10_000)))
        FileManager.default.createFile(atPath: tmp + "/fine.jpg", contents: Data(ScanBombJPEG.make(width: 48, height: 32, scans: 12)))
        let interp = Interpreter(output: RecordingOutput(next: nil), baseDirectory: tmp, outputDirectory: tmp,
                                 modelsDirectory: Paths.repoRoot + "/Models")
        let errors = interp.run(source: "ok = load \"fine.jpg\"\nsrc = load \"bomb.jpg\"", file: "t.txn")
        XCTAssertEqual(errors.count, 1, errors.map(\.description).joined(separator: "\n"))
        let error = try XCTUnwrap(errors.first)
        XCTAssertEqual(error.location.line, 2, error.description)
        XCTAssertEqual(error.location.column, 12, "at the path: \(error.description)")
        XCTAssertTrue(error.message.contains("more than \(DecodeLimits.defaultMaxScans) scans"), error.description)
        guard case .image(let ok)? = interp.variables["ok"] else { return XCTFail("the file within the limit loads") }
        XCTAssertEqual([ok.width, ok.height], [48, 32])
        XCTAssertNil(interp.variables["src"])
    }
}
