/// Maps a value in [0, 1] to a colour, for heat maps and feature maps.
public enum Colormap: Sendable {
    /// Perceptually uniform dark purple → blue → green → yellow (matplotlib's viridis): equal steps in value look
    /// like equal steps in colour, and it stays ordered when printed in grey, unlike a rainbow.
    case viridis
    /// Black → white, for feature maps that should look like photographs of the activation.
    case grey

    /// Viridis sampled at nine evenly spaced points; linear interpolation between them stays within a fraction of
    /// a percent of the full 256-entry table.
    static let viridisStops: [RGB] = [
        RGB(bytes: 68, 1, 84), RGB(bytes: 71, 44, 122), RGB(bytes: 59, 82, 139),
        RGB(bytes: 44, 114, 142), RGB(bytes: 33, 145, 140), RGB(bytes: 40, 174, 128),
        RGB(bytes: 94, 201, 98), RGB(bytes: 173, 220, 48), RGB(bytes: 253, 231, 37),
    ]

    /// The colour for `t`, clamped to [0, 1]; NaN maps to 0 (the low end) rather than trapping.
    public func color(_ t: Float) -> RGB {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        switch self {
        case .grey:
            return RGB(t, t, t)
        case .viridis:
            let stops = Colormap.viridisStops
            let position = t * Float(stops.count - 1)
            let index = min(Int(position), stops.count - 2)
            return stops[index].mixed(with: stops[index + 1], position - Float(index))
        }
    }

    /// The colour at the low end (t = 0).
    public var first: RGB { color(0) }
    /// The colour at the high end (t = 1).
    public var last: RGB { color(1) }
}

/// Line colours for chart series: the ten "tab10" colours, chosen to be distinct from one another and readable on
/// white. More than ten series cycle.
enum SeriesPalette {
    static let colors: [RGB] = [
        RGB(bytes: 31, 119, 180), RGB(bytes: 255, 127, 14), RGB(bytes: 44, 160, 44), RGB(bytes: 214, 39, 40),
        RGB(bytes: 148, 103, 189), RGB(bytes: 140, 86, 75), RGB(bytes: 227, 119, 194), RGB(bytes: 127, 127, 127),
        RGB(bytes: 188, 189, 34), RGB(bytes: 23, 190, 207),
    ]

    static func color(_ index: Int) -> RGB { colors[index % colors.count] }
}
