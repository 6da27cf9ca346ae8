import Foundation
import SGKData
import SGKLanguage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read-eval-print loop. Reads through a `LineReader`, asks for more
/// input while the parser reports "unexpected end of input", shows each
/// statement's value, keeps going after errors.
public final class REPL {
    public let session: Session
    let reader: any LineReader
    let history: HistoryFile?
    public var display: Display
    let errorColor: Bool
    /// Declarations of the functions entered in this session (keyword completion, `:help`).
    let declared = DeclaredFunctions()
    var userFunctions: [String: FunctionDecl] {
        get { declared.decls }
        set { declared.decls = newValue }
    }
    /// Reading from a terminal (not a scripted reader).
    var interactive: Bool { !(reader is ScriptedReader) }

    public static let prompt = "sgk> "
    public static let continuationPrompt = "...> "

    public init(session: Session, reader: any LineReader, history: HistoryFile? = nil, display: Display = Display(),
                errorColor: Bool = false) {
        self.session = session
        self.reader = reader
        self.history = history
        self.display = display
        self.errorColor = errorColor
    }

    var output: OutputSink { session.context.output }
    var errors: OutputSink { session.context.errors }

    /// Starts sgk with no arguments: the REPL on a terminal; otherwise the
    /// whole of stdin runs as one script (no prompt, no escape codes).
    public static func start(session: Session, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        if isatty(0) == 0 {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return runScript(session, SourceFile(name: "<stdin>", bytes: Array(data)))
        }
        let file = HistoryFile(environment: environment)
        let reader: any LineReader
        if environment["SGK_NO_EDITLINE"] == nil, environment["TERM"] != "dumb",
           let r = EditLineReader(history: { file.load() }) {
            reader = r
        } else {
            reader = PlainReader(showPrompt: true)
        }
        let color = isatty(1) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        let repl = REPL(session: session, reader: reader, history: file, display: Display(color: color),
                        errorColor: session.context.options.color)
        let cancellation = session.context.cancellation
        Interrupts.shared.install {
            Interrupts.shared.whileEvaluating { cancellation.cancel() }
        }
        return repl.run()
    }

    /// Runs the loop until `:quit` or Ctrl-D; returns the exit status (0).
    public func run() -> Int32 {
        let session = self.session
        let declared = self.declared
        reader.setCompletion { line, cursor in
            Completer(session: session, functionKeywords: declared.keywords).complete(line, cursor: cursor)
        }
        var pending: [String] = []
        while true {
            output.flush()
            errors.flush()
            switch reader.readLine(prompt: pending.isEmpty ? REPL.prompt : REPL.continuationPrompt) {
            case .eof:
                if !pending.isEmpty {
                    // Ctrl-D on a continuation line ends the statement as it is (its error shows)
                    // and returns to the prompt; Ctrl-D at the prompt leaves.
                    output.write("\n")
                    let text = pending.joined(separator: "\n")
                    pending = []
                    if evaluate(text, name: "<repl>", incompleteIsError: true) == .done { record(text) }
                    continue
                }
                output.flush()
                return 0
            case .interrupted:
                pending = []
            case .line(let line):
                if pending.isEmpty, line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix(":") {
                    record(line)
                    if !meta(line) { output.flush(); return 0 }
                    continue
                }
                pending.append(line)
                let text = pending.joined(separator: "\n")
                if text.allSatisfy(\.isWhitespace) { pending = []; continue }
                if evaluate(text, name: "<repl>") == .incomplete { continue }
                record(text)
                pending = []
            }
        }
    }

    enum Outcome { case done, failed, incomplete }

    /// Evaluates one complete input and shows its value or its error.
    @discardableResult
    func evaluate(_ text: String, name: String, incompleteIsError: Bool = false) -> Outcome {
        let file = SourceFile(name: name, text: text)
        defer { session.context.endOfInput() }
        do {
            session.context.printedWithOutputFlag = false
            let v = try interruptible { try session.evaluate(file) }
            output.flush()
            // A value a command printed with `-o` is not shown a second time.
            if let v, !session.context.printedWithOutputFlag, let shown = display.render(v) { output.write(shown) }
            remember(file)
            return .done
        } catch let d as Diagnostic where d.isIncompleteInput && !incompleteIsError {
            return .incomplete
        } catch is CancellationError {
            output.flush()
            errors.write(interactive ? "\ninterrupted\n" : "interrupted\n")
            return .failed
        } catch {
            output.flush()
            // After Ctrl-C the terminal has echoed `^C`: start the report on a line of its own.
            let lead = (error as? RuntimeError)?.cancelled == true && interactive ? "\n" : ""
            errors.write(lead + REPL.describe(error, color: errorColor) + "\n")
            return .failed
        }
    }

    /// Runs an input as the statement Ctrl-C interrupts. A cancel is cleared
    /// when the input is over (under the interrupt lock), never before it
    /// starts: a cancel that comes early still interrupts it.
    func interruptible<T>(_ body: () throws -> T) rethrows -> T {
        let cancellation = session.context.cancellation
        return try Interrupts.shared.interruptible(body, finished: { cancellation.reset() })
    }

