import Foundation
import OrderedCollections
import SGKData

/// A script parameter as declared by `param`.
public struct ScriptParam: Sendable {
    public var name: String
    public var type: String?
    /// The default's source text, e.g. `(env CLUSTER_NAME)`.
    public var defaultText: String?
    public var range: SourceRange
    /// The comment after the declaration on its line (`param policy = ""   # default: …`), shown by `--help`.
    public var note: String? = nil
}

/// A usage error (exit 64): a bad or missing script parameter.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) { self.message = message; self.hint = hint }
    public var description: String { "error: \(message)" + (hint.map { "\n  hint: \($0)" } ?? "") }
}

/// The entry point for running sgk code: scripts, `-c` snippets, REPL lines.
/// State (variables, functions, modules) persists across `evaluate` calls.
public final class Session {
    public let interpreter: Interpreter
    var topScope: FnScope
    var topFrame: Frame

    public init(registry: CommandRegistry, context: CallContext, loader: ModuleLoader) {
        interpreter = Interpreter(registry: registry, context: context, loader: loader)
        topScope = FnScope(parent: nil, name: "<top>", isFunction: false)
        topFrame = Frame(count: 0, parent: nil)
    }

    public var context: CallContext { interpreter.context }
    public var registry: CommandRegistry { interpreter.registry }

    /// Clears variables, functions and modules.
    public func reset() {
        topScope = FnScope(parent: nil, name: "<top>", isFunction: false)
        topFrame = Frame(count: 0, parent: nil)
        interpreter.modules = [:]
    }

    /// Parses and resolves without running anything.
    public func check(_ file: SourceFile) -> [Diagnostic] {
        do {
            let stmts = try Parser.parse(file)
            let c = Compiler(interp: interpreter, file: file, scope: FnScope(parent: nil, name: "<top>", isFunction: false))
            _ = c.compileBlock(stmts)
            c.diagnostics.append(contentsOf: paramDiagnostics(stmts, file))
            return c.diagnostics
        } catch {
            return [error]
        }
    }

    /// Options `sgk run` takes anywhere on its command line, so no script param can have their names.
    static let reservedParamNames: Set<String> = ["dry_run", "explain", "verbose", "journal", "help"]

    func paramDiagnostics(_ stmts: [Stmt], _ file: SourceFile) -> [Diagnostic] {
        var seen = Set<String>()
        var out: [Diagnostic] = []
        for s in stmts {
            guard case .param(let name, let r, _, _, _) = s else { continue }
            if !seen.insert(canonicalName(name)).inserted {
                out.append(Diagnostic("param '\(name)' is declared twice", file: file, range: r))
            }
            if Session.reservedParamNames.contains(canonicalName(name)) {
                out.append(Diagnostic("param '\(name)' cannot be set: --\(flagName(name)) is an option of 'sgk run'", file: file, range: r,
                                      hint: "choose another name"))
            }
        }
        return out
    }

    /// The params a script declares, in order.
    public func params(of file: SourceFile) throws -> [ScriptParam] {
        let stmts = try Parser.parse(file)
        return stmts.compactMap {
            if case .param(let n, let r, let t, let d, let whole) = $0 {
                var p = ScriptParam(name: n, type: Session.paramType(t, defaultExpr: d), defaultText: d.map { file.slice($0.range) }, range: r)
                let end = file.location(of: whole.end)
                let rest = file.lineText(end.line).dropFirst(end.column - 1).drop(while: { $0 == " " || $0 == "\t" })
                if rest.hasPrefix("#") {
                    let note = rest.dropFirst().trimmingCharacters(in: .whitespaces)
                    if !note.isEmpty { p.note = note }
                }
                return p
            }
            return nil
        }
    }

    /// Runs a script: everything is parsed and resolved first (errors thrown as
    /// `DiagnosticList`), then params are bound (`UsageError`), then it runs (`RuntimeError`).
    public func run(_ file: SourceFile, arguments: [String: String] = [:]) throws {
        try run(file, repeatedArguments: arguments.mapValues { [$0] })
    }

