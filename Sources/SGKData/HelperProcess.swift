// Runs a credential helper (an AWS `credential_process`, a kubeconfig exec plugin) with
// posix_spawn and poll(2): both output pipes are read at once (a helper that fills one pipe
// while sgk waits on the other would wait forever), each is capped, and the helper is stopped
// at its time-out, with the processes it started. No FileHandle call, none of which may trap.

import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a helper ended.
public enum HelperTermination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let s): return "exited with status \(s)"
        case .signaled(let s): return "was killed by signal \(s)\(HelperTermination.signalName(s).map { " (\($0))" } ?? "")"
        }
    }

    static func signalName(_ s: Int32) -> String? {
        switch s {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGILL: return "SIGILL"
        case SIGBUS: return "SIGBUS"
        case SIGPIPE: return "SIGPIPE"
        case SIGHUP: return "SIGHUP"
        default: return nil
        }
    }
}

/// What a finished helper left.
public struct HelperResult: Sendable {
    public var termination: HelperTermination
    public var stdout: [UInt8]
    /// Empty when the helper's stderr was the terminal (interactive).
    public var stderr: [UInt8]
}

/// Why a helper gave no result. The texts say what happened, not which helper: callers name it.
public enum HelperProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// posix_spawn or pipe failed (the errno's text).
    case cannotStart(String)
    /// It ran past its time-out and was stopped (`seconds` as configured).
    case timedOut(seconds: Double)
    /// It wrote more than `limit` bytes to one stream (`standard output` / `standard error`) and was stopped.
    case outputTooLarge(stream: String, limit: Int)
    /// `SGK_HELPER_TIMEOUT` is not a number of seconds.
    case invalidTimeout(String)

    public var description: String {
        switch self {
        case .cannotStart(let why): return "cannot start: \(why)"
        case .timedOut(let s):
            return "timed out after \(HelperProcess.formatSeconds(s)) and was stopped (set \(HelperProcess.timeoutVariable) to allow longer)"
        case .outputTooLarge(let stream, let limit):
            return "wrote more than \(HelperProcess.formatBytes(limit)) to its \(stream), so it was stopped"
        case .invalidTimeout(let v):
            return "\(HelperProcess.timeoutVariable) must be a number of seconds greater than 0, not '\(v)'"
        }
    }
}

/// Spawns helpers.
public enum HelperProcess {
    /// The environment variable that sets the time-out, in seconds.
    public static let timeoutVariable = "SGK_HELPER_TIMEOUT"
    /// The time-out when `SGK_HELPER_TIMEOUT` is not set.
    public static let defaultTimeout: Double = 60
    /// The most a helper may write to each of stdout and stderr (1 MiB).
    public static let outputLimit = 1 << 20

    /// The time-out `environment` asks for (`SGK_HELPER_TIMEOUT`, seconds, fractions allowed), else the default.
    public static func timeout(environment: [String: String]) throws(HelperProcessError) -> Double {
        guard let value = environment[timeoutVariable] else { return defaultTimeout }
        let raw = String(value.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if raw.isEmpty { return defaultTimeout }
        guard let v = Double(raw), v.isFinite, v > 0 else { throw .invalidTimeout(raw) }
        return v
    }

    /// Runs `executable` (a path) with `arguments` and exactly `environment`.
    ///
    /// Not interactive: stdin is /dev/null, stdout and stderr are read concurrently and capped
    /// at `outputLimit` bytes each, and after `timeout` seconds the helper's process group is
    /// killed. Interactive: stdin and stderr are the terminal's and there is no time-out (a person
    /// is typing), stdout is still read and capped.
    public static func run(executable: String, arguments: [String], environment: [String: String],
                           timeout: Double?, outputLimit: Int = HelperProcess.outputLimit,
                           interactive: Bool = false) async throws(HelperProcessError) -> HelperResult {
        let r: Result<HelperResult, HelperProcessError> = await withCheckedContinuation { cont in
            DispatchQueue.global().async {
                cont.resume(returning: runBlocking(executable: executable, arguments: arguments, environment: environment,
                                                   timeout: interactive ? nil : timeout, outputLimit: outputLimit, interactive: interactive))
            }
        }
        return try r.get()
    }

    static func errnoText(_ e: Int32) -> String {
        guard let p = strerror(e) else { return "error \(e)" }
        return String(cString: p)
    }

    static func formatSeconds(_ s: Double) -> String {
        if s == s.rounded(), s < 1e15 { return "\(Int64(s)) s" }
        return "\(s) s"
    }

    static func formatBytes(_ n: Int) -> String {
        if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10, n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(n) bytes"
    }

    #if os(Linux)
    typealias CloseFromAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare; nil with an older glibc.
    static let closeFromAction: CloseFromAction? = {
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(sym, to: CloseFromAction.self)
    }()
    #endif

    static func nowNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// A pipe whose two ends are closed in the helper by exec (the dup2'd copies stay open).
    /// (pipe2 is not in Swift's Glibc module: a program spawned by another thread between pipe and
    /// fcntl may inherit an end, which only delays an end of file; the read loop does not wait for one.)
    static func makePipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }

