import TxnImage
import TxnTensor
import TxnVGG

/// What kind of value a command's argument takes; used to check, convert and explain.
enum ParamType {
    case number, integer, string, path, bool, size
    /// One of a fixed set of words.
    case choice([String])
    /// One or more VGG-19 layer names.
    case layers
    /// A list of numbers (or one number).
    case numbers
    case image, model, features, grams, tensor, synthesis
    /// Any value at all.
    case any

    var name: String {
        switch self {
        case .number: return "number"
        case .integer: return "whole number"
        case .string: return "string"
        case .path: return "file path"
        case .bool: return "true or false"
        case .size: return "size (N or WxH)"
        case .choice(let words): return words.joined(separator: "|")
        case .layers: return "layer list"
        case .numbers: return "number list"
        case .image: return "image"
        case .model: return "model"
        case .features: return "features"
        case .grams: return "grams"
        case .tensor: return "tensor"
        case .synthesis: return "synthesis"
        case .any: return "value"
        }
    }
}

/// One argument of a command: positional (by order) or a key.
struct ParamSpec {
    var name: String
    var type: ParamType
    /// Shown in help; nil means required.
    var defaultText: String?
    var help: String

    init(_ name: String, _ type: ParamType, default defaultText: String? = nil, _ help: String) {
        self.name = name
        self.type = type
        self.defaultText = defaultText
        self.help = help
    }

    var required: Bool { defaultText == nil }
}

/// A command's arguments after evaluation, with typed accessors that explain what was expected.
struct Arguments {
    let spec: CommandSpec
    var positional: [Value]
    var keywords: [String: Value]
    /// How each positional argument was written, when it was a name (`t`, `g.conv1_1`): for labels.
    var positionalNames: [String?] = []

    /// The value for a parameter, by positional slot or key (a positional parameter may also be given by key).
    func value(_ name: String) -> (Value, CommandError.ArgumentRef)? {
        if let v = keywords[name] { return (v, .key(name)) }
        if let i = spec.positional.firstIndex(where: { $0.name == name }), i < positional.count { return (positional[i], .position(i)) }
        return nil
    }

    func has(_ name: String) -> Bool { value(name) != nil }

    /// The session's variable names, to tell a misspelt variable from a wrong value.
    var variableNames: [String] = []

    private func typeError(_ name: String, _ expected: String, _ got: Value, _ ref: CommandError.ArgumentRef) -> CommandError {
        if case .word(let w) = got {
            let hint = nearest(w, in: variableNames).map { " (did you mean '\($0)'?)" } ?? ""
            return CommandError("\(name): expected \(expected), but there is no variable '\(w)'\(hint)", at: ref,
                                notes: variableNames.isEmpty ? [] : ["variables: \(variableNames.sorted().joined(separator: ", "))"])
        }
        return CommandError("\(name): expected \(expected), got \(got.typeName) \(got.summary)", at: ref)
    }

    func number(_ name: String, default d: Double? = nil) throws -> Double {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        guard case .number(let x) = v else { throw typeError(name, "a number", v, ref) }
        return x
    }

    func int(_ name: String, default d: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        guard case .number(let x) = v, x == x.rounded(), abs(x) < 1e12 else { throw typeError(name, "a whole number", v, ref) }
        if let range, !range.contains(Int(x)) {
            throw CommandError("\(name): \(Int(x)) is out of range \(range.lowerBound)…\(range.upperBound)", at: ref)
        }
        return Int(x)
    }

    func string(_ name: String, default d: String? = nil) throws -> String {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        switch v {
        case .string(let s), .word(let s): return s
        default: throw typeError(name, "a string", v, ref)
        }
    }

    func bool(_ name: String, default d: Bool? = nil) throws -> Bool {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        switch v {
        case .bool(let b): return b
        case .word("true"), .word("yes"), .word("on"): return true
        case .word("false"), .word("no"), .word("off"): return false
        case .number(let x) where x == 0 || x == 1: return x == 1
        default: throw typeError(name, "true or false", v, ref)
        }
    }

