// The one "did you mean" of txn. It lives in TxnVGG, the lowest module that suggests names (unknown layer names);
// the notebook (commands, keys, variables, choices, `--set`) and the server use this same rule.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
public func nearest(_ word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count), cur = prev
        for i in 1...max(a.count, 1) where !a.isEmpty {
            cur[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return a.isEmpty ? b.count : (b.isEmpty ? a.count : prev[b.count])
    }
    let w = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, w.count / 3) else { return nil }
    return best.0
}
