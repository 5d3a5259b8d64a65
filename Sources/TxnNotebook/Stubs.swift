// TEMPORARY: stand-ins for the REPL and report work on branch `repl`; deleted at merge.
public final class LineEditor {
    public enum Input: Equatable { case line(String), interrupted, endOfFile }
    public init(program: String, historyFile: String?, historySize: Int = 1000) {}
    public var completer: ((_ line: String, _ cursor: Int) -> (start: Int, candidates: [String]))?
    public func readLine(prompt: String) -> Input { .endOfFile }
    public func addHistory(_ line: String) {}
}
public struct ReportCell: Sendable {
    public enum Kind: Sendable { case code, prose }
    public init(kind: Kind, source: String, line: Int, output: String = "", images: [(caption: String, png: [UInt8])] = [], error: String? = nil, seconds: Double? = nil) {}
}
public enum HTMLReport {
    public static func write(title: String, cells: [ReportCell], metadata: [(String, String)], to path: String) throws {}
}
