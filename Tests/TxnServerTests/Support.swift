import Foundation
import Hummingbird
import HummingbirdTesting
import TxnImage
import TxnTestSupport
import XCTest
@testable import TxnServer

/// A server over a fresh data folder, the shipped textures, and the real weights.
func makeServer(shipped: String? = nil, configure: (inout ServerSettings) -> Void = { _ in }) throws -> TxnServer {
    let data = NSTemporaryDirectory() + "txn-serve-test-\(UUID().uuidString)"
    var settings = ServerSettings(shippedDirectory: shipped ?? Paths.repoRoot + "/Notebooks/data", dataDirectory: data,
                                  modelsDirectory: Paths.repoRoot + "/Models")
    configure(&settings)
    return try TxnServer(settings: settings)
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

/// The events of a finished stream: (name, data) pairs.
func parseEvents(_ text: String) -> [(name: String, data: [String: Any])] {
    text.components(separatedBy: "\n\n").compactMap { block in
        var name = "message", data = ""
        for line in block.split(separator: "\n") {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data += line.dropFirst(6) }
        }
        guard !data.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { return nil }
        return (name, object)
    }
}

/// A small PNG made here, so upload tests know its exact size.
func pngBytes(width: Int, height: Int) throws -> [UInt8] {
    var pixels = [Float](repeating: 0, count: 3 * width * height)
    for i in pixels.indices { pixels[i] = Float(i % 7) / 7 }
    return try Image(width: width, height: height, pixels: pixels).encoded(as: .png)
}
