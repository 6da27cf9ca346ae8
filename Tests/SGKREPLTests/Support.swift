import Foundation
import SGKLanguage
@testable import SGKREPL

/// A few commands shaped like the real primitives, for completion and help.
enum FakeCommands: CommandLibrary {
    static var commands: [NativeCommand] {
        [
            NativeCommand(CommandSignature("role create", positionals: [.init("name", "the role's name")],
                                           keywords: [.init("trust", required: true, "the trust policy"), .init("description", "a description")],
                                           summary: "Create an IAM role.", example: "role create ops trust: $t", isWrite: true)) { inv in
                obj(["RoleName": .string(inv.args.positional(0)?.text ?? ""), "Arn": .string("arn:aws:iam::123456789012:role/x")])
            },
            NativeCommand(CommandSignature("role get", positionals: [.init("name", "the role's name")], summary: "Read a role.")) { _ in .null },
            NativeCommand(CommandSignature("role delete", positionals: [.init("name", "the role's name")], summary: "Delete a role.", isWrite: true)) { _ in .null },
            NativeCommand(CommandSignature("kubectl apply", positionals: [.init("manifest", flags: ["-f", "--filename"], isPath: true, "a file or a value")],
                                           keywords: [.init("namespace", flags: ["-n"], "the namespace")],
                                           summary: "Apply manifests.")) { _ in .null },
            NativeCommand(CommandSignature("read", positionals: [.init("file", isPath: true, "the file")], summary: "Read a file.")) { _ in .null },
            NativeCommand(CommandSignature("spin", summary: "Loops until cancelled.")) { inv in
                while !inv.context.cancellation.isCancelled { usleep(1000) }
                throw CancellationError()
            },
        ]
    }
}

/// A session with core and fake commands writing to string sinks.
struct Harness {
    let session: Session
    let out: StringSink
    let err: StringSink

    init() {
        var reg = CommandRegistry()
        reg.register(CoreCommands.self)
        reg.register(FakeCommands.self)
        out = StringSink()
        err = StringSink()
        let ctx = CallContext(output: out, errors: err, environment: [:])
        session = Session(registry: reg, context: ctx, loader: ModuleLoader(searchPaths: [], environment: [:]))
    }

    /// Runs lines through the loop and returns the reader (prompts, history).
    @discardableResult
    func run(_ lines: [String], display: Display = Display(), history: HistoryFile? = nil) -> (ScriptedReader, Int32) {
        let reader = ScriptedReader(lines: lines)
        let repl = REPL(session: session, reader: reader, history: history, display: display)
        let code = repl.run()
        return (reader, code)
    }

    /// Runs lines through the loop on a large-stack thread (the caller's task
    /// is suspended, not blocked); returns the exit status.
    func runOffPool(_ lines: [String]) async -> Int32 {
        let box = HarnessBox(self, lines)
        return await Session.onLargeStackAsync { box.harness.run(box.lines).1 }
    }
}

final class HarnessBox: @unchecked Sendable {
    let harness: Harness
    let lines: [String]
    init(_ h: Harness, _ lines: [String]) { harness = h; self.lines = lines }
}

func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgk-repl-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// A map value with its keys in the order written.
func obj(_ pairs: KeyValuePairs<String, Value>) -> Value { Value.map(pairs) }
