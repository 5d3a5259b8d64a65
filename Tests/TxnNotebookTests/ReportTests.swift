import Foundation
import XCTest
@testable import TxnNotebook

final class ReportTests: XCTestCase {
    func testEverythingIsEscaped() {
        let cells = [
            ReportCell(kind: .code, source: "print \"<b>&</b>\"", line: 3, output: "<script>alert(1)</script>\n",
                       images: [(caption: "a \"quoted\" <caption>", png: [1, 2, 3])],
                       error: "x.txn:3:1: error: <bad> & \"worse\""),
            ReportCell(kind: .prose, source: "<img src=x onerror=alert(1)> and <script>", line: 1),
        ]
        let html = HTMLReport.render(title: "<title> & co", cells: cells, metadata: [("<key>", "<value>")])
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertFalse(html.contains("<img src=x"))
        XCTAssertFalse(html.contains("<b>"))
        XCTAssertFalse(html.contains("<bad>"))
        XCTAssertFalse(html.contains("<key>"))
        XCTAssertFalse(html.contains("<value>"))
        XCTAssertFalse(html.contains("<caption>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("<title>&lt;title&gt; &amp; co</title>"))
        XCTAssertTrue(html.contains("alt=\"a &quot;quoted&quot; &lt;caption&gt;\""))
        XCTAssertTrue(html.contains("&lt;bad&gt; &amp; &quot;worse&quot;"))
        XCTAssertEqual(HTMLReport.escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;")
    }

    func testSelfContained() {
        let html = HTMLReport.render(title: "t", cells: [ReportCell(kind: .code, source: "x", line: 1)], metadata: [])
        XCTAssertFalse(html.contains("http://"))
        XCTAssertFalse(html.contains("https://"))
        XCTAssertFalse(html.contains("<link"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertTrue(html.contains("<style>"))
    }

    func testEveryImageIsEmbedded() {
        let first: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]
        let second: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 9, 9]
        let third: [UInt8] = Array(repeating: 7, count: 300)
        let cells = [
            ReportCell(kind: .code, source: "show a b", line: 1, images: [("a", first), ("b", second)]),
            ReportCell(kind: .prose, source: "text", line: 2),
            ReportCell(kind: .code, source: "show c", line: 3, images: [("", third)]),
        ]
        let html = HTMLReport.render(title: "images", cells: cells, metadata: [])
        for png in [first, second, third] {
            XCTAssertTrue(html.contains("src=\"data:image/png;base64,\(Data(png).base64EncodedString())\""))
        }
        XCTAssertEqual(html.components(separatedBy: "<img ").count - 1, 3)
        XCTAssertTrue(html.contains("<figcaption>a</figcaption>"))
    }

    func testANSIStripping() {
        XCTAssertEqual(HTMLReport.stripANSI("plain"), "plain")
        XCTAssertEqual(HTMLReport.stripANSI("\u{1B}[1;32mgreen\u{1B}[0m text"), "green text")
        XCTAssertEqual(HTMLReport.stripANSI("a\u{1B}[2Kb\u{1B}[10Dc"), "abc")
        XCTAssertEqual(HTMLReport.stripANSI("\u{1B}]0;window title\u{7}after"), "after")
        XCTAssertEqual(HTMLReport.stripANSI("\u{1B}]8;;http://x\u{1B}\\link\u{1B}]8;;\u{1B}\\"), "link")
        XCTAssertEqual(HTMLReport.stripANSI("x\u{1B}7y\u{1B}8z"), "xyz")
        XCTAssertEqual(HTMLReport.stripANSI("héllo \u{1B}[31m✓\u{1B}[m"), "héllo ✓")
        // Output as a terminal shows it: progress lines rewritten with \r keep their last version.
        XCTAssertEqual(HTMLReport.cleanOutput("\u{1B}[2mstep 1\u{1B}[0m\rstep 2\rstep 3\ndone\n\n"), "step 3\ndone")
        XCTAssertEqual(HTMLReport.cleanOutput("a\r\nb\r\n"), "a\nb")
        let html = HTMLReport.render(title: "t", cells: [ReportCell(kind: .code, source: "x", line: 1,
                                                                       output: "\u{1B}[32mok\u{1B}[0m")], metadata: [])
        XCTAssertFalse(html.contains("\u{1B}"))
        XCTAssertTrue(html.contains("<pre class=\"output\">ok</pre>"))
    }

    func testMarkdownSubset() {
        XCTAssertEqual(HTMLReport.markdown("one\ntwo\n\nthree"), "<p>one two</p>\n<p>three</p>\n")
        XCTAssertEqual(HTMLReport.markdown("## Heading\ntext"), "<h3>Heading</h3>\n<p>text</p>\n")
        XCTAssertEqual(HTMLReport.markdown("# Top"), "<h2>Top</h2>\n")
        XCTAssertEqual(HTMLReport.markdown("#hashtag"), "<p>#hashtag</p>\n")
        XCTAssertEqual(HTMLReport.markdown("list:\n- a\n- **b**\n\nafter"),
                       "<p>list:</p>\n<ul>\n<li>a</li>\n<li><strong>b</strong></li>\n</ul>\n<p>after</p>\n")
        XCTAssertEqual(HTMLReport.inline("**bold** and *em* and `co*de*`"),
                       "<strong>bold</strong> and <em>em</em> and <code>co*de*</code>")
        XCTAssertEqual(HTMLReport.inline("**bold *inner***"), "<strong>bold <em>inner</em></strong>")
        XCTAssertEqual(HTMLReport.inline("[the paper](https://arxiv.org/abs/1505.07376)"),
                       "<a href=\"https://arxiv.org/abs/1505.07376\">the paper</a>")
        XCTAssertEqual(HTMLReport.inline("[*t*](out/a.png)"), "<a href=\"out/a.png\"><em>t</em></a>")
        // An unsafe link keeps its text and drops its whole URL, balanced parentheses and all.
        XCTAssertEqual(HTMLReport.inline("[x](javascript:alert(1))"), "x")
        XCTAssertEqual(HTMLReport.inline("[w](https://en.wikipedia.org/wiki/Gram_(matrix)) after"),
                       "<a href=\"https://en.wikipedia.org/wiki/Gram_(matrix)\">w</a> after")
        XCTAssertEqual(HTMLReport.inline("a * b * c"), "a * b * c")
        XCTAssertEqual(HTMLReport.inline("2 < 3 & `<tag>`"), "2 &lt; 3 &amp; <code>&lt;tag&gt;</code>")
        XCTAssertEqual(HTMLReport.inline("unclosed `code and **bold"), "unclosed `code and **bold")
        XCTAssertEqual(HTMLReport.inline("[a](\"><script>)"), "<a href=\"&quot;&gt;&lt;script&gt;\">a</a>")
    }

    func testSyntaxColouring() {
        let tokens = HTMLReport.tokenize("x = load \"data/gravel.png\" size=256 lr=1e-2  # comment")
        let interesting = tokens.filter { $0.kind != .space && $0.kind != .punctuation }
        XCTAssertEqual(interesting.map(\.kind), [.variable, .command, .string, .key, .number, .key, .number, .comment])
        XCTAssertEqual(interesting.map(\.text), ["x", "load", "\"data/gravel.png\"", "size=", "256", "lr=", "1e-2", "# comment"])
        XCTAssertEqual(tokens.map(\.text).joined(), "x = load \"data/gravel.png\" size=256 lr=1e-2  # comment")
        let two = HTMLReport.tokenize("save y \"a # not a comment\"\nshow y").filter { $0.kind == .command || $0.kind == .comment }
        XCTAssertEqual(two.map(\.text), ["save", "show"])
        XCTAssertEqual(HTMLReport.highlight("print \"<b>\""),
                       "<span class=\"k\">print</span> <span class=\"s\">&quot;&lt;b&gt;&quot;</span>")
    }

    func testCellsAndTimes() {
        let cells = [
            ReportCell(kind: .prose, source: "intro", line: 1),
            ReportCell(kind: .code, source: "a", line: 2, seconds: 0.25),
            ReportCell(kind: .code, source: "b", line: 3, error: "f.txn:3:1: error: no", seconds: 2),
        ]
        let html = HTMLReport.render(title: "t", cells: cells, metadata: [("threads", "2")])
        XCTAssertTrue(html.contains(">[1]</div>"))
        XCTAssertTrue(html.contains(">[2]</div>"))
        XCTAssertFalse(html.contains(">[3]</div>"))
        XCTAssertTrue(html.contains("250 ms"))
        XCTAssertTrue(html.contains("2.00 s"))
        XCTAssertTrue(html.contains("class=\"cell code failed\""))
        XCTAssertTrue(html.contains("<pre class=\"error\">f.txn:3:1: error: no</pre>"))
        XCTAssertTrue(html.contains("<tr><th>threads</th><td>2</td></tr>"))
        XCTAssertEqual(HTMLReport.formatSeconds(83.2), "1 min 23 s")
        XCTAssertEqual(HTMLReport.formatSeconds(0.0001), "<1 ms")
        // In the page it is text, escaped: a raw "<1 ms" would open a tag.
        let fast = HTMLReport.render(title: "t", cells: [ReportCell(kind: .code, source: "a", line: 1, seconds: 0.0001)], metadata: [])
        XCTAssertTrue(fast.contains("<span class=\"time\">&lt;1 ms</span>"), fast)
        XCTAssertFalse(fast.contains("<1 ms"))
    }

    func testWriteCreatesTheFile() throws {
        let path = NSTemporaryDirectory() + "txn-report-\(getpid())/sub/report.html"
        defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "txn-report-\(getpid())") }
        try HTMLReport.write(title: "t", cells: [ReportCell(kind: .code, source: "x", line: 1)], metadata: [], to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("<!DOCTYPE html>"))
    }
}
