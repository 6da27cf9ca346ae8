import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT for the REPL. The handler only does async-signal-safe work: it sets
/// a flag and writes a byte to a pipe. A watcher thread reads the pipe and
/// runs the interrupt action (cancelling the running statement) outside the
/// signal context. While a line is being read, the interrupted `read` returns
/// EINTR and the reader sees the flag: Ctrl-C clears the line.
final class Interrupts: Sendable {
    static let shared = Interrupts()

    let pending = Atomic<Bool>(false)
    let pipeWrite = Atomic<Int32>(-1)
    /// The thread that reads lines and evaluates (a pthread_t), so a signal
    /// delivered to another thread is forwarded to it and its `read` is interrupted.
    let replThread = Atomic<UInt>(0)
    let hasReplThread = Atomic<Bool>(false)
    let action = Mutex<(@Sendable () -> Void)?>(nil)
    let installed = Atomic<Bool>(false)
    /// True while a statement runs: Ctrl-C then cancels it. A lock, not an
    /// atomic: the interrupt action runs under it, so a Ctrl-C is either
    /// delivered to the running statement or not at all — never left behind
    /// to cancel the next one.
    let evaluating = Mutex<Bool>(false)

    /// Runs `body` as the statement Ctrl-C interrupts; `finished` runs under
    /// the same lock once the statement is over (it clears the cancellation).
    func interruptible<T>(_ body: () throws -> T, finished: @escaping () -> Void) rethrows -> T {
        evaluating.withLock { $0 = true }
        defer { evaluating.withLock { $0 = false; finished() } }
        return try body()
    }

    /// Runs `action` only while a statement runs.
    func whileEvaluating(_ action: () -> Void) {
        evaluating.withLock { if $0 { action() } }
    }

    /// Installs the handler once; `action` runs on the watcher thread per Ctrl-C.
    func install(action newAction: @escaping @Sendable () -> Void) {
        action.withLock { $0 = newAction }
        markReplThread()
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        let readFD = fds[0]
        pipeWrite.store(fds[1], ordering: .releasing)
        let watcher = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n == 1 {
                    let a = action.withLock { $0 }
                    a?()
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        watcher.name = "sgk-sigint"
        watcher.start()
        var sa = sigaction()
        sigemptyset(&sa.sa_mask)
        sa.sa_flags = 0 // no SA_RESTART: a blocked read returns EINTR
        #if os(Linux)
        sa.__sigaction_handler.sa_handler = sgkHandleSIGINT
        #else
        sa.__sigaction_u.__sa_handler = sgkHandleSIGINT
        #endif
        sigaction(SIGINT, &sa, nil)
    }

    func markReplThread() {
        #if os(Linux)
        replThread.store(UInt(pthread_self()), ordering: .releasing)
        hasReplThread.store(true, ordering: .releasing)
        #endif
    }

    /// True once per Ctrl-C received since the last call.
    func consume() -> Bool { pending.exchange(false, ordering: .acquiringAndReleasing) }
}

/// The SIGINT handler: async-signal-safe operations only.
private func sgkHandleSIGINT(_ signal: Int32) {
    let saved = errno
    defer { errno = saved }
    let irq = Interrupts.shared
    #if os(Linux)
    if irq.hasReplThread.load(ordering: .acquiring) {
        let target = pthread_t(irq.replThread.load(ordering: .acquiring))
        if pthread_equal(pthread_self(), target) == 0 {
            // Delivered elsewhere: interrupt the REPL thread's read instead.
            _ = pthread_kill(target, SIGINT)
            return
        }
    }
    #endif
    irq.pending.store(true, ordering: .releasing)
    var byte: UInt8 = 1
    let fd = irq.pipeWrite.load(ordering: .acquiring)
    if fd >= 0 { _ = write(fd, &byte, 1) }
}