    static func runBlocking(executable: String, arguments: [String], environment: [String: String],
                            timeout: Double?, outputLimit: Int, interactive: Bool) -> Result<HelperResult, HelperProcessError> {
        guard let outPipe = makePipe() else { return .failure(.cannotStart(errnoText(errno))) }
        var errPipe: (read: Int32, write: Int32)?
        if !interactive {
            guard let p = makePipe() else {
                let e = errno
                close(outPipe.read); close(outPipe.write)
                return .failure(.cannotStart(errnoText(e)))
            }
            errPipe = p
        }

        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t?
        var attr: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attr)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attr)
        }
        if !interactive { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
        if let errPipe { posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2) }
        // Nothing else of sgk's is inherited (a descriptor another thread opened without
        // close-on-exec would stay open as long as the helper and what it leaves behind).
        #if os(Linux)
        if let closeFrom = closeFromAction { _ = closeFrom(&actions, 3) }
        #endif
        // Default signal handling and an empty mask in the helper (sgk ignores SIGPIPE, which a
        // helper's own pipelines rely on); its own process group, so that a time-out stops what it started.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        if !interactive {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attr, 0)
        }
        posix_spawnattr_setflags(&attr, Int16(truncatingIfNeeded: flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        var spawned = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        // ETXTBSY: a program being written, or still open for writing in a process another thread
        // is starting at this instant (a script written just before). It passes: try again briefly.
        var retries = 0
        while spawned == ETXTBSY, retries < 40 {
            retries += 1
            usleep(25_000)
            spawned = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        }
        close(outPipe.write)
        if let errPipe { close(errPipe.write) }
        guard spawned == 0 else {
            close(outPipe.read)
            if let errPipe { close(errPipe.read) }
            return .failure(.cannotStart(errnoText(spawned)))
        }
        let started = nowNanoseconds()
        let deadline = timeout.map { started &+ UInt64(min($0, 1e9) * 1e9) }

        var streams: [(fd: Int32, name: String, bytes: [UInt8], open: Bool)] = [(outPipe.read, "standard output", [], true)]
        if let errPipe { streams.append((errPipe.read, "standard error", [], true)) }
        for s in streams { _ = fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK) }
        defer { for s in streams { close(s.fd) } }

        var failure: HelperProcessError?
        var status: Int32?
        var chunk = [UInt8](repeating: 0, count: 65536)

        /// Milliseconds left before the deadline (nil: no deadline), at most `cap`.
        func remaining(cap: Int32) -> Int32? {
            guard let deadline else { return cap }
            let now = nowNanoseconds()
            if now >= deadline { return nil }
            return Int32(min(UInt64(cap), (deadline - now) / 1_000_000 + 1))
        }
        func reap(_ options: Int32) -> Int32? {
            var st: Int32 = 0
            while true {
                let r = waitpid(pid, &st, options)
                if r == pid { return st }
                if r < 0, errno == EINTR { continue }
                return nil
            }
        }

        // Read both streams until each ends. Once the helper has exited, what is already in the
        // pipes is read and the rest ignored: a process it left behind may hold them open.
        readLoop: while streams.contains(where: \.open) {
            var wait: Int32 = 0
            if status == nil {
                guard let w = remaining(cap: 200) else { failure = .timedOut(seconds: timeout ?? 0); break }
                wait = w
            }
            var pfds = streams.filter(\.open).map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let n = poll(&pfds, nfds_t(pfds.count), wait)
            if n < 0 {
                if errno == EINTR { continue }
                failure = .cannotStart("poll: \(errnoText(errno))")
                break
            }
            if n == 0 {
                if status != nil { break }   // exited and drained
                status = reap(WNOHANG)
                continue
            }
            for p in pfds where p.revents != 0 {
                guard let i = streams.firstIndex(where: { $0.fd == p.fd }) else { continue }
                while true {
                    let got = chunk.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                    if got > 0 {
                        streams[i].bytes.append(contentsOf: chunk[0..<got])
                        if streams[i].bytes.count > outputLimit {
                            failure = .outputTooLarge(stream: streams[i].name, limit: outputLimit)
                            break readLoop
                        }
                        continue
                    }
                    if got < 0, errno == EINTR { continue }
                    if got < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
                    streams[i].open = false   // end of file, or an error: nothing more comes
                    break
                }
            }
        }

        // Both streams ended: wait for the helper itself, until the deadline.
        if failure == nil, status == nil {
            if deadline == nil {
                status = reap(0)
            } else {
                while status == nil {
                    status = reap(WNOHANG)
                    if status != nil { break }
                    guard remaining(cap: 10) != nil else { failure = .timedOut(seconds: timeout ?? 0); break }
                    usleep(5_000)
                }
            }
        }
        if let failure {
            if interactive { kill(pid, SIGKILL) } else { kill(-pid, SIGKILL) }
            _ = reap(0)
            return .failure(failure)
        }
        guard let st = status else { return .failure(.cannotStart("the helper's status was lost")) }
        let termination: HelperTermination = (st & 0x7f) == 0 ? .exited((st >> 8) & 0xff) : .signaled(st & 0x7f)
        return .success(HelperResult(termination: termination, stdout: streams[0].bytes,
                                     stderr: streams.count > 1 ? streams[1].bytes : []))
    }
}
