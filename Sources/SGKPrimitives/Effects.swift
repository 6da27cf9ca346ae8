import Foundation
import OrderedCollections
import SGKAWS
import SGKData
import SGKLanguage

/// A write to AWS or Kubernetes, described before it is made.
public struct Change: Sendable {
    public enum Action: String, Sendable {
        case create, update, delete
        var symbol: String { self == .create ? "+" : self == .update ? "~" : "-" }
    }
    public var action: Action
    /// The kind of resource: `role`, `oidc-provider`, `policy`, `role-policy-attachment`, or a Kubernetes kind.
    public var kind: String
    /// Its identity: a name or ARN, `namespace/name` for Kubernetes objects.
    public var name: String
    /// What changes, e.g. `trust policy` or `AmazonSageMakerFullAccess`.
    public var detail: String?
    /// The state before (nil when the resource does not exist).
    public var before: Value?
    /// The state wanted.
    public var after: Value?
    /// The equivalent `aws` / `eksctl` / `kubectl` lines (no secrets).
    public var explain: [String]
    /// For a Kubernetes object: the API server it is in (the same name is another object elsewhere),
    /// its URL as this run spelled it (for people to read).
    public var cluster: String?
    /// For a Kubernetes object: the cluster as the server identifies it (its `kube-system` namespace's
    /// UID, `KubeClient.clusterID()`), which does not depend on how the URL is spelled; nil when unknown.
    public var clusterID: String?

    public init(_ action: Action, kind: String, name: String, detail: String? = nil, before: Value? = nil, after: Value? = nil,
                explain: [String] = [], cluster: String? = nil, clusterID: String? = nil) {
        self.action = action; self.kind = kind; self.name = name; self.detail = detail
        self.before = before; self.after = after; self.explain = explain; self.cluster = cluster; self.clusterID = clusterID
    }

    var summary: String { "\(action.rawValue) \(kind) \(name)" + (detail.map { " (\($0))" } ?? "") }
}

/// The one place that decides what happens to a write: perform and journal it,
/// plan it for `--dry-run`, print its command line for `--explain`. Primitives
/// never branch on those modes themselves.
public final class Effects: @unchecked Sendable {
    let context: CallContext
    let lock = NSLock()
    /// Every change and unchanged resource seen in this run, in order.
    public private(set) var plan: [(symbol: String, text: String)] = []
    var journal: Journal?
    /// Test hook: `SGK_TEST_ABORT_AFTER_WRITES=N` kills the process (SIGKILL) right after the
    /// N-th performed write has been journaled, to test that an interrupted run converges;
    /// `N:unjournaled` kills it after the write is made and before its journal entry says so.
    let abortAfterWrites: Int?
    let abortUnjournaled: Bool
    var performedWrites = 0

    init(context: CallContext) {
        self.context = context
        if !context.options.dryRun { journal = Journal(context: context) }
        let hook = context.environment["SGK_TEST_ABORT_AFTER_WRITES"].map { $0.split(separator: ":").map(String.init) } ?? []
        abortAfterWrites = hook.first.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        abortUnjournaled = hook.count > 1 && hook[1] == "unjournaled"
    }

    /// The run's Effects.
    public static func of(_ context: CallContext) -> Effects { context.service(Effects.self) { Effects(context: context) } }

    public var isDryRun: Bool { context.options.dryRun }
    /// `--explain`: the command lines of the writes are printed.
    public var isExplaining: Bool { context.options.explain }

    func paint(_ s: String, _ code: String) -> String {
        context.options.color && context.output.isTerminal ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }

    func printExplain(_ lines: [String]) {
        guard context.options.explain else { return }
        for l in lines { context.output.write(paint(l, "36") + "\n") }
    }

    /// Performs `change` (or, in a dry run, records it and returns `planned`).
    public func write(_ change: Change, planned: @autoclosure () -> Value, perform: () throws -> Value) throws -> Value {
        printExplain(change.explain)
        if isDryRun {
            let line = "\(change.action.symbol) \(change.summary)"
            lock.lock(); plan.append((change.action.symbol, change.summary)); lock.unlock()
            context.output.write(paint(line, change.action == .create ? "32" : change.action == .update ? "33" : "31") + "\n")
            return planned()
        }
        try requireJournal()
        let w = begin(change)
        let result: Value
        do {
            result = try perform()
        } catch let already as AlreadyAsWanted {
            // The service said there was nothing to do: no write was made by this run.
            if let id = w.id { journal?.record(change, status: .unchanged, id: id) }
            let text = "unchanged \(change.kind) \(change.name)" + ((already.detail ?? change.detail).map { " (\($0))" } ?? "")
            lock.lock(); plan.append(("=", text)); lock.unlock()
            return already.result
        } catch {
            // A write whose answer never came stays `started` (read back as interrupted): it may
            // have been made, and an uninstall must still consider it.
            if (error as? OutcomeUnknownError)?.outcomeUnknown != true { failed(w) }
            throw error
        }
        done(w, result: result)
        return result
    }