    /// A size; an image of it must fit in the memory budget (checked before anything of that size exists).
    func size(_ name: String, default d: (Int, Int)? = nil) throws -> (Int, Int) {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        let size: (Int, Int)
        switch v {
        case .size(let w, let h) where w > 0 && h > 0: size = (w, h)
        case .number(let x) where x == x.rounded() && x > 0 && x < 1e9: size = (Int(x), Int(x))
        default: throw typeError(name, "a size such as 256 or 320x200", v, ref)
        }
        do {
            try MemoryBudget.requireFloats([3, size.1, size.0], for: "\(spec.name) \(name)=\(size.0)x\(size.1)")
        } catch {
            throw CommandError("\(error)", at: ref)
        }
        return size
    }

    /// What seeds may be: the same range everywhere (`set seed=`, `noise`, `preprocess`, `optimize`), so a
    /// negative or huge seed is an error, not a wrap-around.
    static let seedRange = 0...Int(Int32.max)

    /// A random seed, by default the session's.
    func seed(_ name: String = "seed", session: UInt64) throws -> UInt64 {
        UInt64(try int(name, default: Int(session), range: Arguments.seedRange))
    }

    /// Whole numbers in 0...limit, exactly `count` of them (crop boxes): never converted to Int when out of range.
    func wholeNumbers(_ name: String, count: Int, limit: Double = 1e9) throws -> [Int] {
        let values = try numbers(name)
        guard values.count == count, values.allSatisfy({ $0 >= 0 && $0 <= limit && $0 == $0.rounded() }) else {
            throw CommandError("\(name): expected \(count) whole numbers from 0 to \(formatNumber(limit))", at: ref(name))
        }
        return values.map { Int($0) }
    }

    func choice(_ name: String, _ words: [String], default d: String? = nil) throws -> String {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        let word: String
        switch v {
        case .word(let w), .string(let w): word = w
        default: throw typeError(name, words.joined(separator: ", "), v, ref)
        }
        guard words.contains(word) else {
            let hint = nearest(word, in: words).map { " (did you mean '\($0)'?)" } ?? ""
            throw CommandError("\(name): '\(word)' is not one of \(words.joined(separator: ", "))\(hint)", at: ref)
        }
        return word
    }

    /// One case of a string enum, the choices taken from the enum itself (so they cannot drift from it).
    func choice<E: RawRepresentable & CaseIterable>(_ name: String, default d: E) throws -> E where E.RawValue == String {
        let word = try choice(name, E.allCases.map(\.rawValue), default: d.rawValue)
        guard let value = E(rawValue: word) else { throw CommandError("\(name): '\(word)' is not a choice", at: ref(name)) }
        return value
    }

    func layers(_ name: String, default d: [String]? = nil) throws -> [String] {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        let items: [Value]
        if case .list(let l) = v { items = l } else { items = [v] }
        return try items.map { item in
            guard case .word(let w) = item else { throw typeError(name, "VGG-19 layer names such as conv1_1,pool1", item, ref) }
            do { _ = try VGG19.stageIndex(of: w) } catch { throw CommandError("\(name): \(error)", at: ref) }
            return w
        }
    }

    func numbers(_ name: String, default d: [Double]? = nil) throws -> [Double] {
        guard let (v, ref) = value(name) else { return try missing(name, d) }
        let items: [Value]
        if case .list(let l) = v { items = l } else { items = [v] }
        return try items.map { item in
            guard case .number(let x) = item else { throw typeError(name, "numbers", item, ref) }
            return x
        }
    }

    /// An image; a synthesis result counts as its image.
    func image(_ name: String) throws -> Image {
        guard let (v, ref) = value(name) else { return try missing(name, nil as Image?) }
        switch v {
        case .image(let i): return i
        case .synthesis(let s): return s.result.image
        default: throw typeError(name, "an image", v, ref)
        }
    }

    func optionalImage(_ name: String) throws -> Image? { has(name) ? try image(name) : nil }

    func model(_ name: String) throws -> ModelValue? {
        guard let (v, ref) = value(name) else { return nil }
        guard case .model(let m) = v else { throw typeError(name, "a model (from the model command)", v, ref) }
        return m
    }

    func raw(_ name: String) -> Value? { value(name)?.0 }

    func ref(_ name: String) -> CommandError.ArgumentRef { value(name)?.1 ?? .command }

    private func missing<T>(_ name: String, _ d: T?) throws -> T {
        if let d { return d }
        throw CommandError("missing argument '\(name)'", at: .command, notes: ["usage: \(spec.usage)"])
    }
}
