/// "Did you mean" suggestions by edit distance.
public enum Spell {
    /// Damerau–Levenshtein (optimal string alignment) distance.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev2 = [Int](repeating: 0, count: y.count + 1)
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { v = min(v, prev2[j - 2] + 1) }
                cur[j] = v
            }
            prev2 = prev; prev = cur
        }
        return prev[y.count]
    }

    /// The closest candidate within a distance that scales with the word's length.
    public static func suggest(_ word: String, among candidates: some Sequence<String>) -> String? {
        var best: (String, Int)?
        let limit = max(1, min(3, word.count / 3 + 1))
        for c in candidates {
            let d = distance(word, c)
            if d <= limit, best.map({ d < $0.1 }) ?? true { best = (c, d) }
        }
        return best?.0
    }
}