    /// Thrown by a write's `perform` when the service answers that there was nothing to do (a
    /// detach of a policy no longer attached, a delete of what is already gone): the write is
    /// recorded as unchanged (journal and plan), and `result` is its value.
    public struct AlreadyAsWanted: Error {
        public var result: Value
        public var detail: String?
        public init(result: Value = .null, detail: String? = nil) { self.result = result; self.detail = detail }
    }

    /// Fails when writes are to be made and the journal cannot be written: without it an uninstall
    /// could not know what the run created, so nothing is written at all.
    public func requireJournal() throws {
        guard !isDryRun, let journal else { return }
        if let reason = journal.open() {
            throw CommandError("cannot write the journal at \(journal.path): \(reason)", code: "JournalError",
                               hint: "pass --journal FILE (or set SGK_JOURNAL) to a writable place: an uninstall reads it to know what this run created")
        }
        try lockJournal()
    }

    /// Takes the journal's lock before a command that may write reads what is there, and keeps it
    /// to the end of the run (or of the REPL input): two runs that share a journal write one after
    /// the other, each reading what the other made, so neither journals the other's creates. A
    /// run that has to wait says for whom, once. Nothing to do in a dry run; a lock file that
    /// cannot be made is not an error here (the journal's own error comes with the first write).
    public func lockJournal() throws {
        guard !isDryRun, let journal else { return }
        try journal.acquire(cancellation: context.cancellation) { [context] line in
            context.errors.write(line + "\n")
            context.errors.flush()
        }
    }


    /// A write being made (see `begin`).
    public struct PendingWrite: Sendable {
        let change: Change
        let id: String?
    }

    /// Starts a write that a primitive makes itself, outside `write` (each object of a concurrent
    /// `kubectl apply`): journaled before it is made and again once it is `done` (or `failed`), so
    /// a run killed in between leaves an `interrupted` entry and an uninstall still knows what it
    /// may have made. Not for dry runs, whose writes are planned by `write`.
    public func begin(_ change: Change) -> PendingWrite {
        PendingWrite(change: change, id: journal?.record(change, status: .started))
    }

    /// The write's answer came: `change` (default: the one begun) says what it did.
    public func done(_ w: PendingWrite, result: Value = .null, change: Change? = nil) {
        let change = change ?? w.change
        if abortUnjournaled { abortIfDue(change) }
        if let id = w.id { journal?.record(change, status: .done, id: id, result: result) }
        if !abortUnjournaled { abortIfDue(change) }
    }

    /// The write failed: nothing to remember.
    public func failed(_ w: PendingWrite) {
        if let id = w.id { journal?.record(w.change, status: .failed, id: id) }
    }

    /// The test hook `SGK_TEST_ABORT_AFTER_WRITES`.
    private func abortIfDue(_ change: Change) {
        guard let n = abortAfterWrites else { return }
        lock.lock(); performedWrites += 1; let count = performedWrites; lock.unlock()
        guard count >= n else { return }
        context.output.flush()
        let when = abortUnjournaled ? "after write \(count), before its journal entry," : "after write \(count)"
        FileHandle.standardError.write(Data("sgk: SGK_TEST_ABORT_AFTER_WRITES: killing the process \(when) (\(change.summary))\n".utf8))
        kill(getpid(), SIGKILL)
    }

    /// Whether this dry run has planned to create the resource (so a later step may act on it).
    public func plansToCreate(kind: String, name: String) -> Bool {
        let text = "create \(kind) \(name)"
        lock.lock(); defer { lock.unlock() }
        return plan.contains { $0.symbol == "+" && ($0.text == text || $0.text.hasPrefix(text + " (")) }
    }

    /// Records a resource that is already as wanted.
    public func unchanged(kind: String, name: String, detail: String? = nil, explain: [String] = []) {
        printExplain(explain)
        let text = "unchanged \(kind) \(name)" + (detail.map { " (\($0))" } ?? "")
        lock.lock(); plan.append(("=", text)); lock.unlock()
        if isDryRun { context.output.write(paint("= \(text)", "2") + "\n") }
    }
}

/// Appends every write as JSON lines (with the state before): one when it starts, one when it is
/// done (or failed), both before the primitive returns, so an interrupted run can be resumed and
/// an uninstall knows what was created — even by a run killed between a write and its answer.
final class Journal: @unchecked Sendable {
    enum Status: String { case started, done, failed, unchanged }
    let path: String
    let lock = NSLock()
    /// Open for the run once the first write is journaled; synced and closed at its end.
    private var fd: Int32 = -1
    private var failed = false
    /// Entry ids: this process's id and start time, and a count (pairs a write's start with its end).
    private let run = "\(getpid())-\(Int(Date().timeIntervalSince1970 * 1000))"
    private var count = 0

    init?(context: CallContext) {
        path = Journal.path(context)
        context.onShutdown { [self] in close() }
        context.onEndOfInput { [self] in release() }
    }

