import TxnSynthesis
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

/// One argument of a command: positional (by order) or a key. The declaration is the one place its default and
/// range are written: help shows them, and the accessors of `Arguments` read them from here.
struct ParamSpec {
    /// What happens when the argument is not given.
    enum Default {
        /// This value, checked and converted exactly as a given one would be.
        case value(Value)
        /// Decided when the command runs (the session's seed, the model's padding, the preset's crop) or nothing
        /// at all; the text says which, for help.
        case whenAbsent(String)
    }

    var name: String
    var type: ParamType
    /// nil: required.
    var fallback: Default?
    /// The whole numbers allowed (integers only); nil: any.
    var range: ClosedRange<Int>?
    var help: String

    /// A required argument.
    init(_ name: String, _ type: ParamType, _ help: String) {
        (self.name, self.type, self.fallback, self.range, self.help) = (name, type, nil, nil, help)
    }

    /// An argument with a fixed default.
    init(_ name: String, _ type: ParamType, default value: Value, range: ClosedRange<Int>? = nil, _ help: String) {
        (self.name, self.type, self.fallback, self.range, self.help) = (name, type, .value(value), range, help)
    }

    /// An optional argument whose absence the command handles when it runs.
    init(_ name: String, _ type: ParamType, whenAbsent text: String, range: ClosedRange<Int>? = nil, _ help: String) {
        (self.name, self.type, self.fallback, self.range, self.help) = (name, type, .whenAbsent(text), range, help)
    }

    /// One case of a string enum, the choices and the default taken from the enum itself.
    static func choice<E: RawRepresentable & CaseIterable>(_ name: String, default value: E, _ help: String) -> ParamSpec
    where E.RawValue == String {
        ParamSpec(name, .cases(of: E.self), default: .word(value.rawValue), help)
    }

    /// A random seed: the same range everywhere, by default the session's.
    static func seed(_ help: String) -> ParamSpec {
        ParamSpec("seed", .integer, whenAbsent: "(session)", range: Arguments.seedRange, help)
    }

    var required: Bool { fallback == nil }

    /// The default as help shows it; nil for a required argument.
    var defaultText: String? {
        switch fallback {
        case .value(let v)?: return v.asWritten
        case .whenAbsent(let text)?: return text
        case nil: return nil
        }
    }
}

extension Value {
    /// A default value as it would be written in a notebook (`256`, `320x200`, `conv1_1,pool1`, `false`).
    var asWritten: String {
        switch self {
        case .number(let x): return formatNumber(x)
        case .size(let w, let h): return "\(w)x\(h)"
        case .bool(let b): return b ? "true" : "false"
        case .word(let w), .string(let w): return w
        case .list(let items): return items.map(\.asWritten).joined(separator: ",")
        default: return summary
        }
    }

    /// A size as a default: `N` when square (as `size=256` is written), else `WxH`.
    static func sizeDefault(_ width: Int, _ height: Int) -> Value {
        width == height ? .number(Double(width)) : .size(width, height)
    }
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

    /// The declaration of `name`. A command that reads an argument it does not declare is a programming error
    /// (a test walks every command for it); it is reported, never a crash.
    func param(_ name: String) throws -> ParamSpec {
        if let p = spec.keys.first(where: { $0.name == name }) ?? spec.positional.first(where: { $0.name == name }) { return p }
        throw CommandError("internal error: \(spec.name) reads '\(name)', which it does not declare", at: .command)
    }

    /// The value given for `name`, else its declared default, else `decided` (for defaults decided when the
    /// command runs: only for a parameter declared `whenAbsent`), else a "missing argument" error.
    private func given(_ name: String, _ decided: Value?) throws -> (ParamSpec, Value, CommandError.ArgumentRef) {
        let p = try param(name)
        if let (v, ref) = value(name) { return (p, v, ref) }
        switch p.fallback {
        case .value(let v)?:
            guard decided == nil else {
                throw CommandError("internal error: \(spec.name) gives '\(name)' a default besides its declared one", at: .command)
            }
            return (p, v, .command)
        case .whenAbsent?, nil:
            if let decided { return (p, decided, .command) }
            throw CommandError("missing argument '\(name)'", at: .command, notes: ["usage: \(spec.usage)"])
        }
    }

    /// The value given, or the declared default, of an argument of any type.
    func any(_ name: String) throws -> Value { try given(name, nil).1 }

    func number(_ name: String, default d: Double? = nil) throws -> Double {
        let (_, v, ref) = try given(name, d.map(Value.number))
        guard case .number(let x) = v else { throw typeError(name, "a number", v, ref) }
        return x
    }

    /// A whole number, within the declared range.
    func int(_ name: String, default d: Int? = nil) throws -> Int {
        let (p, v, ref) = try given(name, d.map { .number(Double($0)) })
        guard case .number(let x) = v, x == x.rounded(), abs(x) < 1e12 else { throw typeError(name, "a whole number", v, ref) }
        if let range = p.range, !range.contains(Int(x)) {
            throw CommandError("\(name): \(Int(x)) is out of range \(range.lowerBound)…\(range.upperBound)", at: ref)
        }
        return Int(x)
    }

    /// An iteration count: a whole number within the declared range, or `auto` (`StepCount`); nil when absent and
    /// declared `whenAbsent` (the library decides).
    func steps(_ name: String) throws -> StepCount? {
        if !has(name), case .whenAbsent? = try param(name).fallback { return nil }
        let (_, v, ref) = try given(name, nil)
        if case .word(StepCount.automaticWord) = v { return .automatic }
        if case .string(StepCount.automaticWord) = v { return .automatic }
        guard case .number = v else { throw typeError(name, "a whole number or \(StepCount.automaticWord)", v, ref) }
        return .fixed(try int(name))
    }

