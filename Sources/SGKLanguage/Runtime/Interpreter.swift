import Foundation
import Synchronization
import SGKData

/// A module compiled once per session; its top level runs on first `use`.
final class CompiledModule {
    let name: String
    let file: SourceFile
    let frame: Frame
    let exec: Exec
    let functions: [String: FnInfo]
    let state = Atomic<Int>(0)   // 0 not run, 1 running, 2 done (also when its top level failed, as before)
    /// The `ThreadState.id` of the thread running its top level.
    let initializer = Atomic<Int>(-1)

    init(name: String, file: SourceFile, frame: Frame, exec: @escaping Exec, functions: [String: FnInfo]) {
        self.name = name; self.file = file; self.frame = frame; self.exec = exec; self.functions = functions
    }
}

/// Runs compiled code: calls, modules, error wrapping.
public final class Interpreter {
    public let registry: CommandRegistry
    public let context: CallContext
    /// `context.cancellation`, one load closer for the check every call makes.
    let cancellation: Cancellation
    public let loader: ModuleLoader
    /// The bound on nested calls (each frame knows its depth: `Frame.depth`).
    @exclusivity(unchecked) public var maxCallDepth = 2_000
    var modules: [String: CompiledModule] = [:]
    /// The errors `catch` blocks received lately, with the values they saw: `fail $err` with such a
    /// value raises the original error again from where it was raised (its position and call stack),
    /// with the message, code and hint the value has now (`fail ($err + {hint: …})`).
    /// Kept under `caughtLock`: the bodies of a `parallel for` catch errors at the same time.
    private var caught: [(value: Value, error: RuntimeError)] = []
    private let caughtLock = NSLock()
    /// Held while a module's top level runs (a body of a `parallel for` may be the first to call it).
    let moduleLock = NSRecursiveLock()

    func remember(caught error: RuntimeError, as value: Value) {
        caughtLock.lock(); defer { caughtLock.unlock() }
        if caught.count == 8 { caught.removeFirst() }
        caught.append((value, error))
    }

    func caughtError(for value: Value) -> RuntimeError? {
        guard case .map(let m) = value, m["stack"] != nil else { return nil }
        let origin = ["file", "line", "column", "stack"]
        caughtLock.lock()
        let recent = caught
        caughtLock.unlock()
        guard let entry = recent.last(where: { c in
            guard case .map(let o) = c.value else { return false }
            return origin.allSatisfy { o[$0] == m[$0] }
        }) else { return nil }
        var e = entry.error
        if value == entry.value { return e }
        e.message = m["message"]?.text ?? e.message
        e.code = m["code"].flatMap { $0.isNull ? nil : $0.text }
        e.hint = m["hint"].flatMap { $0.isNull ? nil : $0.text }
        e.failValue = value
        return e
    }

    public init(registry: CommandRegistry, context: CallContext, loader: ModuleLoader) {
        self.registry = registry
        self.context = context
        self.cancellation = context.cancellation
        self.loader = loader
    }

    static func cancelledError(_ file: SourceFile?, _ r: SourceRange) -> RuntimeError {
        RuntimeError("interrupted", file: file, range: r, cancelled: true)
    }

    // MARK: calls

    /// Before a call: the depth bound (a runaway recursion is an error, not a stack overflow)
    /// and a pending interrupt.
    @inline(__always)
    func checkCall(_ fn: Function, caller: Frame, file: SourceFile?, range: SourceRange) throws -> Int {
        let depth = caller.depth
        if depth >= maxCallDepth {
            throw RuntimeError("too many nested calls (more than \(maxCallDepth)): runaway recursion in '\(fn.name)'?", file: file, range: range)
        }
        if cancellation.isCancelled { throw Interpreter.cancelledError(file, range) }
        return depth + 1
    }

