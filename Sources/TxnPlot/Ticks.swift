#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One axis tick: where it sits in axis coordinates and, for major ticks, its label.
///
/// On a log axis the coordinate is log10 of the value, so the mapping to pixels is linear in both cases.
struct Tick: Equatable {
    var position: Double
    /// Nil for a minor tick: drawn as a short mark, no label and no grid line.
    var label: String?
}

/// The extent of an axis in axis coordinates (log10 of the value on log axes) and its ticks.
struct AxisScale: Equatable {
    var lower: Double
    var upper: Double
    var ticks: [Tick]

    var labels: [String] { ticks.compactMap(\.label) }

    /// Where `coordinate` falls between the ends of the axis, 0 at `lower`, 1 at `upper`.
    func fraction(_ coordinate: Double) -> Double { (coordinate - lower) / (upper - lower) }
}

enum Ticks {
    /// A log axis covering whole decades around [minimum, maximum] (both positive), labelled "1e4"-style.
    ///
    /// Whole decades because a loss curve's story is "how many orders of magnitude"; partial decades at the ends
    /// would make the labels odd numbers. Beyond eight decades only every k-th decade is labelled so labels never
    /// crowd; within a single decade 2e and 5e get labels too so the axis has more than two numbers on it.
    static func logarithmic(minimum: Double, maximum: Double) -> AxisScale {
        var lower = Int((log10(minimum) + 1e-9).rounded(.down))
        var upper = Int((log10(maximum) - 1e-9).rounded(.up))
        if upper <= lower { lower -= 1; upper += 1 }
        let decades = upper - lower
        let labelEvery = max(1, (decades + 7) / 8)
        var ticks: [Tick] = []
        for exponent in lower...upper {
            let labelled = (exponent - lower) % labelEvery == 0
            ticks.append(Tick(position: Double(exponent), label: labelled ? logLabel(mantissa: 1, exponent: exponent) : nil))
            guard exponent < upper, decades <= 6 else { continue }
            for mantissa in 2...9 {
                let label = decades == 1 && (mantissa == 2 || mantissa == 5)
                    ? logLabel(mantissa: mantissa, exponent: exponent) : nil
                ticks.append(Tick(position: Double(exponent) + log10(Double(mantissa)), label: label))
            }
        }
        return AxisScale(lower: Double(lower), upper: Double(upper), ticks: ticks)
    }

    /// "1e4", "2e-3", "1e0": the compact form losses are talked about in, the same width for every decade.
    static func logLabel(mantissa: Int, exponent: Int) -> String { "\(mantissa)e\(exponent)" }

    /// A linear axis with about `count` ticks at 1, 2 or 5 times a power of ten.
    ///
    /// With `expand` the ends are rounded outward to whole ticks (for values whose range is arbitrary, such as a
    /// linear loss axis); without, the axis is exactly [minimum, maximum] and only ticks inside it are kept (for
    /// iterations, which start at 1 and end at n).
    static func linear(minimum: Double, maximum: Double, count: Int = 6, expand: Bool) -> AxisScale {
        var minimum = minimum, maximum = maximum
        if !(maximum > minimum) {
            let pad = minimum == 0 ? 1 : abs(minimum) * 0.1
            minimum -= pad
            maximum += pad
        }
        let step = niceStep((maximum - minimum) / Double(max(count - 1, 1)))
        // The tolerance keeps a bound that is a whole number of steps (up to rounding error) from growing a tick.
        let first = expand ? (minimum / step + 1e-9).rounded(.down) : (minimum / step - 1e-9).rounded(.up)
        let last = expand ? (maximum / step - 1e-9).rounded(.up) : (maximum / step + 1e-9).rounded(.down)
        let lower = expand ? first * step : minimum, upper = expand ? last * step : maximum
        let magnitude = max(abs(first * step), abs(last * step))
        var ticks: [Tick] = []
        if first <= last {
            for index in Int(first)...Int(last) {
                let value = Double(index) * step
                ticks.append(Tick(position: value, label: formatTick(value, step: step, magnitude: magnitude)))
            }
        }
        return AxisScale(lower: lower, upper: upper, ticks: ticks)
    }

