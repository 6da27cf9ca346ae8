import Foundation
import Logging
import SGKLanguage
import SGKPrimitives
import SGKData
import SGKREPL

/// Every command library: the core commands and the AWS and Kubernetes primitives.
func makeRegistry() -> CommandRegistry {
    var registry = CommandRegistry()
    registry.register(CoreCommands.self)
    Primitives.register(into: &registry)
    return registry
}

/// Builds a session with every command library and the embedded stdlib.
func makeSession(libPaths: [String], options: RunOptions, registry: CommandRegistry = makeRegistry()) -> Session {
    Primitives.installEKSTokenHook()
    let stdout = FileSink(fd: 1)
    let stderr = FileSink(fd: 2)
    var opts = options
    opts.color = stderr.isTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil && ProcessInfo.processInfo.environment["TERM"] != "dumb"
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
    func log(event: LogEvent) {
        let ms = Double(DispatchTime.now().uptimeNanoseconds &- Self.start) / 1e6
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let meta = all.isEmpty ? "" : all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " "
        let text = "+\(String(format: "%7.1f", ms)) ms \(event.level) \(label): \(meta)[\(event.source)] \(event.message)\n"
        text.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
    }
}

/// A mistake on the command line: the message, a hint, exit status 64.
struct CommandLineError: Error {
    let message: String
    var hint: String?
}

/// Runs `body` and turns a `CommandLineError` into its message on stderr and status 64.
func usageChecked(_ body: () throws -> Int32) -> Int32 {
    do {
        return try body()
    } catch let e as CommandLineError {
        FileHandle.standardError.write(Data(("error: \(e.message)\n" + (e.hint.map { "  hint: \($0)\n" } ?? "")).utf8))
        return 64
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        return 70
    }
}

/// The value after an option (`--lib-path DIR` or `--lib-path=DIR`), advancing `i` past it.
func optionValue(_ args: [String], _ i: inout Int, _ name: String) throws -> String {
    let a = args[i]
    if a.hasPrefix(name + "=") { return String(a.dropFirst(name.count + 1)) }
    guard i + 1 < args.count else { throw CommandLineError(message: "\(name) needs a value", hint: "sgk --help shows the usage") }
    i += 1
    return args[i]
}

/// Runs a session's work on the interpreter's large stack, then shuts the session down.
/// Why a script file could not be read.
enum ScriptReadError: Error, Equatable {
    case missing, folder, denied, other(String)
    var text: String {
        switch self {
        case .missing: return "no such file"
        case .folder: return "it is a folder"
        case .denied: return "permission denied"
        case .other(let s): return s
        }
    }
}

/// A script's bytes: from a file, or a pipe (`sgk run <(…)`, `/dev/stdin`), read to its end.
func readScript(_ path: String) -> Result<[UInt8], ScriptReadError> {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return .failure(.missing) }
    if isDir.boolValue { return .failure(.folder) }
    guard let h = FileHandle(forReadingAtPath: path) else {
        return .failure(FileManager.default.isReadableFile(atPath: path) ? .other("cannot open it") : .denied)
    }
    defer { try? h.close() }
    do { return .success([UInt8](try h.readToEnd() ?? Data())) } catch { return .failure(.other("\(error.localizedDescription)")) }
}

/// Runs the session's work on a large stack, stops its services, flushes its output and ends the
/// process with the work's exit code. The session's values are not freed one by one first: freeing
/// a deeply nested value recurses as deep as it is nested, and the process ends anyway.
func runSession(_ session: Session, _ work: @escaping () -> Int32) -> Int32 {
    let code = Session.onLargeStack(work)
    session.context.shutdown()
    session.context.output.flush()
    session.context.errors.flush()
    Foundation.exit(code)
}

