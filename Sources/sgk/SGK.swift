import ArgumentParser
import Foundation
import Logging
import SGKLanguage
import SGKPrimitives
import SGKREPL
import SGKData

/// Builds a session with every command library and the embedded stdlib.
func makeSession(libPaths: [String], options: RunOptions) -> Session {
    var registry = CommandRegistry()
    registry.register(CoreCommands.self)
    Primitives.register(into: &registry)
    Primitives.installEKSTokenHook()
    let stdout = FileSink(fd: 1)
    let stderr = FileSink(fd: 2)
    var opts = options
    opts.color = stderr.isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    let context = CallContext(output: stdout, errors: stderr, options: opts, logger: Logger(label: "sgk"))
    let loader = ModuleLoader(searchPaths: libPaths, embedded: embeddedSources)
    return Session(registry: registry, context: context, loader: loader)
}

func report(_ error: any Error, _ session: Session) -> Int32 {
    session.context.output.flush()
    let color = session.context.options.color
    switch error {
    case let u as UsageError:
        session.context.errors.write(u.description + "\n")
    default:
        session.context.errors.write(REPL.describe(error, color: color) + "\n")
    }
    session.context.errors.flush()
    return REPL.exitCode(for: error)
}

/// Quotes a shell argument as an sgk word or string.
func commandLineWord(_ a: String) -> String {
    if a.hasSuffix(":") || a.hasPrefix("-") { return a }
    let plain = a.first.map { $0.isLetter || $0.isNumber || $0 == "_" } == true
        && a.allSatisfy { $0.isLetter || $0.isNumber || "_-./:@=+,%".contains($0) }
    if plain { return a }
    var out = "\""
    for ch in a {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "$": out += "\\$"
        case "\n": out += "\\n"
        default: out.append(ch)
        }
    }
    return out + "\""
}

func bootstrapLogging(verbose: Bool) {
    _ = ElapsedLogHandler.start
    LoggingSystem.bootstrap { label in ElapsedLogHandler(label: label, level: verbose ? .debug : .warning) }
}

/// Log lines on stderr stamped with the time since logging was set up, at start-up (`+  12.3 ms`), so that
/// `--verbose` shows where a run's time goes. One write per line.
struct ElapsedLogHandler: LogHandler {
    static let start = DispatchTime.now().uptimeNanoseconds
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    init(label: String, level: Logger.Level) { self.label = label; self.logLevel = level }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        let ms = Double(DispatchTime.now().uptimeNanoseconds &- Self.start) / 1e6
        var all = metadata
        if let extra { all.merge(extra) { _, new in new } }
        let meta = all.isEmpty ? "" : all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " "
        let text = "+\(String(format: "%7.1f", ms)) ms \(level) \(label): \(meta)[\(source)] \(message)\n"
        text.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("lib-path"), help: "A folder to search for modules (before $SGK_PATH and the embedded stdlib).")
    var libPath: [String] = []

    @Flag(name: .long, help: "Log requests (secrets redacted) to stderr.")
    var verbose = false
}