    /// `--journal`-less default: `$XDG_STATE_HOME/sgk/journal/journal.jsonl` (or `~/.local/state/…`);
    /// `SGK_JOURNAL` overrides it.
    static func path(_ context: CallContext) -> String {
        if let p = context.options.journalPath { return p }
        let env = context.environment
        if let p = env["SGK_JOURNAL"], !p.isEmpty { return p }
        let base = env["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.local/state")
        return base + "/sgk/journal/journal.jsonl"
    }

    /// Appends an entry; the file is synced to disk once, at the end of the run, not after every entry.
    /// Returns the entry's id (a `started` entry's, for its `done` or `failed` entry).
    @discardableResult
    func record(_ change: Change, status: Status, id: String? = nil, result: Value = .null) -> String {
        lock.lock()
        defer { lock.unlock() }
        let id = id ?? { count += 1; return "\(run)-\(count)" }()
        var entry = OrderedDictionary<String, JSON>()
        entry["time"] = .string(SigV4Time.iso8601(Date()))  // no ICU time zone tables (Date.formatted loads them)
        entry["id"] = .string(id)
        entry["status"] = .string(status.rawValue)
        entry["action"] = .string(change.action.rawValue)
        entry["kind"] = .string(change.kind)
        entry["name"] = .string(change.name)
        if let d = change.detail { entry["detail"] = .string(d) }
        if let c = change.cluster { entry["cluster"] = .string(c) }
        if let c = change.clusterID { entry["clusterID"] = .string(c) }
        // The states go with the start; the end adds what the write returned (a new ARN).
        if status == .started {
            entry["before"] = change.before?.json ?? .null
            entry["after"] = change.after?.json ?? .null
        }
        // An EKS Pod Identity association's ARN and id are `associationArn` and `associationId`.
        if case .map(let m) = result, case .string(let arn)? = m["Arn"] ?? m["associationArn"] { entry["arn"] = .string(arn) }
        // What tells this resource from a later one of the same name (IAM gives every role an id, EKS every association).
        if case .map(let m) = result, case .string(let uid)? = m["RoleId"] ?? m["PolicyId"] ?? m["associationId"], uid != "(planned)" { entry["uid"] = .string(uid) }
        append(JSONCodec.serialize(.object(entry), pretty: false) + "\n")
        return id
    }

    /// Opens the file for the run (once); nil when it is open, else why it cannot be.
    func open() -> String? {
        lock.lock(); defer { lock.unlock() }
        return openLocked()
    }

    private func openLocked() -> String? {
        if fd >= 0 { return nil }
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        fd = Foundation.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { return String(cString: strerror(errno)) }
        return nil
    }

    /// One `write` per entry (it survives the process being killed at any point).
    private func append(_ line: String) {
        if fd < 0 {
            guard !failed else { return }
            if let reason = openLocked() {
                failed = true
                context_warn("cannot write the journal at \(path): \(reason)")
                return
            }
        }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
    }

    func close() {
        lock.lock()
        if fd >= 0 {
            fsync(fd)
            Foundation.close(fd)
            fd = -1
        }
        lock.unlock()
        release()
    }

    // MARK: The lock

    /// `PATH.lock`, beside the journal: `flock`ed by the run that writes (released by the kernel
    /// when that process ends, however it ends), holding `{"pid":N,"started":TIME}` of that run.
    var lockPath: String { path + ".lock" }
    private var lockFD: Int32 = -1

    /// Takes the lock (once; it is held until `release`), waiting while another run holds it and
    /// saying so through `notice`, once per run waited for. Ctrl-C ends the wait.
    func acquire(cancellation: Cancellation, notice: (String) -> Void) throws {
        lock.lock(); defer { lock.unlock() }
        guard lockFD < 0 else { return }
        let dir = (lockPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = Foundation.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var told: String?
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { Foundation.close(fd); return }
            if cancellation.isCancelled { Foundation.close(fd); throw CancellationError() }
            let holder = Journal.holder(fd)
            if let holder, holder != told {
                told = holder
                notice("waiting for the install started at \(holder) … (it writes the same journal, \(path))")
            }
            usleep(100_000)
        }
        let started = SigV4Time.iso8601(Date())
        let text = JSONCodec.serialize(.object(["pid": .int(Int(getpid())), "started": .string(started)]), pretty: false) + "\n"
        _ = ftruncate(fd, 0)
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        lockFD = fd
    }

    /// `TIME (pid N)` of the run that holds the lock, from the lock file; nil until it has written them.
    static func holder(_ fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0, let j = try? JSONCodec.parse(String(decoding: buf[..<n], as: UTF8.self)),
              case .int(let pid)? = j["pid"], case .string(let started)? = j["started"] else { return nil }
        return "\(started) (pid \(pid))"
    }

    func release() {
        lock.lock(); defer { lock.unlock() }
        guard lockFD >= 0 else { return }
        _ = flock(lockFD, LOCK_UN)
        Foundation.close(lockFD)
        lockFD = -1
    }

    func context_warn(_ s: String) { FileHandle.standardError.write(Data("warning: \(s)\n".utf8)) }
}

/// Shell-quotes one word for `--explain` lines.
func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }) { return s }
    return "'" + s.replacingAll("'", with: "'\\''") + "'"
}
