import Foundation
import SGKLanguage

/// Reads input and evaluates it in a session. When stdin is not a terminal
/// the whole input runs as one script (no prompt, no escape codes).
public struct REPL {
    public let session: Session

    public init(session: Session) { self.session = session }

    /// Runs the loop; returns the process exit status.
    public func run() -> Int32 {
        if isatty(0) == 0 {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            let file = SourceFile(name: "<stdin>", bytes: Array(data))
            return REPL.runScript(session, file)
        }
        var pending = ""
        let out = session.context.output
        while true {
            out.write(pending.isEmpty ? "sgk> " : "...> ")
            out.flush()
            guard let line = readLine(strippingNewline: true) else { out.write("\n"); out.flush(); return 0 }
            pending += (pending.isEmpty ? "" : "\n") + line
            let file = SourceFile(name: "<repl>", text: pending)
            do {
                if let v = try session.evaluate(file), !v.isNull { out.write(v.description + "\n") }
                pending = ""
            } catch let d as Diagnostic where d.isIncompleteInput {
                continue
            } catch {
                pending = ""
                session.context.errors.write(REPL.describe(error, color: false) + "\n")
            }
            out.flush()
        }
    }

    static func runScript(_ session: Session, _ file: SourceFile) -> Int32 {
        do {
            try session.run(file)
            session.context.output.flush()
            return 0
        } catch {
            session.context.output.flush()
            session.context.errors.write(describe(error, color: false) + "\n")
            session.context.errors.flush()
            return exitCode(for: error)
        }
    }

    public static func describe(_ error: any Error, color: Bool) -> String {
        switch error {
        case let d as Diagnostic: return d.render(color: color)
        case let l as DiagnosticList: return l.render(color: color)
        case let r as RuntimeError: return r.render(color: color)
        default: return "error: \(error)"
        }
    }

    public static func exitCode(for error: any Error) -> Int32 {
        switch error {
        case is Diagnostic, is DiagnosticList: return 65
        case let r as RuntimeError: return r.cancelled ? 130 : 1
        case is UsageError: return 64
        default: return 70
        }
    }
}
