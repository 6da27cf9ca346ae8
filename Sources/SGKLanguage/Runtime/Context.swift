import Foundation
import Logging
import Synchronization

/// Where text goes: stdout for results, stderr for diagnostics and logs.
public protocol OutputSink: AnyObject, Sendable {
    func write(_ text: String)
    func flush()
    /// Whether the text reaches a terminal (colors, progress, the item prefix of `parallel for` lines).
    var isTerminal: Bool { get }
}

extension OutputSink {
    public var isTerminal: Bool { false }
}

/// A buffered file-descriptor sink.
public final class FileSink: OutputSink, @unchecked Sendable {
    let fd: Int32
    let lock = NSLock()
    var buffer: [UInt8] = []
    public let isTerminal: Bool
    public init(fd: Int32) {
        self.fd = fd
        self.isTerminal = isatty(fd) == 1
    }
    public func write(_ text: String) {
        lock.lock()
        buffer.append(contentsOf: text.utf8)
        let big = buffer.count > 1 << 16
        lock.unlock()
        if big || isTerminal { flush() }
    }
    public func flush() {
        lock.lock()
        defer { lock.unlock() }
        var off = 0
        while off < buffer.count {
            let n = buffer[off...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            off += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Collects text in memory (tests, `sh` capture).
public final class StringSink: OutputSink, @unchecked Sendable {
    let lock = NSLock()
    var storage = ""
    public init() {}
    public func write(_ text: String) { lock.lock(); storage += text; lock.unlock() }
    public func flush() {}
    public var text: String { lock.lock(); defer { lock.unlock() }; return storage }
}

/// Cooperative cancellation for a run: Ctrl-C sets it; loops, calls and
/// network waits observe it.
public final class Cancellation: Sendable {
    let flag = Atomic<Bool>(false)
    let tasks = Mutex<[Int: @Sendable () -> Void]>([:])
    let nextID = Atomic<Int>(0)
    public init() {}
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }
    public func cancel() {
        flag.store(true, ordering: .relaxed)
        let hooks = tasks.withLock { Array($0.values) }
        for h in hooks { h() }
    }
    public func reset() { flag.store(false, ordering: .relaxed) }
    func register(_ hook: @escaping @Sendable () -> Void) -> Int {
        let id = nextID.add(1, ordering: .relaxed).newValue
        tasks.withLock { $0[id] = hook }
        return id
    }
    func unregister(_ id: Int) { _ = tasks.withLock { $0.removeValue(forKey: id) } }
}

/// Options a run was started with.
public struct RunOptions: Sendable {
    /// Where the journal of writes goes (nil: the default under $XDG_STATE_HOME/sgk/journal).
    public var journalPath: String?
    public var dryRun = false
    public var explain = false
    public var verbose = false
    public var color = false
    public init() {}
}

/// Per-run services shared with native commands: output, environment,
/// options, cancellation, a logger and a place for libraries to keep clients.
public final class CallContext: @unchecked Sendable {
    private let runOutput: OutputSink
    private let runErrors: OutputSink
    /// Where results go: the run's stdout sink, or, in a body of a `parallel for`, that body's
    /// line-buffered view of it (see `BodyOutput`).
    public var output: OutputSink {
        if let r = ThreadState.existing?.route, r.context === self { return r.output }
        return runOutput
    }
    /// Where diagnostics go (stderr), per body as `output` is.
    public var errors: OutputSink {
        if let r = ThreadState.existing?.route, r.context === self { return r.errors }
        return runErrors
    }
    public var environment: [String: String]
    private var runOptions: RunOptions
    /// The run's options; `dryRun` is also true inside `withDryRun` (on that thread only).
    public var options: RunOptions {
        get {
            var o = runOptions
            if !o.dryRun, let t = ThreadState.existing, t.dryRun > 0 { o.dryRun = true }
            return o
        }
        set { runOptions = newValue }
    }
    public let cancellation: Cancellation
    public var logger: Logger
    private let printedFlag = Atomic<Bool>(false)
    /// Set when a call printed its result with `-o FORMAT`: the REPL does not show it again.
    public var printedWithOutputFlag: Bool {
        get { printedFlag.load(ordering: .relaxed) }
        set { printedFlag.store(newValue, ordering: .relaxed) }
    }

    /// Runs `body` as a dry run (one call's `--dry-run`), on this thread only: the other bodies
    /// of a `parallel for` keep the run's mode.
    public func withDryRun<T>(_ body: () throws -> T) rethrows -> T {
        let t = ThreadState.current
        t.dryRun += 1
        defer { t.dryRun -= 1 }
        return try body()
    }
    private let lock = NSRecursiveLock()   // a service's maker may register a shutdown hook
    private var services: [ObjectIdentifier: AnyObject] = [:]
    private var shutdownHooks: [@Sendable () async -> Void] = []

    /// Registers work to do when the run ends (closing HTTP clients).
    public func onShutdown(_ hook: @escaping @Sendable () async -> Void) {
        lock.lock(); shutdownHooks.append(hook); lock.unlock()
    }

    private var endOfInputHooks: [@Sendable () -> Void] = []

    /// Registers work to do at the end of each REPL input (the journal's lock is given back, so
    /// that a session left open does not hold up another run).
    public func onEndOfInput(_ hook: @escaping @Sendable () -> Void) {
        lock.lock(); endOfInputHooks.append(hook); lock.unlock()
    }

    /// Runs the end-of-input hooks (the REPL calls it after each input).
    public func endOfInput() {
        lock.lock(); let hooks = endOfInputHooks; lock.unlock()
        for h in hooks { h() }
    }

    /// A context dropped without `shutdown()` still closes its clients, in the background.
    deinit {
        let hooks = shutdownHooks
        if !hooks.isEmpty { Task(executorPreference: WaitExecutor.shared) { for h in hooks.reversed() { await h() } } }
    }

    /// Runs the shutdown hooks once (the CLI and tests call it at the end of a run).
    public func shutdown() {
        lock.lock()
        let hooks = shutdownHooks
        shutdownHooks = []
        lock.unlock()
        guard !hooks.isEmpty else { return }
        let sem = DispatchSemaphore(value: 0)
        Task(executorPreference: WaitExecutor.shared) {
            for h in hooks.reversed() { await h() }
            sem.signal()
        }
        sem.wait()
    }

    public init(output: OutputSink, errors: OutputSink, environment: [String: String] = ProcessInfo.processInfo.environment,
                options: RunOptions = RunOptions(), logger: Logger = Logger(label: "sgk")) {
        self.runOutput = output
        self.runErrors = errors
        self.environment = environment
        self.runOptions = options
        self.cancellation = Cancellation()
        self.logger = logger
    }

    /// A service object of type T, made on first use (clients, caches, the Effects layer).
    public func service<T: AnyObject>(_ type: T.Type, make: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        if let s = services[ObjectIdentifier(type)] as? T { return s }
        let s = try make()
        services[ObjectIdentifier(type)] = s
        return s
    }

    /// Runs async work from a (synchronous) command and waits for it. Ctrl-C
    /// cancels the task, so cancellation reaches the HTTP call.
    public func wait<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        if cancellation.isCancelled { throw CancellationError() }
        let box = ResultBox<T>()
        let sem = DispatchSemaphore(value: 0)
        // The work runs on sgk's own executor, not the cooperative pool: the
        // caller blocks this thread, and callers on pool threads (tests,
        // embedders) must not be able to starve the work they wait for.
        let task = Task(executorPreference: WaitExecutor.shared) {
            do { box.set(.success(try await operation())) } catch { box.set(.failure(error)) }
            sem.signal()
        }
        let id = cancellation.register { task.cancel() }
        defer { cancellation.unregister(id) }
        // A cancel between the check above and `register` ran no hook: look again.
        if cancellation.isCancelled { task.cancel() }
        sem.wait()
        guard let r = box.get() else { throw CancellationError() }
        return try r.get()
    }
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    let lock = NSLock()
    var value: Result<T, any Error>?
    func set(_ r: Result<T, any Error>) { lock.lock(); value = r; lock.unlock() }
    func get() -> Result<T, any Error>? { lock.lock(); defer { lock.unlock() }; return value }
}

/// A task executor on Dispatch threads (outside Swift's cooperative pool) for
/// the async work that synchronous commands wait on.
final class WaitExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = WaitExecutor()
    let queue = DispatchQueue(label: "sgk.wait", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
