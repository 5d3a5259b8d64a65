import TxnImage

/// An input image as every command line command loads it: decoded, and what the decoder noted about it (a 16-bit PNG
/// read as 8 bits, an alpha channel dropped…) printed as `note: PATH: …`.
func loadInputImage(_ path: String) throws -> Image {
    let decoded = try Image.load(path)
    for note in decoded.notes { print("note: \(path): \(note)") }
    return decoded.image
}
