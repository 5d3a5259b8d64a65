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
                XCTAssertEqual(r.json["methods"] as? [String], ["gatys", "gan", "texnet"])
            }
            try await client.execute(uri: "/api/defaults", method: .get) { r in
                let gatys = r.json["gatys"] as? [String: Any] ?? [:], gan = r.json["gan"] as? [String: Any] ?? [:]
                XCTAssertEqual(gatys["size"] as? Int, 128)
                XCTAssertEqual(gatys["steps"] as? Int, 100)
                XCTAssertEqual(gatys["layers"] as? [String], ["conv1_1", "pool1", "pool2", "pool3", "pool4"])
                XCTAssertEqual(gatys["optimizers"] as? [String], ["lbfgs", "adam"])
                XCTAssertEqual(gan["steps"] as? Int, 300)
                XCTAssertEqual(gan["size"] as? Int, 256)
                XCTAssertEqual(gan["presets"] as? [String], ["seed", "small"])
                XCTAssertEqual(gan["preset"] as? String, "small")
                let texnet = r.json["texnet"] as? [String: Any] ?? [:]
                XCTAssertEqual(texnet["presets"] as? [String], ["small", "paper"])
                XCTAssertEqual(texnet["losses"] as? [String], ["gram", "sw", "gram+sw"])
                XCTAssertEqual(texnet["steps"] as? Int, 200)
                XCTAssertEqual(texnet["size"] as? Int, 256)
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

    /// A request that leaves out every parameter runs with the defaults the page is given.
    func testJobsLeftToTheirDefaultsRunWithTheDefaultsThePageShows() throws {
        let server = try makeServer()
        let gatys = try GatysJob(parameters: ["source": .string("gravel")], sources: server.sources, limits: .init())
        XCTAssertEqual([gatys.width, gatys.height, gatys.steps, gatys.history], [128, 128, 100, 20])
        XCTAssertEqual(gatys.layers, GatysJob.pageDefaults["layers"] as? [String])
        XCTAssertEqual(gatys.optimizer, GatysJob.pageDefaults["optimizer"] as? String)
        XCTAssertEqual(gatys.width, GatysJob.pageDefaults["size"] as? Int)
        let gan = try GANJob(parameters: ["source": .string("gravel")], sources: server.sources, limits: .init())
        XCTAssertEqual([gan.request.steps, gan.request.size], [GANJob.pageDefaults["steps"] as? Int, GANJob.pageDefaults["size"] as? Int])
        XCTAssertEqual(gan.preset.rawValue, GANJob.pageDefaults["preset"] as? String)
    }
}
