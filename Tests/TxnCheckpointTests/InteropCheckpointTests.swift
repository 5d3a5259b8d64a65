import Foundation
import XCTest
import TxnTestSupport
@testable import TxnCheckpoint

/// The writer and reader against real PyTorch (scripts/checkpoint_interop.py), and the torch-made GAN reference
/// files. Tests that need torch skip, saying why, when `python3 -c "import torch"` fails; CI installs torch.
final class InteropCheckpointTests: XCTestCase {
    static let script = repoRoot.appendingPathComponent("scripts/checkpoint_interop.py").path
    static let ganParity = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/gan_parity").path

    static func python(_ arguments: [String]) throws -> (Int32, String, String) { try Python.run(arguments) }

    func requireTorch() throws { try Python.requireTorch() }

    func runScript(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let (status, out, err) = try Self.python([Self.script] + arguments)
        guard status == 0 else {
            XCTFail("\(arguments.joined(separator: " ")) failed: \(err)", file: file, line: line)
            return [:]
        }
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], file: file, line: line)
    }

    func tempPath(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("txn-interop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder + "/" + name
    }

    /// The generator of checkpoint_interop.py (ConvTranspose2d 8→6, BatchNorm2d 6, ReLU, ConvTranspose2d 6→3):
    /// the i-th key holds ramp(numel, i), num_batches_tracked 1000 + i·2^40.
    static var generator: [CheckpointEntry] {
        let layout: [(String, [Int])] = [
            ("generate.0.weight", [8, 6, 4, 4]), ("generate.0.bias", [6]), ("generate.1.weight", [6]),
            ("generate.1.bias", [6]), ("generate.1.running_mean", [6]), ("generate.1.running_var", [6]),
            ("generate.1.num_batches_tracked", []), ("generate.3.weight", [6, 3, 4, 4]), ("generate.3.bias", [3]),
        ]
        return layout.enumerated().map { i, kv in
            kv.0.hasSuffix("num_batches_tracked")
                ? CheckpointEntry(kv.0, shape: kv.1, integers: [1000 + Int64(i) << 40])
                : CheckpointEntry(kv.0, shape: kv.1, floats: CheckpointWriterTests.ramp(kv.1.reduce(1, *), salt: i))
        }
    }

    func testTorchLoadsWhatSwiftWrites() throws {
        try requireTorch()
        let path = try tempPath("generator.pth")
        try Checkpoint.write(Self.generator, to: path)
        // The script compares every tensor exactly, runs load_state_dict(strict=True) and a forward pass, and
        // checks that every record but the serialization id equals torch.save's for the same dict.
        let result = try runScript(["check-generator", path])
        XCTAssertEqual(result["keys"] as? Int, 9)
        XCTAssertEqual(result["output_shape"] as? [Int], [1, 3, 12, 20])
        XCTAssertEqual((result["num_batches_tracked"] as? NSNumber)?.int64Value, 1000 + 6 << 40)
        // The zip64 variant (every size and offset in zip64 fields) is read by torch as the same tensors.
        let zip64 = try tempPath("generator64.pth")
        try Checkpoint.write(Self.generator, to: zip64, zip64Limit: 0)
        XCTAssertEqual(try runScript(["same-tensors", path, zip64])["int64"] as? Int, 1)
        try Checkpoint.write(Self.generator, to: zip64, zip64Limit: 1000) // zip64 for some fields only
        XCTAssertEqual(try runScript(["same-tensors", path, zip64])["int64"] as? Int, 1)
    }

    func testSwiftReadsWhatTorchWrites() throws {
        try requireTorch()
        let path = try tempPath("reference.pth")
        _ = try runScript(["write-reference", path])
        let sd = try Checkpoint.load(path)
        XCTAssertEqual(sd.keys, ["generate.0.weight", "generate.1.num_batches_tracked", "rng", "base", "column", "empty"])
        XCTAssertEqual(sd["generate.0.weight"]?.values, CheckpointWriterTests.ramp(96, salt: 1))
        XCTAssertEqual(sd["generate.0.weight"]?.shape, [2, 3, 4, 4])
        XCTAssertEqual(sd["generate.1.num_batches_tracked"]?.shape, [])
        XCTAssertEqual(sd["generate.1.num_batches_tracked"]?.dtype, .int64)
        XCTAssertEqual(sd["generate.1.num_batches_tracked"]?.integers, [123_456_789_012])
        XCTAssertEqual(sd["rng"]?.integers, [.max, .min, -1, (1 << 53) + 1])
        let base = CheckpointWriterTests.ramp(12, salt: 5)
        XCTAssertEqual(sd["column"]?.values, [base[1], base[5], base[9]])
        XCTAssertEqual(sd["empty"]?.shape, [0, 3])
        // Written back by Swift, torch reads the same tensors (the view becomes a contiguous tensor).
        let again = try tempPath("again.pth")
        try Checkpoint.write(sd.keys.map { try XCTUnwrap(CheckpointEntry($0, sd[$0]!)) }, to: again)
        let same = try runScript(["same-tensors", path, again])
        XCTAssertEqual(same["keys"] as? Int, 6)
    }

    func testGANReferenceFilesReadAndRewrite() throws {
        let names = ["generator_init.pth", "discriminator_init.pth", "inputs.pth"]
        for name in names {
            let path = Self.ganParity + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing") }
            let sd = try Checkpoint.load(path)
            let bn = sd.keys.filter { $0.hasSuffix("num_batches_tracked") }
            for key in bn {
                XCTAssertEqual(sd[key]?.dtype, .int64, key)
                XCTAssertEqual(sd[key]?.shape, [], key)
                XCTAssertEqual(sd[key]?.integers?.count, 1, key)
            }
            if name == "generator_init.pth" {
                XCTAssertEqual(sd.keys.count, 30)
                XCTAssertEqual(bn.count, 4)
                XCTAssertEqual(sd["generate.0.weight"]?.shape, [8, 32, 4, 4])
                XCTAssertEqual(sd["generate.12.weight"]?.shape, [8, 3, 4, 4])
            }
            if name == "inputs.pth" { XCTAssertEqual(sd["real"]?.shape, [4, 3, 64, 64]) }
            let rewritten = try tempPath(name)
            try Checkpoint.write(sd.keys.map { try XCTUnwrap(CheckpointEntry($0, sd[$0]!)) }, to: rewritten)
            let back = try Checkpoint.load(rewritten)
            XCTAssertEqual(back.keys, sd.keys)
            for key in sd.keys {
                XCTAssertEqual(back[key]?.values.map(\.bitPattern), sd[key]?.values.map(\.bitPattern), key)
                XCTAssertEqual(back[key]?.integers, sd[key]?.integers, key)
            }
            if Python.torchMissing == nil {
                let same = try runScript(["same-tensors", path, rewritten])
                XCTAssertEqual(same["keys"] as? Int, sd.keys.count, name)
            }
        }
        try requireTorch() // reading and re-reading passed; say that the torch half was skipped
    }
}
