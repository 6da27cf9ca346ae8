import Synchronization

/// The slots of one function activation. Variables are resolved to
/// (depth, slot) before running, so no lookup happens by name.
///
/// The slots are one manually managed buffer, not a Swift array: a call
/// makes one frame, and an array would add its own allocation, a metadata
/// lookup, copy-on-write checks and bounds checks to every call and every
/// variable access. Slots come from the resolver, so they are always in range
/// (checked in debug builds). The stored properties are only touched by the
/// thread running the session, so they skip dynamic exclusivity checks.
final class Frame {
    @exclusivity(unchecked) private(set) var base: UnsafeMutablePointer<Value>
    @exclusivity(unchecked) private(set) var count: Int
    @exclusivity(unchecked) fileprivate(set) var parent: Frame?
    @exclusivity(unchecked) var returnValue: Value = .null
    /// How many calls are active below this frame on its thread (0 at the top level): the bound
    /// on nested calls is checked against it. Kept in the frame, not in the interpreter, because
    /// the bodies of a `parallel for` each have their own chain of calls.
    @exclusivity(unchecked) var depth = 0
    /// Which body of a `parallel for` made this frame (0: none, the run's own thread). A call's
    /// frame takes its caller's owner, so every frame a body makes is its own, and a frame with
    /// another owner is shared: the body may read its slots, not assign them (checked where a
    /// variable of an enclosing frame is assigned).
    @exclusivity(unchecked) var owner = 0
    /// The next spare frame of the same function (see CompiledBody.frame).
    @exclusivity(unchecked) fileprivate var nextSpare: Frame?

    init(count: Int, parent: Frame?) {
        base = UnsafeMutablePointer<Value>.allocate(capacity: Swift.max(count, 1))
        base.initialize(repeating: .null, count: count)
        self.count = count
        self.parent = parent
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    subscript(slot: Int) -> Value {
        @inline(__always) get {
            assert(slot >= 0 && slot < count, "slot \(slot) out of range (\(count))")
            return base[slot]
        }
        @inline(__always) _modify {
            assert(slot >= 0 && slot < count, "slot \(slot) out of range (\(count))")
            yield &base[slot]
        }
    }

    /// Back to a fresh frame: every slot null, no parent, no return value.
    func clear() {
        var i = 0
        while i < count { base[i] = .null; i += 1 }
        returnValue = .null
        parent = nil
    }

    @inline(__always) func ancestor(_ depth: Int) -> Frame {
        var f = self
        var d = depth
        while d > 0, let p = f.parent { f = p; d -= 1 }
        return f
    }

    /// Grows the frame to `count` slots (the REPL's top level gains variables).
    func ensure(_ newCount: Int) {
        guard count < newCount else { return }
        let grown = UnsafeMutablePointer<Value>.allocate(capacity: newCount)
        grown.moveInitialize(from: base, count: count)
        (grown + count).initialize(repeating: .null, count: newCount - count)
        base.deallocate()
        base = grown
        count = newCount
    }
}

typealias Eval = (Frame) throws -> Value
typealias Exec = (Frame) throws -> Flow

/// A compiled closure held by a class: an array of these hands each closure
/// back as it was made, where an array of closures goes through a
/// reabstraction thunk on every call.
final class ExecBox {
    let run: Exec
    init(_ run: @escaping Exec) { self.run = run }
}

final class EvalBox {
    let eval: Eval
    init(_ eval: @escaping Eval) { self.eval = eval }
}

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
    @exclusivity(unchecked) var run: Exec = { _ in .next }
    /// For blocks: the value of the last expression statement.
    var valueOfLast = false
    /// Frames of finished calls that nothing else kept (no closure captured
    /// them): the next call reuses one instead of allocating.
    @exclusivity(unchecked) private var spare: Frame?
    @exclusivity(unchecked) private var spareCount = 0

    /// A frame with every slot null, for a call of this body.
    @inline(__always) func frame(count: Int, parent: Frame?) -> Frame {
        // While bodies of a `parallel for` run, frames are neither taken from nor given back to
        // the spares: two threads may call the same function.
        if ParallelRun.active.load(ordering: .relaxed) == 0, let f = spare, f.count == count {
            spare = f.nextSpare
            f.nextSpare = nil
            spareCount -= 1
            f.parent = parent
            return f
        }
        return Frame(count: count, parent: parent)
    }

    /// Takes back the frame of a finished call unless something still holds it.
    @inline(__always) func recycle(_ frame: inout Frame) {
        guard spareCount < 32, ParallelRun.active.load(ordering: .relaxed) == 0, isKnownUniquelyReferenced(&frame) else { return }
        frame.clear()
        frame.nextSpare = spare
        spare = frame
        spareCount += 1
    }
}