    /// Calls a user function from a compiled call site. `args[i]` computes
    /// parameter i in the caller's frame (nil: not given); the pipeline's
    /// input, if any, fills parameter `inputParam`.
    @inline(__always)
    func invoke(_ fn: Function, caller: Frame, args: [EvalBox?], inputParam: Int, input: Value?, file: SourceFile, range: SourceRange) throws -> Value {
        let depth = try checkCall(fn, caller: caller, file: file, range: range)
        let body = fn.body
        var frame = body.frame(count: fn.slotCount, parent: fn.captured)
        frame.depth = depth
        frame.owner = caller.owner
        defer { body.recycle(&frame) }
        let params = fn.params
        let n = params.count
        var i = 0
        while i < n {
            let slot = params[i].slot
            if i < args.count, let e = args[i] {
                frame[slot] = try e.eval(caller)
            } else if i == inputParam {
                frame[slot] = input ?? .null
            } else if let d = params[i].defaultValue {
                frame[slot] = try d(frame)
            }
            i += 1
        }
        return try run(fn, body, frame, file: file, range: range)
    }

    /// `invoke` for a call site that gives exactly one positional argument
    /// (checked against the function it finds: the REPL may redefine it).
    @inline(__always)
    func invoke1(_ fn: Function, caller: Frame, _ a0: Eval, args: [EvalBox?], file: SourceFile, range: SourceRange) throws -> Value {
        guard fn.arity == 1 else { return try invoke(fn, caller: caller, args: args, inputParam: -1, input: nil, file: file, range: range) }
        let depth = try checkCall(fn, caller: caller, file: file, range: range)
        let body = fn.body
        var frame = body.frame(count: fn.slotCount, parent: fn.captured)
        frame.depth = depth
        frame.owner = caller.owner
        defer { body.recycle(&frame) }
        frame[fn.slot0] = try a0(caller)
        return try run(fn, body, frame, file: file, range: range)
    }

    /// `invoke` for a call site that gives exactly two positional arguments.
    @inline(__always)
    func invoke2(_ fn: Function, caller: Frame, _ a0: Eval, _ a1: Eval, args: [EvalBox?], file: SourceFile, range: SourceRange) throws -> Value {
        guard fn.arity == 2 else { return try invoke(fn, caller: caller, args: args, inputParam: -1, input: nil, file: file, range: range) }
        let depth = try checkCall(fn, caller: caller, file: file, range: range)
        let body = fn.body
        var frame = body.frame(count: fn.slotCount, parent: fn.captured)
        frame.depth = depth
        frame.owner = caller.owner
        defer { body.recycle(&frame) }
        frame[fn.slot0] = try a0(caller)
        frame[fn.slot1] = try a1(caller)
        return try run(fn, body, frame, file: file, range: range)
    }

    @inline(__always)
    func run(_ fn: Function, _ body: CompiledBody, _ frame: Frame, file: SourceFile, range: SourceRange) throws -> Value {
        do {
            _ = try body.run(frame)
        } catch var e as RuntimeError {
            if !e.cancelled && e.stack.count < 10_000 { e.stack.append(StackEntry(function: fn.name, file: file, range: range)) }
            throw e
        }
        return frame.returnValue
    }

    /// Calls a function or block value with positional arguments (from native commands).
    public func callFunction(_ fn: Function, _ args: [Value]) throws -> Value {
        try callFunction(fn, args, depth: 0, owner: 0)
    }

    /// `depth` and `owner`: those of the frame the native command was called from.
    func callFunction(_ fn: Function, _ args: [Value], depth: Int, owner: Int) throws -> Value {
        if depth >= maxCallDepth {
            throw RuntimeError("too many nested calls (more than \(maxCallDepth)): runaway recursion in '\(fn.name)'?", file: fn.file, range: .none)
        }
        let frame = Frame(count: fn.slotCount, parent: fn.captured)
        frame.depth = depth + 1
        frame.owner = owner
        for (i, p) in fn.params.enumerated() {
            if i < args.count { frame[p.slot] = args[i] }
            else if let d = p.defaultValue { frame[p.slot] = try d(frame) }
            else { throw CommandError("'\(fn.name)' needs \(fn.params.count) argument(s), got \(args.count)") }
        }
        _ = try fn.body.run(frame)
        return frame.returnValue
    }

