/// How visible the seam of a tileable texture is: the mean absolute step between neighbouring columns and rows
/// across the wrap-around (last column to first, last row to first) divided by the mean step inside the image.
/// About 1 when the texture wraps around as smoothly as it runs inside; well above 1 at a seam. One measure for
/// every method's tiling test (the GAN's, the texture network's).
public enum SeamMeasure {
    /// `pixels`: channel-planar RGB (`Image.pixels`), `width` x `height`.
    public static func ratio(_ pixels: [Float], width w: Int, height h: Int) -> Double {
        precondition(pixels.count == 3 * w * h && w > 1 && h > 1)
        func px(_ c: Int, _ x: Int, _ y: Int) -> Double { Double(pixels[(c * h + y) * w + x]) }
        var inside = 0.0, insideN = 0.0, wrap = 0.0, wrapN = 0.0
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            let right = abs(px(c, (x + 1) % w, y) - px(c, x, y)), down = abs(px(c, x, (y + 1) % h) - px(c, x, y))
            if x == w - 1 { wrap += right; wrapN += 1 } else { inside += right; insideN += 1 }
            if y == h - 1 { wrap += down; wrapN += 1 } else { inside += down; insideN += 1 }
        }}}
        return (wrap / wrapN) / (inside / insideN)
    }
}