    /// The iteration axis 1...n: ticks at whole multiples of a nice step, plus "1" at the start unless a tick
    /// would crowd it, so the reader sees where the run begins.
    static func iterations(count: Int) -> AxisScale {
        let last = Double(max(count, 2))
        let step = max(1, niceStep((last - 1) / 5))
        var ticks = [Tick(position: 1, label: "1")]
        var value = step
        while value <= last + 1e-9 {
            if value - 1 >= step / 2 {
                ticks.append(Tick(position: value, label: formatTick(value, step: step, magnitude: last)))
            }
            value += step
        }
        return AxisScale(lower: 1, upper: last, ticks: ticks)
    }

    /// The smallest of 1, 2, 5 x 10^k that is at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let residual = raw / magnitude
        let mantissa: Double = residual <= 1 + 1e-9 ? 1 : residual <= 2 + 1e-9 ? 2 : residual <= 5 + 1e-9 ? 5 : 10
        return mantissa * magnitude
    }

    /// A tick value with as many decimals as the step needs, or scientific notation when the numbers would be
    /// too wide (a million and up) or too small to show in fixed point.
    static func formatTick(_ value: Double, step: Double, magnitude: Double) -> String {
        if abs(value) < step * 1e-6 { return "0" }
        if magnitude >= 1e6 || magnitude < 1e-3 { return scientific(value, significant: 3) }
        let decimals = max(0, -Int(log10(step).rounded(.down)))
        return fixed(value, decimals: decimals)
    }

    /// A number in about three significant figures for colour-bar and similar labels: fixed point between
    /// 0.001 and 100000, scientific outside.
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if value == 0 { return "0" }
        let exponent = Int(log10(abs(value)).rounded(.down))
        if exponent < -3 || exponent >= 5 { return scientific(value, significant: 3) }
        return trimmingZeros(fixed(value, decimals: max(0, 2 - exponent)))
    }

    /// Two labels meant to be read together (a colour bar's ends): both scientific when either needs it, so
    /// "-3e4 ... 1.2e5" rather than "-30000 ... 1.2e5".
    static func compactPair(_ first: Double, _ second: Double) -> (String, String) {
        let labels = (compact(first), compact(second))
        guard labels.0.contains("e") != labels.1.contains("e") else { return labels }
        return (first == 0 ? "0" : scientific(first, significant: 3), second == 0 ? "0" : scientific(second, significant: 3))
    }

    /// `value` rounded to `decimals` places, e.g. fixed(2.5, 2) = "2.50"; never "-0".
    static func fixed(_ value: Double, decimals: Int) -> String {
        let scaled = (abs(value) * pow(10, Double(decimals))).rounded()
        guard scaled < 9e18 else { return scientific(value, significant: 3) }
        var digits = String(UInt64(scaled))
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (value < 0 && scaled != 0 ? "-" : "") + digits
    }

    /// `value` as mantissa "e" exponent with up to `significant` figures and no trailing zeros, e.g. "2.5e8".
    static func scientific(_ value: Double, significant: Int) -> String {
        guard value != 0, value.isFinite else { return value == 0 ? "0" : compact(value) }
        var exponent = Int(log10(abs(value)).rounded(.down))
        var mantissa = value / pow(10, Double(exponent))
        let factor = pow(10, Double(significant - 1))
        mantissa = (mantissa * factor).rounded() / factor
        if abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
        return trimmingZeros(fixed(mantissa, decimals: significant - 1)) + "e\(exponent)"
    }

    /// "2.500" → "2.5", "3.000" → "3"; integers are left alone.
    static func trimmingZeros(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var result = Substring(text)
        while result.hasSuffix("0") { result = result.dropLast() }
        if result.hasSuffix(".") { result = result.dropLast() }
        return String(result)
    }
}
