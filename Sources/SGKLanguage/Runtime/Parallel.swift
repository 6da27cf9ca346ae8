import Foundation
import OrderedCollections
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How `parallel for` stays safe (docs/LANGUAGE.md, "Concurrency"):
///
/// - Each body runs on a thread of its own (a large stack, as the run's own thread has), in a
///   frame of its own whose parent is the loop's frame. Its loop variables, `let`s and the frames
///   of the calls it makes are its own (`Frame.owner`); the frames around the loop are shared and
///   only read while the bodies run — the run's thread waits for them. Values are immutable (lists
///   and maps are copied on write), so a shared value read by several bodies never changes.
/// - Assigning a variable of an enclosing frame is refused: before the run where the body assigns
///   it (a positioned error), and at run time when a function called by the body assigns a
///   variable of a frame that is not the body's own (`Frame.owner`).
/// - The interpreter's own state is thread-safe: call depth lives in frames, spare frames are not
///   recycled while bodies run (`ParallelRun.active`), caught errors and module start-up are
///   under locks, regular expressions are compiled under a lock.
/// - The run's services are shared and thread-safe (the clients' caches, the journal and its
///   lock, `CallContext.wait`); what a body changes for itself — its output, a call's own
///   `--dry-run` — is per thread (`ThreadState`).
enum ParallelRun {
    /// How many `parallel for` loops are running in this process (all sessions).
    static let active = Atomic<Int>(0)
    /// Owners of body frames (see `Frame.owner`); 0 is the run's own thread.
    static let nextOwner = Atomic<Int>(0)
    static let defaultLimit = 8
    /// Stack of a body's thread: as large as the run's own (`Session.onLargeStack`), so the bound on
    /// nested calls is reached before the stack's end. Reserved, not used: pages come as touched.
    static let stackSize = 1 << 29
}

