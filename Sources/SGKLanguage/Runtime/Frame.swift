/// The slots of one function activation. Variables are resolved to
/// (depth, slot) before running, so no lookup happens by name.
final class Frame {
    var slots: [Value]
    let parent: Frame?
    var returnValue: Value = .null

    init(count: Int, parent: Frame?) {
        slots = [Value](repeating: .null, count: count)
        self.parent = parent
    }

    @inline(__always) func ancestor(_ depth: Int) -> Frame {
        var f = self
        var d = depth
        while d > 0, let p = f.parent { f = p; d -= 1 }
        return f
    }

    func ensure(_ count: Int) {
        if slots.count < count { slots.append(contentsOf: repeatElement(.null, count: count - slots.count)) }
    }
}

typealias Eval = (Frame) throws -> Value
typealias Exec = (Frame) throws -> Flow

enum Flow { case next, ret, brk, cont }

struct CompiledParam {
    var name: String
    var canonical: String
    var keywordOnly: Bool
    var defaultValue: Eval?
    var slot: Int
}

/// The body of a function, set once compiled (so recursive calls can refer to it).
final class CompiledBody {
    var run: Exec = { _ in .next }
    /// For blocks: the value of the last expression statement.
    var valueOfLast = false
}
