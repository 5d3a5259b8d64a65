import TxnImage
import TxnSynthesis
import TxnTensor
import TxnVGG

/// Features of one image at named layers (`extract`).
public struct FeatureSet: Sendable {
    public var layers: [String]
    public var tensors: [Tensor]
}

/// Gram matrices at named layers (`gram`).
public struct GramSet: Sendable {
    public var layers: [String]
    public var matrices: [Tensor]
}

/// A loaded network with the options it runs with (`model`).
public struct ModelValue: Sendable {
    public var vgg: VGG19
    public var path: String
    public var algorithm: ConvAlgorithm
}

/// The outcome of `optimize`.
public struct SynthesisValue: Sendable {
    public var result: SynthesisResult
    public var options: SynthesisOptions
    public var label: String
}

/// Every kind of value a variable can hold.
public enum Value: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case size(Int, Int)
    /// A bare word that is not a variable: a layer name, a mode.
    case word(String)
    case list([Value])
    case image(Image)
    case tensor(Tensor)
    case features(FeatureSet)
    case grams(GramSet)
    case model(ModelValue)
    case synthesis(SynthesisValue)
    case distance(TextureDistance)
    case gan(GANValue)
    case texnet(TexNetValue)
    case none

    /// The type's name in messages ("expected image, got number").
    public var typeName: String {
        switch self {
        case .number: return "number"
        case .string: return "string"
        case .bool: return "boolean"
        case .size: return "size"
        case .word: return "word"
        case .list: return "list"
        case .image: return "image"
        case .tensor: return "tensor"
        case .features: return "features"
        case .grams: return "grams"
        case .model: return "model"
        case .synthesis: return "synthesis"
        case .distance: return "distance"
        case .gan: return "GAN"
        case .texnet: return "texture network"
        case .none: return "nothing"
        }
    }

    /// A one-line summary (`vars`, echo of assignments).
    public var summary: String {
        switch self {
        case .number(let v): return formatNumber(v)
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return b ? "true" : "false"
        case .size(let w, let h): return "\(w)x\(h)"
        case .word(let w): return w
        case .list(let items): return "[" + items.map(\.summary).joined(separator: ", ") + "]"
        case .image(let i): return "image \(i.width)x\(i.height)"
        case .tensor(let t): return "tensor " + t.shape.map(String.init).joined(separator: "x")
        case .features(let f): return "features at \(f.layers.joined(separator: ", "))"
        case .grams(let g): return "Gram matrices at \(g.layers.joined(separator: ", "))"
        case .model(let m): return "VGG-19 up to \(m.vgg.deepestLayer), \(m.vgg.pooling) pooling, \(m.vgg.padding) padding"
        case .synthesis(let s):
            return "synthesis \(s.result.image.width)x\(s.result.image.height), loss \(formatNumber(s.result.loss)) after \(s.result.history.count) iterations"
        case .distance(let d): return "distance: Gram loss \(formatNumber(d.gramLoss)), sliced Wasserstein \(formatNumber(d.sliced))"
        case .gan(let g): return g.summary
        case .texnet(let t): return t.summary
        case .none: return "nothing"
        }
    }

    /// `value.field`, for the fields each type offers.
    func field(_ name: String) throws -> Value {
        func fail() -> CommandError {
            CommandError("\(typeName) has no field '\(name)'" + (fields.isEmpty ? "" : "; fields: \(fields.joined(separator: ", "))"))
        }
        switch self {
        case .image(let i):
            switch name {
            case "width": return .number(Double(i.width))
            case "height": return .number(Double(i.height))
            case "size": return .size(i.width, i.height)
            default: throw fail()
            }
        case .tensor(let t):
            switch name {
            case "shape": return .list(t.shape.map { .number(Double($0)) })
            case "mean": return .number(t.meanAndStd().mean)
            case "std": return .number(t.meanAndStd().std)
            default: throw fail()
            }
        case .features(let f):
            if let i = f.layers.firstIndex(of: name) { return .tensor(f.tensors[i]) }
            if name == "layers" { return .list(f.layers.map { .word($0) }) }
            throw fail()
        case .grams(let g):
            if let i = g.layers.firstIndex(of: name) { return .tensor(g.matrices[i]) }
            if name == "layers" { return .list(g.layers.map { .word($0) }) }
            throw fail()
        case .synthesis(let s):
            switch name {
            case "image": return .image(s.result.image)
            case "loss": return .number(s.result.loss)
            case "iterations": return .number(Double(s.result.history.count))
            case "seconds": return .number(s.result.seconds)
            case "history": return .list(s.result.history.map { .number($0) })
            case "distance": return s.result.distance.map { .distance($0) } ?? .none
            default: throw fail()
            }
        case .distance(let d):
            switch name {
            case "gram": return .number(d.gramLoss)
            case "sliced": return .number(d.sliced)
            default: throw fail()
            }
        case .model(let m):
            switch name {
            case "layers": return .list(VGG19.layerNames.prefix(through: (try? VGG19.stageIndex(of: m.vgg.deepestLayer)) ?? 0).map { .word($0) })
            default: throw fail()
            }
        case .list(let items):
            if name == "count" { return .number(Double(items.count)) }
            throw fail()
        case .gan(let g):
            let last = g.training?.history.last
            switch name {
            case "iterations": return .number(Double(g.training?.iteration ?? 0))
            case "dloss": return last.map { .number($0.discriminatorLoss) } ?? .none
            case "gloss": return last.map { .number($0.generatorLoss) } ?? .none
            case "sample": return g.samples.last.map { .image($0.image) } ?? .none
            case "samples": return .list(g.samples.map { .image($0.image) })
            default: throw fail()
            }
        case .texnet(let t):
            switch name {
            case "iterations": return .number(Double(t.training?.iteration ?? 0))
            case "loss": return t.training?.history.last.map { .number($0.loss) } ?? .none
            case "history": return .list((t.training?.history ?? []).map { .number($0.loss) })
            case "sample": return t.samples.last.map { .image($0.image) } ?? .none
            case "samples": return .list(t.samples.map { .image($0.image) })
            default: throw fail()
            }
        default:
            throw fail()
        }
    }

    var fields: [String] {
        switch self {
        case .image: return ["width", "height", "size"]
        case .tensor: return ["shape", "mean", "std"]
        case .features(let f): return f.layers + ["layers"]
        case .grams(let g): return g.layers + ["layers"]
        case .synthesis: return ["image", "loss", "iterations", "seconds", "history", "distance"]
        case .distance: return ["gram", "sliced"]
        case .model: return ["layers"]
        case .list: return ["count"]
        case .gan: return ["iterations", "dloss", "gloss", "sample", "samples"]
        case .texnet: return ["iterations", "loss", "history", "sample", "samples"]
        default: return []
        }
    }
}

func formatNumber(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
    if abs(v) >= 1e4 || abs(v) < 1e-3 {
        let e = Int(log10(abs(v)).rounded(.down))
        let m = v / pow(10, Double(e))
        return "\((m * 1000).rounded() / 1000)e\(e)"
    }
    return "\((v * 10000).rounded() / 10000)"
}

#if canImport(Glibc)
import Glibc
#endif
