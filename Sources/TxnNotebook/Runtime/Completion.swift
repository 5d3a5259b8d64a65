import Foundation
import TxnVGG

extension Interpreter {
    /// Tab completion for the REPL: commands, keys of the command being typed, values of choice
    /// keys, variable names and fields, VGG layer names, and file paths inside quotes.
    public func complete(line: String, cursor: Int) -> (start: Int, candidates: [String]) {
        let chars = Array(line.prefix(cursor))
        // The line as the parser reads it (strings, escapes, `;` inside strings), tolerating what is half typed.
        let pieces = Scanner.tolerantPieces(String(chars))
        // Inside an unterminated string: complete a file path.
        if let last = pieces.last, last.kind == nil, let quote = last.text.first, quote == "\"" || quote == "'",
           last.offset + last.text.count == chars.count {
            return (last.offset + 1, completePath(String(last.text.dropFirst()), closing: quote))
        }
        // The whole argument being typed (key=a,b,…), and within it the last item.
        var tokenStart = chars.count
        while tokenStart > 0, !" \t[;".contains(chars[tokenStart - 1]) { tokenStart -= 1 }
        let token = String(chars[tokenStart...])
        var start = chars.count
        while start > 0, !" \t,[;".contains(chars[start - 1]) { start -= 1 }
        // The statement the cursor is in (after the last `;` or newline the scanner saw), without an assignment target.
        let statementStart = min(tokenStart, pieces.last { $0.kind == .semicolon || $0.kind == .newline }.map { $0.offset + 1 } ?? 0)
        let statement = String(chars[statementStart..<tokenStart])
        var words = statement.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if words.count >= 2, words[1] == "=" { words.removeFirst(2) }
        if words.first == "time" { words.removeFirst() }

        let word = String(chars[start...])
        // explain's arguments are another command's: complete the command, then its own keys and values.
        if words.first == "explain" {
            words.removeFirst()
            if words.isEmpty { return (start, commandNames.filter { $0.hasPrefix(word) }.sorted()) }
        }
        if words.isEmpty {
            return (start, (commandNames + ["param", "time"]).filter { $0.hasPrefix(word) }.sorted())
        }
        let spec = commandsByName[words[0]]
        // key=partial: complete the value.
        if let eq = token.firstIndex(of: "=") {
            let key = String(token[..<eq]), partial = String(token[token.index(after: eq)...])
            let valueStart = tokenStart + key.count + 1
            let type = spec?.keys.first { $0.name == key }?.type
            let lastItem = partial.split(separator: ",", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            let itemStart = valueStart + partial.count - lastItem.count
            switch type {
            case .choice(let options)?: return (itemStart, options.filter { $0.hasPrefix(lastItem) })
            case .layers?: return (itemStart, VGG19.layerNames.filter { $0.hasPrefix(lastItem) && $0 != "input" })
            default: return (itemStart, variables.keys.filter { $0.hasPrefix(lastItem) }.sorted())
            }
        }
        // var.field
        if let dot = word.lastIndex(of: "."), let value = variables[String(word[..<dot])] {
            let partial = String(word[word.index(after: dot)...])
            return (start + word.distance(from: word.startIndex, to: dot) + 1, value.fields.filter { $0.hasPrefix(partial) })
        }
        var candidates = variables.keys.filter { $0.hasPrefix(word) }.sorted()
        if let spec {
            let given = Set(words.compactMap { $0.split(separator: "=").first.map(String.init) })
            candidates += spec.keys.map { $0.name + "=" }.filter { $0.hasPrefix(word) && !given.contains(String($0.dropLast())) }
            if spec.name == "help" { candidates += commandNames.filter { $0.hasPrefix(word) } }
        }
        candidates += VGG19.layerNames.filter { $0.hasPrefix(word) && !word.isEmpty && $0 != "input" }
        return (start, candidates)
    }

    private func completePath(_ partial: String, closing quote: Character = "\"") -> [String] {
        let expanded = partial.hasPrefix("~") ? (partial as NSString).expandingTildeInPath : partial
        let full = expanded.hasPrefix("/") ? expanded : baseDirectory + "/" + expanded
        let dir = full.hasSuffix("/") ? full : (full as NSString).deletingLastPathComponent
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
