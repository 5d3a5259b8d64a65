import Foundation
import XCTest
@testable import TxnCheckpoint

final class SHA256Tests: XCTestCase {
    func hex(_ s: String) -> String { SHA256.hex(SHA256.hash(Array(s.utf8))) }

    func testKnownVectors() {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testMillionAsThroughTheFileReader() throws {
        // Through the streaming file path, which hashes in chunks.
        let path = try writeTemp([UInt8](repeating: 0x61, count: 1_000_000), tag: "sha")
        defer { removeTemp(path) }
        XCTAssertEqual(try Checkpoint.sha256(ofFileAt: path),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testIncrementalUpdatesMatchOneShot() {
        // Odd-sized pieces cross the 64-byte block boundary in every way; lengths 0...200 cover every padding case.
        var rng = SplitMix64(state: 42)
        for length in 0...200 {
            let data = (0..<length).map { _ in UInt8(rng.below(256)) }
            var s = SHA256()
            var i = 0
            while i < data.count {
                let n = min(1 + rng.below(70), data.count - i)
                s.update(Array(data[i..<(i + n)]))
                i += n
            }
            XCTAssertEqual(SHA256.hex(s.finalize()), SHA256.hex(SHA256.hash(data)), "length \(length)")
        }
        // 55/56/64-byte messages are the padding edge cases; checked against known digests.
        XCTAssertEqual(hex(String(repeating: "a", count: 55)), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        XCTAssertEqual(hex(String(repeating: "a", count: 56)), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        XCTAssertEqual(hex(String(repeating: "a", count: 64)), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    func testMissingFileIsAnError() {
        XCTAssertThrowsError(try Checkpoint.sha256(ofFileAt: "/nonexistent/file")) { e in
            XCTAssertTrue(String(describing: e).hasPrefix("/nonexistent/file: "))
        }
    }
}
