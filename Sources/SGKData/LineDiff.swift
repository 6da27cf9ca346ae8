/// A line diff in document order: unchanged lines as context around each change
/// (`  line`), removals (`- line`) before the insertions that replace them (`+ line`),
/// and `  …` where unchanged lines are left out. For the few hundred lines of a
/// policy or manifest: the longest common subsequence, in O(n·m).
public enum LineDiff {
    public static func render(_ a: [String], _ b: [String], context: Int = 2) -> String {
        let n = a.count, m = b.count
        // lcs[i][j]: the longest common subsequence of a[i...] and b[j...].
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        if n > 0 && m > 0 {
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
        }
        enum Op { case same(String), del(String), ins(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n && j < m && a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
            else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) { ops.append(.ins(b[j])); j += 1 }
            else { ops.append(.del(a[i])); i += 1 }
        }
        // Removals of a run first, then its insertions.
        var ordered: [Op] = []
        var dels: [Op] = [], inss: [Op] = []
        func flush() { ordered += dels + inss; dels = []; inss = [] }
        for op in ops {
            switch op {
            case .same: flush(); ordered.append(op)
            case .del: dels.append(op)
            case .ins: inss.append(op)
            }
        }
        flush()
        let changed = ordered.indices.filter { if case .same = ordered[$0] { return false }; return true }
        guard !changed.isEmpty else { return "" }
        var keep = Set<Int>()
        for c in changed { for k in max(0, c - context)...min(ordered.count - 1, c + context) { keep.insert(k) } }
        var out: [String] = []
        var skipped = false
        for (k, op) in ordered.enumerated() {
            guard keep.contains(k) else { skipped = true; continue }
            if skipped { out.append("  …"); skipped = false }
            switch op {
            case .same(let l): out.append("  " + l)
            case .del(let l): out.append("- " + l)
            case .ins(let l): out.append("+ " + l)
            }
        }
        if skipped { out.append("  …") }
        return out.joined(separator: "\n")
    }
}