    /// `run`, with each parameter given as many times as its flag was: a `list` param collects
    /// them (`--image a --image b`), any other given twice is a usage error.
    public func run(_ file: SourceFile, repeatedArguments arguments: [String: [String]]) throws {
        let stmts = try Parser.parse(file)
        let scope = FnScope(parent: nil, name: "<top>", isFunction: false)
        let c = Compiler(interp: interpreter, file: file, scope: scope)
        let exec = c.compileBlock(stmts)
        var diags = c.diagnostics + paramDiagnostics(stmts, file)
        // Params: unknown names are usage errors, found before running.
        var declared: [(String, SourceRange, String?, Pipeline?)] = []
        for s in stmts { if case .param(let n, let r, let t, let d, _) = s { declared.append((n, r, t, d)) } }
        if !diags.isEmpty { throw DiagnosticList(diags) }
        for (k, _) in arguments where !declared.contains(where: { canonicalName($0.0) == canonicalName(k) }) {
            let s = Spell.suggest(k, among: declared.map { $0.0.replacingAll("_", with: "-") })
            throw UsageError("unknown parameter --\(k) for \(file.name)\(s.map { " (did you mean --\($0)?)" } ?? "")",
                             hint: declared.isEmpty ? "this script takes no parameters" : "parameters: " + declared.map { "--" + $0.0.replacingAll("_", with: "-") }.joined(separator: " "))
        }
        let frame = Frame(count: scope.slotCount, parent: nil)
        // Bind params in order before the first statement; defaults may use earlier params.
        let pc = Compiler(interp: interpreter, file: file, scope: scope)
        for (name, r, type, def) in declared {
            guard let slot = scope.blocks[0].vars[name] ?? lookupParamSlot(scope, name) else { continue }
            let givenAll = arguments.filter { canonicalName($0.key) == canonicalName(name) }.flatMap(\.value)
            let given = givenAll.last
            var value: Value = .null
            if givenAll.count > 1 {
                guard Session.paramType(type, defaultExpr: def) == "list" else {
                    throw UsageError("--\(flagName(name)) is given \(givenAll.count) times", hint: "give it once (only a list parameter takes a flag repeated)")
                }
                value = .list(try givenAll.flatMap { one -> [Value] in
                    let v = try Session.convertParam(one, type: type, defaultExpr: def, name: name)
                    if case .list(let items) = v { return items }
                    return [v]
                })
            } else if let given {
                value = try Session.convertParam(given, type: type, defaultExpr: def, name: name)
            } else if let def {
                let e = pc.compilePipeline(def)
                value = try e(frame)
                if let type, type != "any", !value.isNull, !Session.matches(value, type) {
                    throw RuntimeError("the default of --\(flagName(name)) is \(value.aTypeName), not \(type == "int" ? "an" : "a") \(type)",
                                       file: file, range: def.range)
                }
            }
            if value.isNull && (def == nil || (type != nil && type != "any" && !Session.isNullLiteral(def))) {
                let d = def.map { " (its default \(file.slice($0.range)) gave null)" } ?? ""
                throw UsageError("missing required parameter --\(flagName(name)) for \(file.name)\(d)", hint: "pass --\(flagName(name)) VALUE")
            }
            frame[slot] = value
            _ = r
        }
        diags = pc.diagnostics
        if !diags.isEmpty { throw DiagnosticList(diags) }
        topFrame = frame
        topScope = scope
        _ = try exec(frame)
    }

    func lookupParamSlot(_ scope: FnScope, _ name: String) -> Int? { scope.blocks.first?.vars[name] }

    func flagName(_ n: String) -> String { n.replacingAll("_", with: "-") }

    static func matches(_ v: Value, _ type: String) -> Bool {
        switch (type, v) {
        case ("string", .string), ("int", .int), ("double", .double), ("double", .int), ("bool", .bool),
             ("duration", .duration), ("list", .list), ("map", .map), ("any", _): return true
        default: return false
        }
    }