    /// Keeps the declarations of the functions a successful input defined.
    func remember(_ file: SourceFile) {
        guard let stmts = try? Parser.parse(file) else { return }
        for s in stmts { if case .fn(let d) = s { userFunctions[d.name] = d } }
    }


    /// Records an entered statement unless it starts with a space or looks secret.
    func record(_ entry: String) {
        guard HistoryPolicy.mayRecord(entry) else { return }
        reader.addHistory(entry)
        history?.append(entry)
    }

    // MARK: meta commands

    /// Runs a `:command`; false means quit.
    func meta(_ line: String) -> Bool {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let name = words.first else { return true }
        let args = Array(words.dropFirst())
        switch name {
        case ":quit", ":q", ":exit":
            return false
        case ":help", ":h", ":?":
            output.write(args.isEmpty ? generalHelp() : help(for: args.joined(separator: " ")))
        case ":vars":
            output.write(varsText())
        case ":load":
            guard let path = args.first else { return fail("usage: :load FILE") }
            let home = session.context.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            let expanded = path.hasPrefix("~/") ? home + path.dropFirst(1) : path
            guard let data = FileManager.default.contents(atPath: expanded) else {
                var isDir: ObjCBool = false
                let why = !FileManager.default.fileExists(atPath: expanded, isDirectory: &isDir) ? "no such file"
                    : isDir.boolValue ? "it is a folder" : "permission denied"
                return fail("cannot read '\(path)': \(why)")
            }
            let file = SourceFile(name: path, bytes: Array(data))
            do {
                if let v = try interruptible({ try session.evaluate(file) }), let shown = display.render(v) { output.write(shown) }
                remember(file)
            } catch {
                output.flush()
                errors.write(REPL.describe(error, color: errorColor) + "\n")
            }
        case ":dry-run", ":explain":
            let dry = name == ":dry-run"
            if let a = args.first {
                guard let on = REPL.onOff(a) else { return fail("usage: \(name) on|off") }
                if dry { session.context.options.dryRun = on } else { session.context.options.explain = on }
            }
            let on = dry ? session.context.options.dryRun : session.context.options.explain
            output.write("\(name.dropFirst()) is \(on ? "on" : "off")\n")
        case ":format":
            if let a = args.first {
                guard let f = DisplayFormat(rawValue: a) else {
                    return fail("unknown format '\(a)'", hint: "formats: " + DisplayFormat.allCases.map(\.rawValue).joined(separator: ", "))
                }
                display.format = f
            }
            output.write("format is \(display.format.rawValue)\n")
        case ":reset":
            session.reset()
            userFunctions = [:]
            output.write("session reset: variables, functions and modules cleared\n")
        default:
            let s = Spell.suggest(name, among: Completer.metaCommands)
            return fail("unknown meta command '\(name)'" + (s.map { " (did you mean '\($0)'?)" } ?? ""), hint: "':help' lists them")
        }
        return true
    }

    func fail(_ message: String, hint: String? = nil) -> Bool {
        errors.write(Diagnostic(message, file: nil, range: .none, hint: hint).render(color: errorColor) + "\n")
        return true
    }

