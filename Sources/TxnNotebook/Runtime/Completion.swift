import Foundation
import TxnFiles
import TxnVGG

extension Interpreter {
    /// Tab completion for the REPL: commands, keys of the command being typed, values of choice
    /// keys, variable names and fields, VGG layer names, and file paths inside quotes.
    public func complete(line: String, cursor: Int) -> (start: Int, candidates: [String]) {
        let chars = Array(line.prefix(cursor))
        // The line as the parser reads it (strings, escapes, `;` inside strings, `pixels-channels`, `256px`),
        // tolerating what is half typed; every boundary below is a boundary between the scanner's pieces.
        let pieces = Scanner.tolerantPieces(String(chars))
        func end(_ p: Scanner.Piece) -> Int { p.offset + p.text.count }
        // Inside an unterminated string: complete a file path.
        if let last = pieces.last, last.kind == nil, let quote = last.text.first, quote == "\"" || quote == "'",
           end(last) == chars.count {
            return (last.offset + 1, completePath(String(last.text.dropFirst()), closing: quote))
        }
        // Inside a comment: nothing to complete.
        if let last = pieces.last, case .comment? = last.kind, end(last) == chars.count { return (chars.count, []) }
        // The statement the cursor is in: after the last `;` or newline.
        var statement = Array(pieces.suffix(from: (pieces.lastIndex { $0.kind == .semicolon || $0.kind == .newline } ?? -1) + 1))
        statement.removeAll { if case .comment? = $0.kind { return true } else { return false } }
        // The word being typed: a name (or rejected text) that ends at the cursor; else nothing yet.
        var word = "", start = chars.count
        if let last = statement.last, end(last) == chars.count, last.kind == nil || last.isIdentifier {
            (word, start) = (last.text, last.offset)
            statement.removeLast()
        }
        // The whole argument being typed (`key=a,b,…` or `var.`): the pieces that touch each other up to the word.
        var argument: [Scanner.Piece] = []
        var touching = start
        while let p = statement.last, end(p) == touching, p.kind != .leftBracket {
            argument.insert(p, at: 0)
            touching = p.offset
            statement.removeLast()
        }
        // The command: the first name of the statement, after `time` prefixes and an assignment target.
        var words = statement
        while words.first?.text == "time" && words.first?.isIdentifier == true { words.removeFirst() }
        if words.count >= 2, words[0].isIdentifier, words[1].kind == .equals { words.removeFirst(2) }
        while words.first?.text == "time" && words.first?.isIdentifier == true { words.removeFirst() }

        // explain's arguments are another command's: complete the command, then its own keys and values.
        if let first = words.first, first.isIdentifier, commandsByName[first.text]?.runUnbound != nil {
            words.removeFirst()
            if words.isEmpty && argument.isEmpty { return (start, commandNames.filter { $0.hasPrefix(word) }.sorted()) }
        }
        if words.isEmpty && argument.isEmpty {
            return (start, (commandNames + ["param", "time"]).filter { $0.hasPrefix(word) }.sorted())
        }
        let spec = words.first.flatMap { $0.isIdentifier ? commandsByName[$0.text] : nil }
        // key=partial: complete the value, or the item of a list of values after the last comma.
        if argument.count >= 2, argument[0].isIdentifier, argument[1].kind == .equals {
            let type = spec?.keys.first { $0.name == argument[0].text }?.type
            // The item is everything after the last `=` or `,`: a half-typed `pixels-` is two pieces, not a word.
            let separator = argument.lastIndex { $0.kind == .equals || $0.kind == .comma }!
            let itemStart = end(argument[separator])
            let item = String(chars[itemStart..<chars.count])
            switch type {
            case .choice(let options)?: return (itemStart, options.filter { $0.hasPrefix(item) })
            case .layers?: return (itemStart, VGG19.layerNames.filter { $0.hasPrefix(item) && $0 != "input" })
            default: return (itemStart, variables.keys.filter { $0.hasPrefix(item) }.sorted())
            }
        }
        // var.field
        if argument.count >= 2, argument.last?.kind == .dot, argument[argument.count - 2].isIdentifier,
           let value = variables[argument[argument.count - 2].text] {
            return (start, value.fields.filter { $0.hasPrefix(word) })
        }
        var candidates = variables.keys.filter { $0.hasPrefix(word) }.sorted()
        if let spec {
            var given = Set<String>()
            for (p, next) in zip(statement, statement.dropFirst()) where p.isIdentifier && next.kind == .equals { given.insert(p.text) }
            candidates += spec.keys.map { $0.name + "=" }.filter { $0.hasPrefix(word) && !given.contains(String($0.dropLast())) }
            if spec.name == "help" { candidates += commandNames.filter { $0.hasPrefix(word) } }
        }
        candidates += VGG19.layerNames.filter { $0.hasPrefix(word) && !word.isEmpty && $0 != "input" }
        return (start, candidates)
    }

    private func completePath(_ partial: String, closing quote: Character = "\"") -> [String] {
        let expanded = partial.hasPrefix("~") ? (partial as NSString).expandingTildeInPath : partial
        let full = expanded.hasPrefix("/") ? expanded : baseDirectory + "/" + expanded
        let dir = full.hasSuffix("/") ? full : parentPath(full)
        let prefix = full.hasSuffix("/") ? "" : (full as NSString).lastPathComponent
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return [] }
        let shownDir = partial.hasSuffix("/") || !partial.contains("/") ? (partial.hasSuffix("/") ? partial : "")
            : String(partial[...partial.lastIndex(of: "/")!])
        return entries.filter { $0.hasPrefix(prefix) && !$0.hasPrefix(".") }.sorted().map { name in
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDir)
            // A file closes the string; a folder leaves it open for the next Tab.
            return shownDir + name + (isDir.boolValue ? "/" : String(quote))
        }
    }
}

private extension Scanner.Piece {
    var isIdentifier: Bool { if case .identifier? = kind { return true } else { return false } }
}
