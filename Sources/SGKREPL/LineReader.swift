import CEditLine
import Foundation

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
        guard let line = Swift.readLine(strippingNewline: true) else {
            // getline fails with EINTR on Ctrl-C (the handler has no SA_RESTART).
            guard Interrupts.shared.consume() else { return .eof }
            clearerr(sgk_stdin())
            output?.write(Data("^C\n".utf8))
            return .interrupted
        }
        return .line(line)
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