/// What belongs to one thread: the body of a `parallel for` it runs (its output), a call's own
/// dry run, and the threads it descends from (a module's start-up seen from a body).
final class ThreadState {
    private static let ids = Atomic<Int>(0)
    let id = ThreadState.ids.add(1, ordering: .relaxed).newValue
    /// This thread and the threads that wait for it (a body's loop's thread, and so on up).
    var lineage: [Int] = []
    var route: BodyRoute?
    var dryRun = 0

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in
            if let p { Unmanaged<ThreadState>.fromOpaque(p).release() }
        }
        return k
    }()

    /// This thread's state (made on first use; freed with the thread).
    static var current: ThreadState {
        if let p = pthread_getspecific(key) { return Unmanaged<ThreadState>.fromOpaque(p).takeUnretainedValue() }
        let s = ThreadState()
        s.lineage = [s.id]
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }

    /// This thread's state when it has one.
    static var existing: ThreadState? {
        pthread_getspecific(key).map { Unmanaged<ThreadState>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Where a body's output goes.
final class BodyRoute {
    unowned let context: CallContext
    let output: BodyOutput
    let errors: BodyOutput
    init(context: CallContext, output: BodyOutput, errors: BodyOutput) {
        self.context = context; self.output = output; self.errors = errors
    }
}

/// The output of one body: written to the run's sink a whole line at a time (so the lines of
/// concurrent bodies never mix), each line prefixed with `[item] ` when the sink is a terminal.
/// A last line without its newline is written, with one, when the body ends.
final class BodyOutput: OutputSink, @unchecked Sendable {
    let base: OutputSink
    let prefix: String
    private let lock = NSLock()
    private var partial = ""

    init(base: OutputSink, label: String, prefixed: Bool?) {
        self.base = base
        self.prefix = (prefixed ?? base.isTerminal) ? "[\(label)] " : ""
    }

    var isTerminal: Bool { base.isTerminal }

    func write(_ text: String) {
        lock.lock()
        partial += text
        var lines = ""
        while let nl = partial.firstIndex(of: "\n") {
            lines += prefix + partial[..<nl] + "\n"
            partial = String(partial[partial.index(after: nl)...])
        }
        // Written while the lock is held: this body's lines keep their order.
        if !lines.isEmpty { base.write(lines) }
        lock.unlock()
    }

    func flush() { base.flush() }

    /// The body ended: a last line without its newline is written with one.
    func finish() {
        lock.lock()
        if !partial.isEmpty { base.write(prefix + partial + "\n"); partial = "" }
        lock.unlock()
        base.flush()
    }
}

extension Interpreter {
    /// One item of a `parallel for`: the loop variable's value, the second's, and a label for
    /// its output lines.
    struct ParallelItem {
        var first: Value
        var second: Value?
        var label: String
    }

    /// The text a body's output lines are prefixed with: a string or number item as it is; a map's
    /// `name`, `cluster` or `id`; otherwise its position (`#3`).
    static func parallelLabel(_ v: Value, index: Int) -> String {
        switch v {
        case .string(let s): return s.count <= 60 ? s : String(s.prefix(57)) + "…"
        case .int, .double, .bool, .duration: return v.text
        case .map(let m):
            for k in ["name", "cluster", "id"] { if case .string(let s)? = m[k] { return s } }
            return "#\(index)"
        default: return "#\(index)"
        }
    }

    /// Runs the bodies of a `parallel for`, at most `limit` at a time, and gives their results in
    /// the order of the items. A body that fails leaves `{failed: true, item, error}` in its place
    /// and does not stop the others; once all have ended the loop fails when any did, unless
    /// `keepGoing`. A cancel (Ctrl-C) reaches every body; the loop is then interrupted.
    func runParallel(_ items: [ParallelItem], limit: Int, keepGoing: Bool, prefix: Bool?, loopFrame: Frame, slotCount: Int,
                     slot: Int, slot2: Int?, body: @escaping Exec, file: SourceFile, range: SourceRange) throws -> Value {
        let n = items.count
        if n == 0 { return .list([]) }
        let results = ParallelResults(count: n)
        let workers = Swift.min(limit, n)
        let done = DispatchSemaphore(value: 0)
        let parent = ThreadState.current
        let lineage = parent.lineage
        let dryRun = parent.dryRun
        // The sinks of this thread: a nested loop's bodies write through the outer body's.
        let baseOutput = context.output
        let baseErrors = context.errors
        let context = self.context
        let cancellation = self.cancellation
        let work = ParallelWork(items: items, body: body, loopFrame: loopFrame)
        ParallelRun.active.add(1, ordering: .sequentiallyConsistent)
        defer { ParallelRun.active.subtract(1, ordering: .sequentiallyConsistent) }
        for _ in 0..<workers {
            let t = Thread {
                let ts = ThreadState.current
                ts.lineage = [ts.id] + lineage
                ts.dryRun = dryRun
                while true {
                    let i = work.next.add(1, ordering: .relaxed).oldValue
                    if i >= n { break }
                    let item = work.items[i]
                    if cancellation.isCancelled {
                        results.set(i, .failure(Interpreter.cancelledError(file, range)))
                        continue
                    }
                    let out = BodyOutput(base: baseOutput, label: item.label, prefixed: prefix)
                    let err = BodyOutput(base: baseErrors, label: item.label, prefixed: prefix)
                    ts.route = BodyRoute(context: context, output: out, errors: err)
                    let frame = Frame(count: slotCount, parent: work.loopFrame)
                    frame.depth = work.loopFrame.depth
                    frame.owner = ParallelRun.nextOwner.add(1, ordering: .relaxed).newValue
                    frame[slot] = item.first
                    if let slot2 { frame[slot2] = item.second ?? .null }
                    do {
                        let flow = try work.body(frame)
                        results.set(i, .success(flow == .ret ? frame.returnValue : .null))
                    } catch let e as RuntimeError {
                        results.set(i, .failure(e))
                    } catch {
                        results.set(i, .failure(RuntimeError("\(error)", file: file, range: range)))
                    }
                    out.finish()
                    err.finish()
                    ts.route = nil
                }
                done.signal()
            }
            t.stackSize = ParallelRun.stackSize
            t.start()
        }
        for _ in 0..<workers { done.wait() }

        var values: [Value] = []
        values.reserveCapacity(n)
        var failures: [(Int, RuntimeError)] = []
        var interrupted = false
        for i in 0..<n {
            switch results.get(i) {
            case .success(let v)?: values.append(v)
            case .failure(let e)?:
                if e.cancelled { interrupted = true }
                failures.append((i, e))
                var m = OrderedDictionary<String, Value>()
                m["failed"] = .bool(true)
                m["item"] = items[i].second ?? items[i].first
                m["error"] = e.asValue
                values.append(.map(m))
            case nil: values.append(.null)
            }
        }
        if interrupted || cancellation.isCancelled { throw Interpreter.cancelledError(file, range) }
        if !failures.isEmpty && !keepGoing {
            let shown = failures.prefix(5).map { i, e -> String in
                var where_ = ""
                if let f = e.file {
                    let loc = f.location(of: e.range.start)
                    where_ = " (\(f.name):\(loc.line):\(loc.column))"
                }
                return "\(items[i].label): \(e.message)\(where_)"
            }
            let more = failures.count > 5 ? "; and \(failures.count - 5) more" : ""
            throw RuntimeError("parallel for: \(failures.count) of \(n) bodies failed: \(shown.joined(separator: "; "))\(more)",
                               code: "ParallelFailed",
                               hint: "each failed item's place in the results is {failed: true, item, error}; keep-going: true returns them instead of failing",
                               file: file, range: range,
                               data: ["results": .list(values), "failed": .int(failures.count)])
        }
        return .list(values)
    }
}

/// What the bodies' threads share, read-only.
final class ParallelWork: @unchecked Sendable {
    let items: [Interpreter.ParallelItem]
    let body: Exec
    let loopFrame: Frame
    /// The next item to run.
    let next = Atomic<Int>(0)
    init(items: [Interpreter.ParallelItem], body: @escaping Exec, loopFrame: Frame) {
        self.items = items; self.body = body; self.loopFrame = loopFrame
    }
}

/// The bodies' results, each set once by the thread that ran it.
final class ParallelResults: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, RuntimeError>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<Value, RuntimeError>) { lock.lock(); slots[i] = r; lock.unlock() }
    func get(_ i: Int) -> Result<Value, RuntimeError>? { lock.lock(); defer { lock.unlock() }; return slots[i] }
}