let rootHelp = """
OVERVIEW: A scripting language and REPL for AWS and Kubernetes operations.

With no arguments sgk starts the REPL; input that is not a terminal runs as a script.

USAGE: sgk [-c <code>] [--lib-path <dir> ...] [--verbose] [--dry-run] [--explain] [--journal <file>]
       sgk run <script> [--param value ...] [--dry-run] [--explain] [--verbose] [--journal <file>]
       sgk check [--lib-path <dir> ...] <file> ...
       sgk [options] <command> [arguments ...]   (one command line; its result printed as JSON)

OPTIONS:
  -c <code>               Run CODE and exit.
  --lib-path <dir>        A folder to search for modules (before $SGK_PATH and the
                          embedded stdlib).
  --verbose               Log requests (secrets redacted) to stderr, with the time
                          since start-up.
  --dry-run               Reads happen; writes are planned and printed, not made.
  --explain               Print the equivalent aws/eksctl/kubectl line of every write.
  --journal <file>        Journal the writes to FILE (default: $SGK_JOURNAL, else
                          $XDG_STATE_HOME/sgk/journal/journal.jsonl).
  --version               Show the version.
  -h, --help              Show help information.

SUBCOMMANDS:
  run                     Run a script file or a bundled script by name.
  check                   Parse and resolve scripts without running anything.

  See 'sgk help <subcommand>' for detailed help.

"""

func runHelp() -> String {
    """
    OVERVIEW: Run a script file or a bundled script by name.

    Script parameters follow the file: --cluster demo --region us-west-2 (--role-name and
    --role_name are the same). `sgk run FILE --help` lists the script's parameters.
    Bundled scripts: \(ModuleLoader(embedded: embeddedSources).bundledScriptNames.joined(separator: ", ")).

    USAGE: sgk run [--lib-path DIR] [--dry-run] [--explain] [--verbose] [--journal FILE] <script> [--param value ...]

    --dry-run, --explain, --verbose and --journal FILE may also follow the script.

    """
}

let checkHelp = """
OVERVIEW: Parse and resolve scripts without running anything (exit 65 on errors).

USAGE: sgk check [--lib-path <dir> ...] <file> ...

"""

@main
enum SGK {
    static func main() {
        #if canImport(Glibc)
        // One malloc arena instead of one per thread that allocates (the interpreter, NIO's event
        // loops, the concurrency pool): sgk allocates little concurrently, so it gains nothing from
        // several, and each holds pages of its own (the SageMaker install peaks ~0.45 MiB lower;
        // docs/PERFORMANCE.md).
        // MALLOC_ARENA_MAX, when set, still decides.
        // (mallopt is looked up: Swift's Glibc module does not bring malloc.h; M_ARENA_MAX is -8.)
        if getenv("MALLOC_ARENA_MAX") == nil, let mallopt = dlsym(nil, "mallopt") {
            _ = unsafeBitCast(mallopt, to: (@convention(c) (Int32, Int32) -> Int32).self)(-8, 1)
        }
        #endif
        let args = Array(CommandLine.arguments.dropFirst())
        var code: Int32 = 0
        sw: switch args.first {
        case "run": code = usageChecked { try run(Array(args.dropFirst())) }
        case "check": code = usageChecked { try check(Array(args.dropFirst())) }
        case "help":
            switch args.dropFirst().first {
            case "run": print(runHelp(), terminator: "")
            case "check": print(checkHelp, terminator: "")
            case nil: print(rootHelp, terminator: "")
            // `sgk help role create`: the command's own help, as `help role create` gives it.
            default: code = commandLine(args); break sw
            }
            code = 0
        case let first? where !first.hasPrefix("-"):
            code = commandLine(args)
        default:
            code = usageChecked { try root(args) }
        }
        Foundation.exit(code)
    }

    /// `sgk eks token demo` and other command lines run one command and print its
    /// result as JSON — so `sgk` can serve as a kubeconfig exec plugin.
    static func commandLine(_ args: [String], options: RunOptions = RunOptions(), libPaths: [String] = []) -> Int32 {
        let registry = makeRegistry()
        guard registry.topLevelWords.contains(args[0]) else {
            let hint = args[0].hasSuffix(".sgk") || FileManager.default.fileExists(atPath: args[0])
                ? "to run a script: sgk run \(args[0])" : "sgk --help shows the usage; 'sgk -c help' lists the commands"
            FileHandle.standardError.write(Data("error: unknown command or subcommand '\(args[0])'\n  hint: \(hint)\n".utf8))
            return 64
        }
        bootstrapLogging(verbose: options.verbose)
        let session = makeSession(libPaths: libPaths, options: options, registry: registry)
        // With `-o FORMAT` the command prints its result itself.
        let printsItself = args.contains { $0 == "-o" || $0 == "--output" || $0 == "output:" || $0.hasPrefix("-o=") || $0.hasPrefix("--output=") }
        return runSession(session) {
            do {
                let line = ShellWords.source(args)
                if let v = try session.evaluate(SourceFile(name: "<command line>", text: line)), !printsItself {
                    try printResult(v, session)
                }
                session.context.output.flush()
                return 0
            } catch {
                let code = report(error, session)
                // The arguments came from the shell: a command line that does not resolve is a usage error.
                return error is DiagnosticList ? 64 : code
            }
        }
    }

