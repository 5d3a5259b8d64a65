/// Reads typed, shape-checked tensors out of a loaded state dict, with errors that name the file and the key, in the
/// error type of the module that reads (a GAN's, a texture network's): one reader for every model that loads `.pth`.
public struct StateDictReader {
    public let dict: StateDict
    public let path: String
    private let makeError: (String) -> any Error

    /// `error` makes the reading module's error from a message that already names the file.
    public init(_ dict: StateDict, path: String, error: @escaping (String) -> any Error) {
        (self.dict, self.path, self.makeError) = (dict, path, error)
    }

    /// An error about this file: "PATH: message".
    public func error(_ message: String) -> any Error { makeError("\(path): \(message)") }

    /// The first keys, for an error that says what the file holds instead.
    public var keySummary: String {
        let shown = dict.keys.prefix(6).joined(separator: ", ")
        return dict.keys.isEmpty ? "no keys" : shown + (dict.keys.count > 6 ? ", … (\(dict.keys.count) keys)" : "")
    }

    public func tensor(_ key: String, shape: [Int]) throws -> StoredTensor {
        guard let found = dict.shape(of: key) else { throw error("missing key \(key)") }
        guard found == shape else { throw error("\(key) has shape \(found), expected \(shape)") }
        guard let t = dict[key] else { throw error("\(key) was not loaded") }
        return t
    }

    /// The int64 elements of `key`, exactly `count` of them (0: a scalar).
    public func integers(_ key: String, _ count: Int) throws -> [Int64] {
        let t = try tensor(key, shape: count == 0 ? [] : [count])
        guard let v = t.integers, v.count == max(1, count) else { throw error("\(key) must be int64") }
        return v
    }

    /// The finite values of `key`, of this shape (stored as any float type, or as integers: as PyTorch would load them).
    public func finiteValues(_ key: String, shape: [Int]) throws -> [Float] {
        let t = try tensor(key, shape: shape)
        guard t.values.allSatisfy({ $0.isFinite }) else { throw error("\(key) holds NaN or infinite values") }
        return t.values
    }

    /// Keys under `prefix` that are not in `known`, refused.
    public func requireNoOtherKeys(prefix: String, known: Set<String>) throws {
        let unknown = dict.keys.filter { $0.hasPrefix(prefix) && !known.contains($0) }
        guard unknown.isEmpty else {
            throw error("unexpected keys for this architecture: \(unknown.prefix(5).joined(separator: ", "))")
        }
    }
}
