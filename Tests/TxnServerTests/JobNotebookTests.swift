import Foundation
import TxnNotebook
import XCTest
@testable import TxnServer

/// A job's notebook is made of the server's statements only: a source's name or path is data in a string or a
/// comment, never a line of its own, whatever characters the file name holds.
final class JobNotebookTests: XCTestCase {
    /// A shipped texture whose file name carries a CR, a CRLF, quotes and a backslash: before, the CR in the header
    /// comment ("like NAME") ended the comment, and the notebook ran `save t "pwned.png"` as a statement of its own.
    func testASourceNameWithCRInjectsNoStatement() throws {
        let shipped = NSTemporaryDirectory() + "txn-hostile-names-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: shipped, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shipped) }
        let name = "x\rsave t \"pwned.png\"\r\nm = model\\\r.png"
        try Data(try pngBytes(width: 64, height: 64)).write(to: URL(fileURLWithPath: shipped + "/" + name))
        let server = try makeServer(shipped: shipped)
        let entry = try XCTUnwrap(server.sources.all.first { $0.name == name }, "the hostile name is served as is")

        let gatys = try GatysJob(parameters: ["source": .string(entry.id), "size": .number(16), "steps": .number(1), "tile": .bool(true)],
                                 sources: server.sources, limits: .init())
        let gan = try GANJob(parameters: ["source": .string(entry.id), "steps": .number(1), "crop": .number(64), "size": .number(64)],
                             sources: server.sources, limits: .init())
        for (notebook, statements) in [(gatys.notebook(jobID: "j1", completedSteps: nil), gatys.statements(completedSteps: nil)),
                                       (gan.notebook(jobID: "j2", completedSteps: 1), GeneratorJob.statements(gan.plan, jobID: "j2", completedSteps: 1))] {
            let items = try Parser.parse(notebook, file: "job.txn")
            let ran = items.compactMap { item -> String? in
                if case .statement(let s) = item { return s.text }
                return nil
            }
            // The statements the server runs, then the frame's saves: nothing else, in this order.
            let saves = ran.dropFirst(statements.count)
            XCTAssertEqual(Array(ran.prefix(statements.count)), statements, notebook)
            XCTAssertTrue(saves.allSatisfy { $0.hasPrefix("save ") || $0.hasPrefix("preview = tile") }, notebook)
            XCTAssertFalse(saves.contains { $0.contains("pwned") }, notebook)
            XCTAssertEqual(saves.count, 1 + (notebook.contains("preview = tile") ? 2 : 0), notebook)
            // The load reads exactly the file's path back.
            let load = try XCTUnwrap(items.lazy.compactMap { item -> String? in
                guard case .statement(let s) = item, case .assignment("src", _, let call) = s.statement,
                      case .string(let path, _)? = call.positional.first else { return nil }
                return path
            }.first, notebook)
            XCTAssertEqual(Array(load.unicodeScalars), Array(entry.path.unicodeScalars))
        }
    }

    /// Layer names are written into the optimize statement as words: one that carries a `;` or a line break, or a
    /// name the notebook does not know, is refused by the notebook's own check before the job is queued.
    func testLayerNamesCannotAddStatements() throws {
        let server = try makeServer()
        for layers in ["pool1;save t \"pwned.png\"", "pool1\nsave t \"pwned.png\"", "pool1 histmatch=true", "conv9_9"] {
            XCTAssertThrowsError(try GatysJob(parameters: ["source": .string("gravel"), "size": .number(32),
                                                           "layers": .array([.string(layers)])],
                                              sources: server.sources, limits: .init()), layers.debugDescription) { error in
                XCTAssertTrue("\(error)".contains("layers") || "\(error)".contains("expected one command")
                              || "\(error)".contains("histmatch"), "\(layers.debugDescription): \(error)")
            }
        }
    }
}
