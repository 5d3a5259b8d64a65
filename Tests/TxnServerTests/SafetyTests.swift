import Foundation
import Hummingbird
import HummingbirdTesting
import TxnTestSupport
import XCTest
@testable import TxnServer

/// Uploads, paths and who may talk to the server: the seed's counter-examples.
final class SafetyTests: XCTestCase {
    func testUploadsGoodTooBigNotAnImageTruncated() async throws {
        let server = try makeServer { $0.limits.uploadBytes = 64 * 1024; $0.limits.uploadPixels = 100 * 100 }
        let png = try pngBytes(width: 30, height: 20)
        let jpeg = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.repoRoot + "/Tests/TxnImageTests/Fixtures")
            .appendingPathComponent(try FileManager.default.contentsOfDirectory(atPath: Paths.repoRoot + "/Tests/TxnImageTests/Fixtures")
                .filter { $0.hasSuffix(".jpg") }.sorted().first!)))
        try await Application(router: server.router()).test(.router) { client in
            // Raw body with an image type, and the same file as multipart.
            let id = try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                              body: ByteBuffer(bytes: png)) { r in
                XCTAssertEqual(r.status, .created, r.text)
                XCTAssertEqual(r.json["width"] as? Int, 30)
                XCTAssertEqual(r.json["height"] as? Int, 20)
                return r.json["id"] as? String ?? ""
            }
            XCTAssertTrue(id.hasPrefix("u"))
            try await client.execute(uri: "/api/sources/\(id)/image", method: .get) { r in
                XCTAssertEqual(Array(r.body.readableBytesView), png, "the stored bytes are the uploaded bytes")
            }
            let boundary = "----txn\(UUID().uuidString)"
            var multipart = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../evil.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            multipart += png + Array("\r\n--\(boundary)--\r\n".utf8)
            try await client.execute(uri: "/api/sources", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=\(boundary)"],
                                     body: ByteBuffer(bytes: multipart)) { r in
                XCTAssertEqual(r.status, .created, r.text)
                XCTAssertFalse(r.text.contains("evil"), "the client's file name is not used")
            }
            // A JPEG sent as image/png: the content decides.
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: jpeg)) { r in
                XCTAssertEqual(r.status, .created, r.text)
                XCTAssertEqual(r.json["format"] as? String, "jpeg")
            }
            // Too many bytes; too many pixels (checked from the header); not an image; truncated; empty.
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: [UInt8](repeating: 7, count: 64 * 1024 + 1))) { r in
                XCTAssertEqual(r.status, .contentTooLarge)
                XCTAssertNotNil(r.json["error"] as? String)
            }
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: try pngBytes(width: 101, height: 100))) { r in
                XCTAssertEqual(r.status, .contentTooLarge, r.text)
                XCTAssertTrue((r.json["error"] as? String ?? "").contains("pixels"), r.text)
            }
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(string: "<html>not an image</html>")) { r in
                XCTAssertEqual(r.status, .unsupportedMediaType, r.text)
            }
            try await client.execute(uri: "/api/sources", method: .post, headers: [.contentType: "image/png"],
                                     body: ByteBuffer(bytes: Array(png.prefix(png.count / 2)))) { r in
                XCTAssertEqual(r.status, .badRequest, r.text)
                XCTAssertNotNil(r.json["error"] as? String)
            }
            try await client.execute(uri: "/api/sources", method: .post) { r in XCTAssertEqual(r.status, .badRequest) }
            try await client.execute(uri: "/api/sources", method: .get) { r in
                XCTAssertEqual((r.json["sources"] as? [Any])?.count, 3 + 3, "three shipped, three good uploads")
            }
        }
    }

    func testNoClientPathIsEverOpened() async throws {
        // A shipped folder with a real texture, a symlink to /etc/passwd and a symlink to a PNG outside it.
        let dir = NSTemporaryDirectory() + "txn-shipped-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let png = try pngBytes(width: 16, height: 16)
        FileManager.default.createFile(atPath: dir + "/real.png", contents: Data(png))
        let outside = NSTemporaryDirectory() + "txn-outside-\(UUID().uuidString).png"
        FileManager.default.createFile(atPath: outside, contents: Data(png))
        try FileManager.default.createSymbolicLink(atPath: dir + "/passwd.png", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: dir + "/outside.png", withDestinationPath: outside)
        let server = try makeServer(shipped: dir)
        // An upload-like name planted in the data folder as a symlink is not picked up either.
        try FileManager.default.createSymbolicLink(atPath: server.settings.dataDirectory + "/sources/u0123456789abcdef.png",
                                                   withDestinationPath: outside)
        let again = try TxnServer(settings: server.settings)
        try await Application(router: again.router()).test(.router) { client in
            try await client.execute(uri: "/api/sources", method: .get) { r in
                let ids = (r.json["sources"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                XCTAssertEqual(ids, ["real"], "symlinks are not sources")
            }
            let attempts = [
                "/../../../../etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                "/%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/etc/passwd", "//etc/passwd", "/app.js/../../etc/passwd",
                "/api/sources/passwd/image", "/api/sources/outside/image", "/api/sources/u0123456789abcdef/image",
                "/api/sources/..%2F..%2F..%2Fetc%2Fpasswd/image", "/api/sources/%2Fetc%2Fpasswd/image",
                "/api/sources/%252e%252e%252fetc%252fpasswd/image", "/api/sources/../../etc/passwd/image",
                "/api/sources/real%2F..%2F..%2Fpasswd/image", "/api/sources/..%5C..%5Cetc%5Cpasswd/image",
                "/api/sources/real/../passwd/image", "/api/sources/%00/image", "/api/jobs/..%2F..%2Fetc%2Fpasswd/notebook",
                "/api/jobs/1/../../../etc/passwd", "/static/../../etc/passwd", "/api/sources/real/image/../../../../etc/passwd",
            ]
            for uri in attempts {
                try await client.execute(uri: uri, method: .get) { r in
                    XCTAssertTrue([.notFound, .badRequest].contains(r.status), "\(uri): \(r.status)")
                    XCTAssertFalse(r.text.contains("root:"), uri)
                    XCTAssertNotNil(r.json["error"], "\(uri): errors are JSON")
                }
            }
            try await client.execute(uri: "/api/sources/real/image", method: .get) { r in
                XCTAssertEqual(Array(r.body.readableBytesView), png)
            }
        }
    }

    func testOriginAndTokenChecks() async throws {
        let loopback = try makeServer()
        try await Application(router: loopback.router()).test(.router) { client in
            // The test client's Host is `localhost`: only that origin (port 80) is the server's own; localhost on another
            // port, or the server under another of its names, is another origin.
            for (origin, allowed) in [("http://localhost", true), ("http://localhost:80", true), ("http://localhost:5000", false),
                                      ("http://127.0.0.1", false), ("http://[::1]", false), ("http://[::1]:5000", false),
                                      ("http://evil.example", false), ("null", false), ("http://localhost.evil.example", false),
                                      ("https://127.0.0.1.nip.io", false), ("file://", false)] {
                try await client.execute(uri: "/api/jobs", method: .post, headers: [.origin: origin, .contentType: "application/json"],
                                         body: jsonBody(["method": "gatys"])) { r in
                    // Allowed requests get as far as checking parameters (400); refused ones get 403.
                    XCTAssertEqual(r.status, allowed ? .badRequest : .forbidden, origin)
                    XCTAssertNotNil(r.json["error"] as? String)
                }
            }
        }
        let exposed = try makeServer { $0.host = "0.0.0.0"; $0.token = "s3cret-token" }
        XCTAssertEqual(exposed.url(port: 8080), "http://0.0.0.0:8080/?token=s3cret-token")
        try await Application(router: exposed.router()).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in XCTAssertEqual(r.status, .forbidden) }
            try await client.execute(uri: "/?token=wrong", method: .get) { r in XCTAssertEqual(r.status, .forbidden) }
            try await client.execute(uri: "/?token=s3cret-token", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertTrue(r.headers[.setCookie]?.hasPrefix("txn_token=s3cret-token;") == true)
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.cookie: "a=b; txn_token=s3cret-token"]) { r in
                XCTAssertEqual(r.status, .ok)
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer s3cret-token"]) { r in
                XCTAssertEqual(r.status, .ok)
            }
            try await client.execute(uri: "/api/sources", method: .get, headers: [.authorization: "Bearer s3cret-tokeN"]) { r in
                XCTAssertEqual(r.status, .forbidden)
            }
        }
        XCTAssertNotNil(try makeServer { $0.host = "0.0.0.0" }.token, "a random token is made when none is given")
    }

    func testHostNamesAllowedOnLoopback() {
        let policy = AccessPolicy(loopback: true, token: nil)
        for host in ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "LOCALHOST", "127.0.0.1"] {
            XCTAssertEqual(policy.check(authority: host, origin: nil, queryToken: nil, cookieToken: nil, bearer: nil), .allow, host)
        }
        for host in ["evil.example:5000", "localhost.evil.example", "127.0.0.1.nip.io:5000", "", "[::2]:5000"] {
            XCTAssertNotEqual(policy.check(authority: host, origin: nil, queryToken: nil, cookieToken: nil, bearer: nil), .allow, host)
        }
        XCTAssertNotEqual(policy.check(authority: nil, origin: nil, queryToken: nil, cookieToken: nil, bearer: nil), .allow)
    }

    /// Host values are parsed strictly: nothing after the bracket or the port, a numeric port, one Host header.
    func testHostValuesAreParsedStrictly() {
        let policy = AccessPolicy(loopback: true, token: nil)
        for host in ["[::1]evil.com", "[::1]evil.com:5000", "[::1]:5000x", "localhost:evil", "localhost:", "localhost:0",
                     "localhost:65536", "localhost:5000:1", "localhost@evil.example", "evil.example@localhost", "localhost/x",
                     "[::1", "[]", "[::1]]", "lo\u{301}calhost", "localhost\u{0}", " localhost", "localhost "] {
            XCTAssertNotEqual(policy.check(authority: host, origin: nil, queryToken: nil, cookieToken: nil, bearer: nil), .allow, host)
        }
        XCTAssertEqual(AccessPolicy.authority("[::1]:5000"), AccessPolicy.Authority(host: "[::1]", port: 5000))
        XCTAssertEqual(AccessPolicy.authority("LocalHost"), AccessPolicy.Authority(host: "localhost", port: nil))
        XCTAssertNotEqual(policy.check(authority: "localhost:5000", hostHeaders: 2, origin: nil, queryToken: nil, cookieToken: nil,
                                       bearer: nil), .allow, "two Host headers")
        // The Origin must be the server's own: scheme, name and port of the Host.
        for (origin, allowed) in [("http://localhost:5000", true), ("http://LOCALHOST:5000", true), ("http://localhost:5001", false),
                                  ("http://localhost", false), ("https://localhost:5000", false), ("http://127.0.0.1:5000", false),
                                  ("http://localhost:5000/", false), ("http://user@localhost:5000", false), ("localhost:5000", false)] {
            let decision = policy.check(authority: "localhost:5000", origin: origin, queryToken: nil, cookieToken: nil, bearer: nil)
            XCTAssertEqual(decision == .allow, allowed, "\(origin): \(decision)")
        }
        // Token mode: the same Origin rule, and an Origin needs a Host to be compared with.
        let exposed = AccessPolicy(loopback: false, token: "t")
        XCTAssertNotEqual(exposed.check(authority: nil, origin: "http://evil.example", queryToken: nil, cookieToken: nil, bearer: "t"), .allow)
        XCTAssertNotEqual(exposed.check(authority: "box:5000", origin: "http://box:5001", queryToken: nil, cookieToken: nil, bearer: "t"), .allow)
        XCTAssertEqual(exposed.check(authority: "box:5000", origin: "http://box:5000", queryToken: nil, cookieToken: nil, bearer: "t"), .allow)
        XCTAssertEqual(exposed.check(authority: nil, origin: nil, queryToken: nil, cookieToken: nil, bearer: "t"), .allow)
    }
}
