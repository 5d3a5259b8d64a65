import Foundation
import TxnImage
import TxnTensor

/// Collects the cells of a run and writes them as a rendered notebook (`--report FILE.html`).
public final class ReportRecorder {
    public let title: String
    private var cells: [ReportCell] = []
    private let started = Date()

    public init(title: String) { self.title = title }

    public func add(_ cell: Interpreter.Cell) {
        switch cell.item {
        case .prose(let text, let line):
            cells.append(ReportCell(kind: .prose, source: text, line: line))
        case .statement(let s):
            let images = cell.images.compactMap { entry -> (caption: String, png: [UInt8])? in
                guard let png = try? entry.image.encoded(as: .png) else { return nil }
                return (entry.caption, png)
            }
            cells.append(ReportCell(kind: .code, source: s.text, line: s.line, output: cell.output, images: images,
                                    error: cell.error?.description, seconds: cell.seconds))
        }
    }

    public func write(to path: String, interpreter: Interpreter) throws {
        let formatter = ISO8601DateFormatter()
        let metadata: [(String, String)] = [
            ("run", formatter.string(from: started)),
            ("txn", txnVersion),
            ("threads", "\(Threads.count)"),
            ("machine", ProcessInfo.processInfo.hostName),
            ("total time", String(format: "%.1f s", Date().timeIntervalSince(started))),
        ]
        try HTMLReport.write(title: title, cells: cells, metadata: metadata, to: path)
    }
}
