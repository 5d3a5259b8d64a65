import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import TxnServer

final class RouteTests: XCTestCase {
    func testPageAndStaticFiles() async throws {
        let server = try makeServer()
        try await Application(router: server.router()).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "text/html; charset=utf-8")
                XCTAssertTrue(r.text.contains("<script src=\"/app.js\""))
                XCTAssertNotNil(r.headers[.contentSecurityPolicy])
            }
            try await client.execute(uri: "/app.js", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertTrue(r.text.contains("new EventSource"))
            }
            try await client.execute(uri: "/app.css", method: .get) { r in XCTAssertEqual(r.status, .ok) }
            try await client.execute(uri: "/api/capabilities", method: .get) { r in
                XCTAssertEqual(r.json["methods"] as? [String], ["gatys", "gan"])
            }
            try await client.execute(uri: "/api/sources", method: .get) { r in
                let ids = (r.json["sources"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                XCTAssertEqual(Set(ids), ["gravel", "ihc", "wood"])
            }
            try await client.execute(uri: "/api/sources/gravel/image", method: .get) { r in
                XCTAssertEqual(r.status, .ok)
                XCTAssertEqual(r.headers[.contentType], "image/png")
                XCTAssertEqual(Array(r.body.readableBytesView.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
            }
        }
    }
}