    /// Whether a default is the literal `null`: `param role_name: string = null` is an optional
    /// string (null when not given), not a required one.
    static func isNullLiteral(_ d: Pipeline?) -> Bool {
        guard let d, d.stages.count == 1, case .expr(.null) = d.stages[0] else { return false }
        return true
    }

    /// A param's type: declared (`param n: int`), else that of a literal default (`param n = 3`).
    static func paramType(_ type: String?, defaultExpr: Pipeline?) -> String? {
        if type == nil, let d = defaultExpr, d.stages.count == 1, case .expr(let e) = d.stages[0] {
            switch e {
            case .int: return "int"
            case .double: return "double"
            case .bool: return "bool"
            case .duration: return "duration"
            default: break
            }
        }
        return type
    }

    static func convertParam(_ s: String, type: String?, defaultExpr: Pipeline?, name: String) throws -> Value {
        let t = paramType(type, defaultExpr: defaultExpr)
        let flag = "--" + name.replacingAll("_", with: "-")
        switch t ?? "string" {
        case "int":
            guard let i = Int(s) else { throw UsageError("\(flag) must be an integer, not '\(s)'") }
            return .int(i)
        case "double":
            guard let d = Double(s), s.contains(where: \.isNumber) else { throw UsageError("\(flag) must be a number, not '\(s)'") }
            guard d.isFinite else { throw UsageError("\(flag) is out of range: '\(s)'", hint: "doubles are at most about 1.8e308") }
            return .double(d)
        case "bool":
            switch s.lowercased() {
            case "true", "yes", "1", "": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: throw UsageError("\(flag) must be true or false, not '\(s)'")
            }
        case "duration":
            guard let d = parseDurationText(s) else { throw UsageError("\(flag) must be a duration such as 30s or 5m, not '\(s)'") }
            return .duration(d)
        case "list":
            // A JSON list, else a list of the one word given (`--image OLD=NEW`, repeatable).
            if let j = try? SGKDataBridge.parseJSON(s), case .list = j { return j }
            return .list([.string(s)])
        case "map", "any":
            if let j = try? SGKDataBridge.parseJSON(s) { return j }
            if t == "any" { return .string(s) }
            throw UsageError("\(flag) must be JSON (a \(t ?? "value")), not '\(s)'")
        default:
            return .string(s)
        }
    }

    /// Evaluates REPL input or a `-c` snippet against the persistent top level.
    /// Returns the value of a final expression or command statement.
    public func evaluate(_ file: SourceFile) throws -> Value? {
        let stmts = try Parser.parse(file)
        // Snapshot the top scope so a failed compile leaves no half-declared names.
        let saved = (topScope.slotCount, topScope.blocks[0].vars, topScope.blocks[0].fns, topScope.blocks[0].modules)
        let c = Compiler(interp: interpreter, file: file, scope: topScope)
        var execs: [Exec] = []
        var lastValue: Eval?
        // Hoist fns of this input, like compileBlock does.
        let fnDecls = stmts.compactMap { s -> FunctionDecl? in if case .fn(let d) = s { return d }; return nil }
        for d in fnDecls {
            let slot = topScope.blocks[0].fns[d.name]?.slot ?? topScope.newSlot()
            topScope.blocks[0].fns[d.name] = FnInfo(name: d.name, slot: slot, params: d.params, decl: d)
        }
        for (i, s) in stmts.enumerated() {
            if case .fn = s { continue }
            if case .param(let n, let r, _, let d, _) = s {
                // In the REPL a param is a let with its default.
                guard let d else { c.report("param '\(n)' needs a default in the REPL", r); continue }
                let e = c.compilePipeline(d)
                let slot = topScope.declare(n)
                execs.append { f in f[slot] = try e(f); return .next }
                continue
            }
            if i == stmts.count - 1, case .pipeline(let p) = s {
                lastValue = c.compilePipeline(p)
            } else {
                execs.append(c.compileStmt(s))
            }
        }
        execs = fnDecls.map { c.compileFunctionDecl($0) } + execs
        if !c.diagnostics.isEmpty {
            topScope.slotCount = saved.0
            topScope.blocks[0].vars = saved.1
            topScope.blocks[0].fns = saved.2
            topScope.blocks[0].modules = saved.3
            throw DiagnosticList(c.diagnostics)
        }
        topFrame.ensure(topScope.slotCount)
        // A cancel requested before or while this input runs interrupts it; it
        // is cleared only when the input is over, so the next input runs. (It
        // used to be cleared here, before running: a cancel that came early,
        // e.g. from a timer started just before `evaluate`, was then lost and
        // the input ran forever.)
        defer { interpreter.context.cancellation.reset() }
        do {
            for e in execs { if try e(topFrame) == .ret { return topFrame.returnValue } }
            return try lastValue?(topFrame)
        } catch {
            // `let z = 1 / 0` failed: `$z` stays undefined, as it was before this input (a variable
            // this input declared and never set is taken back).
            for (name, slot) in topScope.blocks[0].vars where saved.1[name] == nil && slot < topFrame.count && topFrame[slot].isNull {
                topScope.blocks[0].vars[name] = nil
            }
            throw error
        }
    }