    /// Turns any error from a native command into a positioned runtime error.
    func wrap(_ error: any Error, command: String, file: SourceFile, callRange: SourceRange, positionalRanges: [SourceRange],
              subjectShift: Int, keywordRanges: [String: SourceRange]) -> RuntimeError {
        if let e = error as? RuntimeError { return e }
        if let e = error as? ShellLine.Failure {
            return wrap(e.error, command: e.line, file: file, callRange: callRange, positionalRanges: [], subjectShift: 0, keywordRanges: [:])
        }
        if error is CancellationError || context.cancellation.isCancelled {
            return RuntimeError("\(command): interrupted", file: file, range: callRange, cancelled: true)
        }
        var range = callRange
        func rangeFor(_ ref: CommandError.ArgumentRef?) {
            switch ref {
            case .positional(let i)?:
                let k = i + subjectShift
                if k < positionalRanges.count { range = positionalRanges[k] }
            case .keyword(let k)?:
                if let r = keywordRanges[canonicalName(k)] { range = r }
            case .input?:
                if subjectShift == 1, let r = positionalRanges.first { range = r }
            case nil: break
            }
        }
        switch error {
        case let e as CommandError:
            rangeFor(e.argument)
            return RuntimeError("\(command): \(e.description)", code: e.code, hint: e.hint, file: file, range: range, data: e.data)
        case let e as UserFacingError:
            let msg = e.errorCode.map { "\($0): \(e.errorMessage)" } ?? e.errorMessage
            return RuntimeError("\(command): \(msg)", code: e.errorCode, hint: e.errorHint, file: file, range: range, data: e.errorData)
        case let e as DataParseError:
            return RuntimeError("\(command): \(e.format) error at line \(e.line), column \(e.column): \(e.message)", code: "ParseError", file: file, range: range)
        case let e as Diagnostic:
            return RuntimeError("\(command): \(e.description)", file: file, range: range)
        default:
            return RuntimeError("\(command): \(error)", file: file, range: range)
        }
    }

    // MARK: modules

    func loadModule(_ name: String, isPath: Bool, from: SourceFile, loading: [String], range: SourceRange) throws -> CompiledModule {
        guard let (key, source) = try loader.resolve(name, isPath: isPath, relativeTo: from.name) else {
            throw Diagnostic("module '\(name)' not found", file: from, range: range,
                             hint: isPath ? "the path is relative to the script's folder" : "searched --lib-path, $SGK_PATH and the embedded stdlib (\(loader.embeddedModuleNames.joined(separator: ", ")))")
        }
        if let m = modules[key] { return m }
        if loading.contains(key) {
            throw Diagnostic("module cycle: \((loading + [key]).map { ModuleLoader.displayName($0) }.joined(separator: " → "))", file: from, range: range)
        }
        let file = SourceFile(name: source.displayName, text: source.text)
        let stmts: [Stmt]
        do { stmts = try Parser.parse(file) } catch { throw error }
        let scope = FnScope(parent: nil, name: name, isFunction: false)
        let c = Compiler(interp: self, file: file, scope: scope, loading: loading + [key])
        for s in stmts { if case .param(_, let r, _, _, _) = s { c.report("modules cannot declare params", r, hint: "give the module's functions keyword parameters instead") } }
        let exec = c.compileBlock(stmts)
        if !c.diagnostics.isEmpty { throw DiagnosticList(c.diagnostics) }
        let m = CompiledModule(name: NSStringLike(name).lastComponentWithoutExtension, file: file, frame: Frame(count: scope.slotCount, parent: nil),
                               exec: exec, functions: scope.blocks[0].fns)
        modules[key] = m
        return m
    }

    func initialize(_ m: CompiledModule) throws {
        if m.state.load(ordering: .acquiring) == 2 { return }
        // Its top level runs on this thread, or on one that waits for this body of a `parallel for`
        // (a loop in the module's top level): a call from within, as on one thread.
        if m.state.load(ordering: .acquiring) == 1, ThreadState.current.lineage.contains(m.initializer.load(ordering: .acquiring)) { return }
        moduleLock.lock(); defer { moduleLock.unlock() }
        // 1: running (a call from its own top level), 2: done.
        guard m.state.load(ordering: .relaxed) == 0 else { return }
        m.initializer.store(ThreadState.current.id, ordering: .releasing)
        m.state.store(1, ordering: .releasing)
        m.frame.ensure(m.frame.count)
        defer { if m.state.load(ordering: .relaxed) == 1 { m.state.store(2, ordering: .releasing) } }
        _ = try m.exec(m.frame)
    }
}
