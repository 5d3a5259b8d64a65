/// A notebook's prose (its comment blocks, in the Markdown subset the HTML report reads) as terminal text, for
/// `txn --step`: headings bold, `**bold**` bold, `*em*` italic, `` `code` `` in colour, paragraphs re-wrapped.
/// Without styling (output not a terminal) the markers are dropped and the text is the same.
public enum TerminalProse {
    public struct Style: Equatable {
        var on: String, off: String
        static let bold = Style(on: "\u{1B}[1m", off: "\u{1B}[22m")
        static let italic = Style(on: "\u{1B}[3m", off: "\u{1B}[23m")
        static let code = Style(on: "\u{1B}[36m", off: "\u{1B}[39m")
        static let heading = Style(on: "\u{1B}[1;4m", off: "\u{1B}[22;24m")
    }

    public static func render(_ source: String, styled: Bool, width: Int = 80) -> String {
        var out: [String] = []
        var paragraph: [String] = []
        func flush() {
            if !paragraph.isEmpty { out += wrap(inline(paragraph.joined(separator: " "), styled: styled), width: width, indent: "") }
            paragraph = []
        }
        for raw in sanitized(source).split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let hashes = line.prefix(while: { $0 == "#" }).count
            if line.isEmpty {
                flush()
                if out.last != "" && !out.isEmpty { out.append("") }
            } else if (1...3).contains(hashes), line.dropFirst(hashes).first == " " {
                flush()
                let text = inline(String(line.dropFirst(hashes)).trimmingCharacters(in: .whitespaces), styled: styled)
                out.append(styled ? Style.heading.on + text + Style.heading.off : text)
            } else if line.hasPrefix("- ") || (line.hasPrefix("* ") && !line.hasPrefix("**")) {
                flush()
                let item = wrap(inline(String(line.dropFirst(2)), styled: styled), width: width - 4, indent: "")
                out += item.enumerated().map { ($0.offset == 0 ? "  • " : "    ") + $0.element }
            } else {
                paragraph.append(line)
            }
        }
        flush()
        while out.last == "" { out.removeLast() }
        return out.map { $0 + "\n" }.joined()
    }

    /// Control characters (a terminal escape in a comment) are shown as U+FFFD, never sent to the terminal.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { s in
            s == "\n" ? s : s == "\t" ? " " : (s.value < 0x20 || (0x7F...0x9F).contains(s.value)) ? "\u{FFFD}" : s
        }))
    }

    /// Inline markers to styles, in one pass: where each marker next occurs is tabulated once, so a line of many
    /// unmatched `*` costs no more than its length (the HTML report's rule).
    static func inline(_ text: String, styled: Bool) -> String {
        let c = Array(text)
        let n = c.count
        func table(_ matches: (Int) -> Bool) -> [Int] {
            var next = [Int](repeating: n, count: n + 1)
            var i = n - 1
            while i >= 0 { next[i] = matches(i) ? i : next[i + 1]; i -= 1 }
            return next
        }
        let tick = table { c[$0] == "`" }
        let star = table { c[$0] == "*" }
        let double = table { $0 + 1 < n && c[$0] == "*" && c[$0 + 1] == "*" }
        var out = ""
        func styledText(_ s: String, _ style: Style) -> String { styled ? style.on + s + style.off : s }
        var i = 0
        while i < n {
            if c[i] == "`", i + 1 <= n, tick[i + 1] < n {
                out += styledText(String(c[(i + 1)..<tick[i + 1]]), .code)
                i = tick[i + 1] + 1
            } else if c[i] == "*", i + 1 < n, c[i + 1] == "*", i + 2 <= n, double[i + 2] < n, double[i + 2] > i + 2 {
                out += styledText(String(c[(i + 2)..<double[i + 2]]), .bold)
                i = double[i + 2] + 2
            } else if c[i] == "*", i + 1 < n, !c[i + 1].isWhitespace, c[i + 1] != "*", star[i + 1] < n, !c[star[i + 1] - 1].isWhitespace {
                out += styledText(String(c[(i + 1)..<star[i + 1]]), .italic)
                i = star[i + 1] + 1
            } else {
                out.append(c[i])
                i += 1
            }
        }
        return out
    }

    /// Words to lines of at most `width` visible columns (escape sequences take none).
    static func wrap(_ text: String, width: Int, indent: String) -> [String] {
        var lines: [String] = []
        var line = "", visible = 0
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let length = visibleLength(word)
            if visible > 0 && visible + 1 + length > max(20, width) {
                lines.append(line)
                line = ""; visible = 0
            }
            if visible > 0 { line += " "; visible += 1 }
            line += word
            visible += length
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    static func visibleLength<S: StringProtocol>(_ s: S) -> Int {
        var count = 0, escape = false
        for ch in s.unicodeScalars {
            if escape { if (0x40...0x7E).contains(ch.value) && ch != "[" { escape = false }; continue }
            if ch == "\u{1B}" { escape = true; continue }
            count += 1
        }
        return count
    }
}