    /// The value of a command line or of `sgk -c`'s last expression, on stdout: nothing for null; on
    /// a terminal as the REPL shows it; otherwise text as it is and any other value as JSON, so
    /// that `sgk -c … | jq .` works.
    static func printResult(_ v: Value, _ session: Session) throws {
        if v.isNull { return }
        let env = session.context.environment
        if isatty(1) == 1 {
            let color = env["NO_COLOR"] == nil && env["TERM"] != "dumb"
            if let shown = Display(color: color).render(v) { session.context.output.write(shown) }
            return
        }
        if case .string(let text) = v {
            session.context.output.write(text.hasSuffix("\n") ? text : text + "\n")
        } else {
            session.context.output.write(try Formatter.format(v, as: "json"))
        }
    }

    /// `sgk [-c CODE] [options]`: one snippet, or the REPL.
    static func root(_ args: [String]) throws -> Int32 {
        var options = RunOptions()
        var libPaths: [String] = []
        var code: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            switch a {
            case "--version": print(sgkVersion); return 0
            case "-h", "--help": print(rootHelp, terminator: ""); return 0
            case "--verbose": options.verbose = true
            case "--dry-run": options.dryRun = true
            case "--explain": options.explain = true
            case _ where a == "--journal" || a.hasPrefix("--journal="): options.journalPath = try optionValue(args, &i, "--journal")
            case "-c": code = try optionValue(args, &i, "-c")
            case _ where a == "--lib-path" || a.hasPrefix("--lib-path="): libPaths.append(try optionValue(args, &i, "--lib-path"))
            case _ where !a.hasPrefix("-") && code == nil:
                // `sgk --verbose --dry-run role create …`: options, then one command line.
                return commandLine(Array(args[i...]), options: options, libPaths: libPaths)
            default:
                throw CommandLineError(message: "unknown option '\(a)'", hint: "sgk --help shows the usage")
            }
            i += 1
        }
        bootstrapLogging(verbose: options.verbose)
        let session = makeSession(libPaths: libPaths, options: options)
        guard let code else { return runSession(session) { REPL.start(session: session) } }
        return runSession(session) {
            do {
                session.context.printedWithOutputFlag = false
                let v = try session.evaluate(SourceFile(name: "<-c>", text: code))
                if let v, !session.context.printedWithOutputFlag { try printResult(v, session) }
                session.context.output.flush()
                return 0
            } catch {
                return report(error, session)
            }
        }
    }

    /// `sgk run SCRIPT [--param value …]`: options before the script, script parameters after it
    /// (`--dry-run`, `--explain`, `--verbose`, `--journal FILE` and `--help` anywhere).
    static func run(_ arguments: [String]) throws -> Int32 {
        var options = RunOptions()
        var params: [String: [String]] = [:]
        var libPaths: [String] = []
        var wantsHelp = false
        var script: String?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "--dry-run": options.dryRun = true
            case "--explain": options.explain = true
            case "--verbose": options.verbose = true
            case "--help", "-h": wantsHelp = true
            case _ where a == "--journal" || a.hasPrefix("--journal="): options.journalPath = try optionValue(arguments, &i, "--journal")
            case _ where script == nil && (a == "--lib-path" || a.hasPrefix("--lib-path=")):
                libPaths.append(try optionValue(arguments, &i, "--lib-path"))
            default:
                if script == nil {
                    guard !a.hasPrefix("-") else {
                        throw CommandLineError(message: "unknown option '\(a)' before the script", hint: "usage: sgk run [--lib-path DIR] [--dry-run] [--explain] [--verbose] [--journal FILE] SCRIPT [--param value …]")
                    }
                    script = a
                    break
                }
                guard a.hasPrefix("--"), a.count > 2 else {
                    throw CommandLineError(message: "unexpected argument '\(a)'", hint: "script parameters are written --name value")
                }
                let body = String(a.dropFirst(2))
                if let eq = body.firstIndex(of: "=") {
                    params[String(body[..<eq]), default: []].append(String(body[body.index(after: eq)...]))
                } else if i + 1 < arguments.count, !arguments[i + 1].hasPrefix("--") {
                    params[body, default: []].append(arguments[i + 1]); i += 1
                } else {
                    params[body, default: []].append("true")
                }
            }
            i += 1
        }
        bootstrapLogging(verbose: options.verbose)
        guard let script else {
            if wantsHelp { print(runHelp(), terminator: ""); return 0 }
            throw CommandLineError(message: "missing the script to run", hint: "usage: sgk run SCRIPT [--param value …]")
        }
        let session = makeSession(libPaths: libPaths, options: options)
        let file: SourceFile
        switch readScript(script) {
        case .success(let bytes):
            file = SourceFile(name: script, bytes: bytes)
        case .failure(let why):
            if let src = session.interpreter.loader.bundledScript(script) {
                file = SourceFile(name: src.displayName, text: src.text)
            } else if why == .missing {
                let from = script.hasPrefix("/") ? "" : " (looked up from \(FileManager.default.currentDirectoryPath))"
                throw CommandLineError(message: "no such script '\(script)'\(from)",
                                       hint: "bundled scripts, run by name: \(session.interpreter.loader.bundledScriptNames.joined(separator: ", "))")
            } else {
                throw CommandLineError(message: "cannot read '\(script)': \(why.text)", hint: "sgk run FILE takes a script file")
            }
        }
        if wantsHelp {
            do {
                let ps = try session.params(of: file)
                var out = "usage: sgk run \(script)\(ps.isEmpty ? "" : " [parameters]") [--dry-run] [--explain] [--verbose] [--journal FILE]\n"
                if !ps.isEmpty { out += "\nparameters:\n" }
                for p in ps {
                    let flag = "--" + p.name.replacingAll("_", with: "-")
                    var line = "  \(flag) \((p.type ?? "value").uppercased())"
                    if let note = p.note {
                        line += "   \(note)"
                        if p.defaultText == nil { line += " (required)" }
                    } else if let d = p.defaultText {
                        line += "   (default: \(d))"
                    } else {
                        line += "   (required)"
                    }
                    out += line + "\n"
                }
                FileHandle.standardOutput.write(Data(out.utf8))
                return 0
            } catch {
                return report(error, session)
            }
        }
        let arguments = params
        return runSession(session) {
            do {
                try session.run(file, repeatedArguments: arguments)
                session.context.output.flush()
                return 0
            } catch {
                return report(error, session)
            }
        }
    }

    /// `sgk check [--lib-path DIR] FILE…`: diagnostics only; 65 when there are any.
    static func check(_ args: [String]) throws -> Int32 {
        var libPaths: [String] = []
        var files: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            switch a {
            case "-h", "--help": print(checkHelp, terminator: ""); return 0
            case _ where a == "--lib-path" || a.hasPrefix("--lib-path="): libPaths.append(try optionValue(args, &i, "--lib-path"))
            case _ where a.hasPrefix("-") && a.count > 1: throw CommandLineError(message: "unknown option '\(a)'", hint: "usage: sgk check [--lib-path DIR] FILE…")
            default: files.append(a)
            }
            i += 1
        }
        guard !files.isEmpty else { throw CommandLineError(message: "missing the files to check", hint: "usage: sgk check [--lib-path DIR] FILE…") }
        let session = makeSession(libPaths: libPaths, options: RunOptions())
        var failed = false
        var unreadable = false
        for path in files {
            let file: SourceFile
            switch readScript(path) {
            case .success(let bytes):
                file = SourceFile(name: path, bytes: bytes)
            case .failure(let why):
                // A bundled script by name, as `sgk run` takes it.
                if why == .missing, let src = session.interpreter.loader.bundledScript(path) {
                    file = SourceFile(name: src.displayName, text: src.text)
                } else {
                    session.context.errors.write("error: cannot read '\(path)': \(why.text)\n")
                    unreadable = true
                    continue
                }
            }
            let diags = Session.onLargeStack { session.check(file) }
            for d in diags { session.context.errors.write(d.render(color: session.context.options.color) + "\n") }
            if !diags.isEmpty { failed = true }
        }
        session.context.errors.flush()
        return unreadable ? 64 : (failed ? 65 : 0)
    }
}
