import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one read of a line gave.
public enum ReadResult: Equatable, Sendable {
    /// A line, without its newline.
    case line(String)
    /// Ctrl-C while typing: the REPL drops the line and any continuation buffer.
    case interrupted
    /// Ctrl-D on an empty line, or end of input.
    case eof
}

/// The seam between the REPL loop and the terminal (the lua.c model):
/// libedit on a terminal, plain reads otherwise, a script in tests.
public protocol LineReader: AnyObject {
    func readLine(prompt: String) -> ReadResult
    /// Adds an entry to the in-memory history (up-arrow, Ctrl-R). The REPL
    /// calls it only for entries that may be recorded.
    func addHistory(_ entry: String)
    /// Installs the completion function (Tab). Readers without editing ignore it.
    func setCompletion(_ complete: @escaping (String, Int) -> Completion)
}

extension LineReader {
    public func addHistory(_ entry: String) {}
    public func setCompletion(_ complete: @escaping (String, Int) -> Completion) {}
}

/// Reads lines from a file descriptor with no editing. Used when libedit
/// cannot start (e.g. `TERM=dumb`, or `SGK_NO_EDITLINE` set).
public final class PlainReader: LineReader {
    let output: FileHandle?
    public init(showPrompt: Bool) { output = showPrompt ? FileHandle.standardOutput : nil }

    public func readLine(prompt: String) -> ReadResult {
        if let output { output.write(Data(prompt.utf8)) }
        _ = Interrupts.shared.consume()
        // Byte reads straight from fd 0: an EINTR from Ctrl-C is seen here, not retried inside stdio.
        var bytes: [UInt8] = []
        while true {
            var b: UInt8 = 0
            let n = read(0, &b, 1)
            if n == 1 {
                if b == UInt8(ascii: "\n") { return .line(String(decoding: bytes, as: UTF8.self)) }
                bytes.append(b)
            } else if n == 0 {
                return bytes.isEmpty ? .eof : .line(String(decoding: bytes, as: UTF8.self))
            } else if errno == EINTR {
                if Interrupts.shared.consume() {
                    output?.write(Data("\n".utf8))
                    return .interrupted
                }
            } else {
                return .eof
            }
        }
    }
}

/// Replays fixed input: for tests and for driving the loop from code.
public final class ScriptedReader: LineReader {
    public private(set) var remaining: [ReadResult]
    public private(set) var prompts: [String] = []
    public private(set) var history: [String] = []
    public private(set) var completer: ((String, Int) -> Completion)?

    public init(_ inputs: [ReadResult]) { remaining = inputs }
    public convenience init(lines: [String]) { self.init(lines.map { .line($0) }) }

    public func readLine(prompt: String) -> ReadResult {
        prompts.append(prompt)
        guard !remaining.isEmpty else { return .eof }
        return remaining.removeFirst()
    }
    public func addHistory(_ entry: String) { history.append(entry) }
    public func setCompletion(_ complete: @escaping (String, Int) -> Completion) { completer = complete }
}