    func string(_ name: String, default d: String? = nil) throws -> String {
        let (_, v, ref) = try given(name, d.map(Value.string))
        switch v {
        case .string(let s), .word(let s): return s
        default: throw typeError(name, "a string", v, ref)
        }
    }

    func bool(_ name: String) throws -> Bool {
        let (_, v, ref) = try given(name, nil)
        switch v {
        case .bool(let b): return b
        case .word("true"), .word("yes"), .word("on"): return true
        case .word("false"), .word("no"), .word("off"): return false
        case .number(let x) where x == 0 || x == 1: return x == 1
        default: throw typeError(name, "true or false", v, ref)
        }
    }

    /// A size; an image of it must fit in the memory budget (checked before anything of that size exists).
    func size(_ name: String) throws -> (Int, Int) {
        let (_, v, ref) = try given(name, nil)
        let size: (Int, Int)
        switch v {
        case .size(let w, let h) where w > 0 && h > 0: size = (w, h)
        case .number(let x) where x == x.rounded() && x > 0 && x < 1e9: size = (Int(x), Int(x))
        default: throw typeError(name, "a size such as 256 or 320x200", v, ref)
        }
        do {
            try MemoryBudget.requireFloats([3, size.1, size.0], for: "\(spec.name) \(name)=\(size.0)x\(size.1)")
        } catch {
            throw CommandError(notebookWording(error), at: ref)
        }
        return size
    }

    /// What seeds may be: the same range everywhere (`set seed=`, `noise`, `preprocess`, `optimize`), so a
    /// negative or huge seed is an error, not a wrap-around.
    static let seedRange = 0...Int(Int32.max)

    /// The random seed (declared with `ParamSpec.seed`), by default the session's.
    func seed(session: UInt64) throws -> UInt64 {
        UInt64(try int("seed", default: Int(session)))
    }

    /// Whole numbers in 0...limit, exactly `count` of them (crop boxes): never converted to Int when out of range.
    func wholeNumbers(_ name: String, count: Int, limit: Double = 1e9) throws -> [Int] {
        let values = try numbers(name)
        guard values.count == count, values.allSatisfy({ $0 >= 0 && $0 <= limit && $0 == $0.rounded() }) else {
            throw CommandError("\(name): expected \(count) whole numbers from 0 to \(formatNumber(limit))", at: ref(name))
        }
        return values.map { Int($0) }
    }

    /// A list of whole numbers (or one), each in `range`.
    func wholeNumbers(_ name: String, within range: ClosedRange<Int>) throws -> [Int] {
        try numbers(name).map { n in
            guard n >= Double(range.lowerBound), n <= Double(range.upperBound), n.rounded() == n else {
                throw CommandError("\(name): each count must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(formatNumber(n))", at: ref(name))
            }
            return Int(n)
        }
    }

    /// One of the words of a `.choice` parameter.
    func choice(_ name: String) throws -> String {
        let (p, v, ref) = try given(name, nil)
        guard case .choice(let words) = p.type else {
            throw CommandError("internal error: \(spec.name) reads '\(name)' as a choice, but declares it \(p.type.name)", at: .command)
        }
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

    /// One case of a string enum (declared with `.cases(of:)`); `decided` only for a `whenAbsent` parameter.
    func choice<E: RawRepresentable & CaseIterable>(_ name: String, default decided: E? = nil) throws -> E where E.RawValue == String {
        if !has(name), let decided {
            _ = try given(name, .word(decided.rawValue))  // the declaration must leave the default to the command
            return decided
        }
        let word = try choice(name)
        guard let value = E(rawValue: word) else { throw CommandError("\(name): '\(word)' is not a choice", at: ref(name)) }
        return value
    }

    func layers(_ name: String, default d: [String]? = nil) throws -> [String] {
        let (_, v, ref) = try given(name, d.map { .list($0.map(Value.word)) })
        let items: [Value]
        if case .list(let l) = v { items = l } else { items = [v] }
        return try items.map { item in
            guard case .word(let w) = item else { throw typeError(name, "VGG-19 layer names such as conv1_1,pool1", item, ref) }
            do { _ = try VGG19.stageIndex(of: w) } catch { throw CommandError("\(name): \(error)", at: ref) }
            return w
        }
    }

    func numbers(_ name: String) throws -> [Double] {
        let (_, v, ref) = try given(name, nil)
        let items: [Value]
        if case .list(let l) = v { items = l } else { items = [v] }
        return try items.map { item in
            guard case .number(let x) = item else { throw typeError(name, "numbers", item, ref) }
            return x
        }
    }

    /// An image; a synthesis result counts as its image.
    func image(_ name: String) throws -> Image {
        let (_, v, ref) = try given(name, nil)
        switch v {
        case .image(let i): return i
        case .synthesis(let s): return s.result.image
        default: throw typeError(name, "an image", v, ref)
        }
    }

    func optionalImage(_ name: String) throws -> Image? { has(name) ? try image(name) : nil }

    func model(_ name: String) throws -> ModelValue? {
        _ = try param(name)
        guard let (v, ref) = value(name) else { return nil }
        guard case .model(let m) = v else { throw typeError(name, "a model (from the model command)", v, ref) }
        return m
    }

    func raw(_ name: String) -> Value? { value(name)?.0 }

    func ref(_ name: String) -> CommandError.ArgumentRef { value(name)?.1 ?? .command }
}