    /// Variables defined at the top level, for `:vars` and completion.
    public var variables: [(String, Value)] {
        topScope.blocks[0].vars.compactMap { name, slot in
            name == "in" || slot >= topFrame.count ? nil : (name, topFrame[slot])
        }.sorted { $0.0 < $1.0 }
    }

    /// User functions and modules defined at the top level.
    public var functionNames: [String] { topScope.blocks[0].fns.keys.sorted() }
    public var moduleNames: [String] { topScope.blocks[0].modules.keys.sorted() }
    public func moduleFunctions(_ module: String) -> [String] { topScope.blocks[0].modules[module]?.functions.keys.sorted() ?? [] }
    /// The parameter names of a module's function (each may be passed as `name:`).
    public func moduleFunctionParameters(_ module: String, _ function: String) -> [String] {
        topScope.blocks[0].modules[module]?.functions[function]?.params.map(\.name) ?? []
    }

    /// Runs `body` on a thread with a large stack, so deep recursion in
    /// scripts is stopped by the call-depth limit, never by a stack overflow.
    public static func onLargeStack<T>(_ body: @escaping () -> T) -> T {
        let box = UnsafeBox<T>()
        let work = UnsafeBox<() -> T>()
        work.value = body
        let sem = DispatchSemaphore(value: 0)
        let t = Thread {
            if let f = work.value { box.value = f() }
            sem.signal()
        }
        t.stackSize = 1 << 29
        t.start()
        sem.wait()
        guard let v = box.value else { return body() }
        return v
    }
}

extension Session {
    /// `onLargeStack` for async callers (tests, servers): the caller's task is
    /// suspended, not blocked, so commands that wait on async work (HTTP,
    /// `sleep`) never starve the cooperative thread pool.
    public static func onLargeStackAsync<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (k: CheckedContinuation<T, Never>) in
            LargeStackPool.shared.submit { k.resume(returning: body()) }
        }
    }
}

final class UnsafeBox<T>: @unchecked Sendable { var value: T? }

/// A few long-lived threads with large stacks for `onLargeStackAsync`: many
/// concurrent callers queue up instead of each reserving a large stack.
final class LargeStackPool: @unchecked Sendable {
    static let shared = LargeStackPool(threads: max(4, ProcessInfo.processInfo.activeProcessorCount * 2))
    let condition = NSCondition()
    var jobs: [@Sendable () -> Void] = []

    init(threads: Int) {
        for _ in 0..<threads {
            let t = Thread { [unowned self] in self.loop() }
            t.stackSize = 1 << 29
            t.start()
        }
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
