import Foundation
import TxnImage

/// Where commands print text and show images. The terminal, a rendered notebook and the web
/// interface each provide one.
public protocol OutputSink: AnyObject {
    func write(_ text: String)
    func show(_ image: Image, caption: String)
}

/// Standard output; images as 24-bit colour half-blocks when stdout is a terminal.
public final class TerminalOutput: OutputSink {
    public var inlineImages: Bool
    public var maxColumns: Int

    public init(inlineImages: Bool = isatty(STDOUT_FILENO) != 0, maxColumns: Int = 48) {
        self.inlineImages = inlineImages
        self.maxColumns = maxColumns
    }

    public func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    public func show(_ image: Image, caption: String) {
        guard inlineImages else { return }
        write(TerminalPreview.render(image, maxColumns: maxColumns))
        if !caption.isEmpty { write("  \(caption)\n") }
    }
}

/// Keeps what one statement printed and showed (for rendered notebooks), passing it on to another sink.
public final class RecordingOutput: OutputSink {
    public let next: OutputSink?
    public private(set) var text = ""
    public private(set) var images: [(caption: String, image: Image)] = []

    public init(next: OutputSink?) { self.next = next }

    public func write(_ text: String) {
        self.text += text
        next?.write(text)
    }

    public func show(_ image: Image, caption: String) {
        images.append((caption, image))
        next?.show(image, caption: caption)
    }

    public func reset() {
        text = ""
        images = []
    }
}

import TxnPlot

/// Images in the terminal, as 24-bit colour half-blocks.
enum TerminalPreview {
    static func render(_ image: Image, maxColumns: Int) -> String {
        TerminalImage.render(image, maxColumns: maxColumns)
    }
}