@main
struct SGK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgk",
        abstract: "A scripting language and REPL for AWS and Kubernetes operations.",
        discussion: "With no arguments sgk starts the REPL; input that is not a terminal runs as a script.",
        version: sgkVersion,
        subcommands: [Run.self, Check.self]
    )

    /// `sgk eks token demo` and other command lines run one command and print its
    /// result as JSON — so `sgk` can serve as a kubeconfig exec plugin.
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, !first.hasPrefix("-"), !["run", "check", "help"].contains(first) {
            var registry = CommandRegistry()
            registry.register(CoreCommands.self)
            Primitives.register(into: &registry)
            if registry.topLevelWords.contains(first) {
                bootstrapLogging(verbose: false)
                let session = makeSession(libPaths: [], options: RunOptions())
                let code: Int32 = Session.onLargeStack {
                    do {
                        let line = args.map(commandLineWord).joined(separator: " ")
                        if let v = try session.evaluate(SourceFile(name: "<command line>", text: line)), !v.isNull {
                            session.context.output.write(try Formatter.format(v, as: "json"))
                        }
                        session.context.output.flush()
                        return 0
                    } catch {
                        return report(error, session)
                    }
                }
                session.context.shutdown()
                session.context.output.flush()
                session.context.errors.flush()
                Foundation.exit(code)
            }
        }
        Self.main(nil)
    }

    @Option(name: .short, help: "Run CODE and exit.")
    var c: String?

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("dry-run"), help: "Reads happen; writes are planned and printed, not made.")
    var dryRun = false

    @Flag(name: .long, help: "Print the equivalent aws/eksctl/kubectl line of every write.")
    var explain = false

    mutating func run() throws {
        bootstrapLogging(verbose: global.verbose)
        var options = RunOptions()
        options.dryRun = dryRun
        options.explain = explain
        options.verbose = global.verbose
        let session = makeSession(libPaths: global.libPath, options: options)
        let code: Int32
        if let c {
            code = Session.onLargeStack {
                do {
                    let file = SourceFile(name: "<-c>", text: c)
                    try session.run(file)
                    session.context.output.flush()
                    return 0
                } catch {
                    return report(error, session)
                }
            }
        } else {
            code = Session.onLargeStack { REPL.start(session: session) }
        }
        session.context.shutdown()
        session.context.output.flush()
        session.context.errors.flush()
        if code != 0 { throw ExitCode(code) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a script file or a bundled script by name.",
        usage: "sgk run [--lib-path DIR] [--dry-run] [--explain] [--verbose] <script> [--param value …]",
        discussion: """
        Script parameters follow the file: --cluster demo --region us-west-2 (--role-name and --role_name are the same).
        `sgk run FILE --help` lists the script's parameters. Bundled scripts: \(ModuleLoader(embedded: embeddedSources).bundledScriptNames.joined(separator: ", ")).
        """
    )

    @Argument(parsing: .captureForPassthrough, help: "[--lib-path DIR] <script> [--param value …] [--dry-run] [--explain]")
    var arguments: [String] = []

    mutating func run() throws {
        var options = RunOptions()
        var params: [String: String] = [:]
        var libPaths: [String] = []
        var wantsHelp = false
        var script: String?
        var i = 0
        func usageError(_ msg: String, _ hint: String? = nil) -> ExitCode {
            FileHandle.standardError.write(Data(("error: \(msg)\n" + (hint.map { "  hint: \($0)\n" } ?? "")).utf8))
            return ExitCode(64)
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--dry-run": options.dryRun = true
            case "--explain": options.explain = true
            case "--verbose": options.verbose = true
            case "--help", "-h": wantsHelp = true
            case "--lib-path" where script == nil:
                guard i + 1 < arguments.count else { throw usageError("--lib-path needs a folder") }
                libPaths.append(arguments[i + 1]); i += 1
            default:
                if script == nil {
                    guard !a.hasPrefix("-") else { throw usageError("unknown option '\(a)' before the script", "usage: sgk run [--lib-path DIR] [--dry-run] [--explain] SCRIPT [--param value …]") }
                    script = a
                    break
                }
                guard a.hasPrefix("--"), a.count > 2 else {
                    throw usageError("unexpected argument '\(a)'", "script parameters are written --name value")
                }
                let body = String(a.dropFirst(2))
                if let eq = body.firstIndex(of: "=") {
                    params[String(body[..<eq])] = String(body[body.index(after: eq)...])
                } else if i + 1 < arguments.count, !arguments[i + 1].hasPrefix("--") {
                    params[body] = arguments[i + 1]; i += 1
                } else {
                    params[body] = "true"
                }
            }
            i += 1
        }
        bootstrapLogging(verbose: options.verbose)
        guard let script else {
            if wantsHelp { print(Run.helpMessage()); return }
            throw usageError("missing the script to run", "usage: sgk run SCRIPT [--param value …]")
        }
        let session = makeSession(libPaths: libPaths, options: options)
        let file: SourceFile
        if let data = FileManager.default.contents(atPath: script) {
            file = SourceFile(name: script, bytes: Array(data))
        } else if let src = session.interpreter.loader.bundledScript(script) {
            file = SourceFile(name: src.displayName, text: src.text)
        } else {
            throw usageError("no such script '\(script)'", "bundled scripts: \(session.interpreter.loader.bundledScriptNames.joined(separator: ", "))")
        }
        if wantsHelp {
            do {
                let ps = try session.params(of: file)
                var out = "usage: sgk run \(script)\(ps.isEmpty ? "" : " [parameters]") [--dry-run] [--explain]\n"
                if !ps.isEmpty { out += "\nparameters:\n" }
                for p in ps {
                    let flag = "--" + p.name.replacingAll("_", with: "-")
                    var line = "  \(flag) \((p.type ?? "value").uppercased())"
                    if let d = p.defaultText { line += "   (default: \(d))" } else { line += "   (required)" }
                    out += line + "\n"
                }
                FileHandle.standardOutput.write(Data(out.utf8))
                return
            } catch {
                throw ExitCode(report(error, session))
            }
        }
        let params0 = params
        let code: Int32 = Session.onLargeStack {
            do {
                try session.run(file, arguments: params0)
                session.context.output.flush()
                return 0
            } catch {
                return report(error, session)
            }
        }
        session.context.shutdown()
        session.context.output.flush()
        session.context.errors.flush()
        if code != 0 { throw ExitCode(code) }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse and resolve scripts without running anything.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The .sgk files to check.")
    var files: [String]

    mutating func run() throws {
        let session = makeSession(libPaths: global.libPath, options: RunOptions())
        var failed = false
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                session.context.errors.write("error: cannot read '\(path)'\n")
                failed = true
                continue
            }
            let file = SourceFile(name: path, bytes: Array(data))
            let diags = Session.onLargeStack { session.check(file) }
            for d in diags { session.context.errors.write(d.render(color: session.context.options.color) + "\n") }
            if !diags.isEmpty { failed = true }
        }
        session.context.errors.flush()
        if failed { throw ExitCode(65) }
    }
}