    static func onOff(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: return nil
        }
    }

    static let metaHelp: [(String, String)] = [
        (":help [COMMAND]", "this help, or a command's usage, keywords and example"),
        (":vars", "variables, functions and modules defined in this session"),
        (":load FILE", "run a file in this session (its definitions stay)"),
        (":dry-run on|off", "plan writes instead of making them"),
        (":explain on|off", "print the aws/eksctl/kubectl line of every write"),
        (":format auto|yaml|json|table|inline", "how values are shown"),
        (":reset", "clear variables, functions and modules"),
        (":quit", "leave (Ctrl-D on an empty line also does)"),
    ]

    /// Rows as aligned columns with no header.
    static func columns(_ rows: [[String]]) -> String {
        let text = SGKLanguage.Formatter.render(header: rows.first.map { $0.map { _ in "" } } ?? [], rows: rows)
        guard let nl = text.firstIndex(of: "\n") else { return "" }
        return String(text[text.index(after: nl)...])
    }

    func generalHelp() -> String {
        var out = "meta commands:\n"
        out += REPL.columns(REPL.metaHelp.map { ["  " + $0.0, $0.1] })
        out += "\ncommands (':help NAME' for details):\n"
        let reg = session.registry
        var rows: [[String]] = []
        for w in reg.topLevelWords {
            let subs = reg.subcommands(of: w)
            if subs.isEmpty { rows.append(["  " + w, reg.command(w)?.signature.summary ?? ""]) } else { rows.append(["  " + w, subs.joined(separator: ", ")]) }
        }
        out += REPL.columns(rows)
        if !session.functionNames.isEmpty { out += "\nfunctions: " + session.functionNames.joined(separator: ", ") + "\n" }
        if !session.moduleNames.isEmpty { out += "modules: " + session.moduleNames.joined(separator: ", ") + "\n" }
        out += "\nkeys: Tab completes, Ctrl-R searches history, Ctrl-C clears the line or stops a command, Ctrl-D leaves.\n"
        return out
    }

    func help(for name: String) -> String {
        let reg = session.registry
        if let c = reg.command(name) {
            let s = c.signature
            var out = "usage: \(s.usage)\n\n  \(s.summary)\n"
            if !s.positionals.isEmpty {
                out += "\narguments:\n"
                out += REPL.columns(s.positionals.map {
                    ["  " + $0.name.uppercased() + ($0.flags.isEmpty ? "" : " (" + $0.flags.joined(separator: ", ") + ")"), $0.summary + ($0.optional || $0.variadic ? "" : " (required)")]
                })
            }
            if !s.keywords.isEmpty {
                out += "\nkeywords:\n"
                out += REPL.columns(s.keywords.map {
                    ["  " + $0.name + ":" + ($0.flags.isEmpty ? "" : " (" + $0.flags.joined(separator: ", ") + ")"), $0.summary + ($0.required ? " (required)" : "")]
                })
            }
            if s.isWrite { out += "\n  changes state: honours :dry-run and :explain\n" }
            if let e = s.example { out += "\nexample:\n  \(e)\n" }
            if reg.prefixes.contains(name) { out += "\nsub-commands: " + reg.subcommands(of: name).joined(separator: ", ") + "\n" }
            return out
        }
        if reg.prefixes.contains(name) {
            let rows = reg.subcommands(of: name).map { sub -> [String] in
                let full = name + " " + sub
                return ["  " + full, reg.command(full)?.signature.summary ?? "(" + reg.subcommands(of: full).joined(separator: ", ") + ")"]
            }
            return "\(name) sub-commands:\n" + REPL.columns(rows)
        }
        if session.functionNames.contains(name) {
            guard let d = userFunctions[name] else { return "\(name): a function defined in this session\n" }
            let ps = d.params.map { p -> String in
                p.keywordOnly || p.defaultValue != nil ? "[\(p.name): VALUE]" : p.name.uppercased()
            }
            var out = "usage: \(([name] + ps).joined(separator: " "))\n"
            if let doc = d.doc, !doc.isEmpty { out += "\n  \(doc)\n" }
            return out + "\n  a function defined in this session\n"
        }
        if session.moduleNames.contains(name) {
            return "module \(name): " + session.moduleFunctions(name).map { "\(name) \($0)" }.joined(separator: ", ") + "\n"
        }
        let words = name.split(separator: " ")
        if words.count == 2, session.moduleFunctions(String(words[0])).contains(String(words[1])) {
            return "\(name): a function of module \(words[0])\n"
        }
        let all = Array(reg.commands.keys) + Array(reg.prefixes)
        let s = Spell.suggest(name, among: all)
        _ = fail("no command '\(name)'" + (s.map { " (did you mean '\($0)'?)" } ?? ""))
        return ""
    }

    /// Whether a value may be shown by `:vars`: every string in it, under the name it has (the
    /// variable's, or its key in a map), must be one `SecretText` lets through. Past `budget`
    /// strings and keys the value is shown as it is checked so far.
    static func mayShow(_ v: Value, name: String, budget: inout Int) -> Bool {
        budget -= 1
        if budget < 0 { return true }
        switch v {
        case .string(let s): return SecretText.mayShow(s, name: name)
        case .list(let items): return items.allSatisfy { mayShow($0, name: name, budget: &budget) }
        case .map(let m): return m.allSatisfy { mayShow($0.value, name: $0.key, budget: &budget) }
        default: return SecretText.mayShow(v.description, name: name)
        }
    }

    func varsText() -> String {
        var out = ""
        let vars = session.variables
        if vars.isEmpty && session.functionNames.isEmpty && session.moduleNames.isEmpty { return "no variables yet\n" }
        let nameWidth = vars.map { $0.0.count + 1 }.max() ?? 0
        let typeWidth = vars.map { $0.1.typeName.count }.max() ?? 0
        for (name, v) in vars {
            let full = Display.hidingSecretValues(v).description
            var preview = full.count > 72 ? String(full.prefix(71)) + "…" : full
            var budget = 10_000
            if !REPL.mayShow(v, name: name, budget: &budget) { preview = "<hidden: looks like a secret>" }
            let shownName = "$" + name
            out += shownName.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + v.typeName.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + preview + "\n"
        }
        for f in session.functionNames { out += "\(f)\tfn\n" }
        for m in session.moduleNames { out += "\(m)\tmodule\t\(session.moduleFunctions(m).joined(separator: ", "))\n" }
        return out
    }

    // MARK: scripts and errors

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

/// The declarations of the functions entered in a session, shared with the completer.
final class DeclaredFunctions {
    var decls: [String: FunctionDecl] = [:]
    /// Keyword parameters (those with a default, or keyword-only) by function.
    var keywords: [String: [String]] {
        decls.mapValues { d in d.params.filter { $0.keywordOnly || $0.defaultValue != nil }.map(\.name) }
    }
}
