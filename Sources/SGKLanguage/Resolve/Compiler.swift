import Foundation
import OrderedCollections

typealias StageEval = (Frame, Value?) throws -> Value

/// Resolves names and command signatures and turns the tree into closures,
/// once, before anything runs. Every error found is reported together.
final class Compiler {
    let interp: Interpreter
    let file: SourceFile
    var scope: FnScope
    var diagnostics: [Diagnostic] = []
    /// Set by compileUserCall for a call that can be a pipeline head as is (see compilePipeline).
    var directHead: Eval?
    /// Modules being compiled, to report `use` cycles.
    var loading: [String]

    init(interp: Interpreter, file: SourceFile, scope: FnScope, loading: [String] = []) {
        self.interp = interp
        self.file = file
        self.scope = scope
        self.loading = loading
    }

    var registry: CommandRegistry { interp.registry }

    func report(_ msg: String, _ r: SourceRange, hint: String? = nil) {
        diagnostics.append(Diagnostic(msg, file: file, range: r, hint: hint))
    }

    func rtError(_ msg: String, _ r: SourceRange, code: String? = nil, hint: String? = nil) -> RuntimeError {
        RuntimeError(msg, code: code, hint: hint, file: file, range: r)
    }

    // MARK: lookup

    func lookupVariable(_ name: String) -> (depth: Int, slot: Int)? {
        var s: FnScope? = scope
        var depth = 0
        while let fs = s {
            for b in fs.blocks.reversed() { if let slot = b.vars[name] { return (depth, slot) } }
            s = fs.parent
            depth += 1
        }
        return nil
    }

    func lookupFunction(_ name: String) -> (depth: Int, info: FnInfo)? {
        var s: FnScope? = scope
        var depth = 0
        while let fs = s {
            for b in fs.blocks.reversed() { if let f = b.fns[name] { return (depth, f) } }
            s = fs.parent
            depth += 1
        }
        return nil
    }

    func moduleFailed(_ name: String) -> Bool {
        var s: FnScope? = scope
        while let fs = s {
            for b in fs.blocks.reversed() {
                if b.modules[name] != nil { return false }
                if b.failedModules.contains(name) { return true }
            }
            s = fs.parent
        }
        return false
    }

    func lookupModule(_ name: String) -> CompiledModule? {
        var s: FnScope? = scope
        while let fs = s {
            for b in fs.blocks.reversed() { if let m = b.modules[name] { return m } }
            s = fs.parent
        }
        return nil
    }

    func visibleNames() -> [String] {
        var out: [String] = []
        var s: FnScope? = scope
        while let fs = s { for b in fs.blocks { out.append(contentsOf: b.vars.keys) }; s = fs.parent }
        return out.filter { !$0.hasPrefix(" ") }
    }

    func visibleCommandWords() -> [String] {
        var out = registry.topLevelWords
        var s: FnScope? = scope
        while let fs = s {
            for b in fs.blocks { out.append(contentsOf: b.fns.keys); out.append(contentsOf: b.modules.keys) }
            s = fs.parent
        }
        return out
    }

    // MARK: statements

    /// Compiles a statement list in the current block scope, hoisting `fn` declarations.
    func compileBlock(_ stmts: [Stmt], valueOfLast: Bool = false) -> Exec {
        var hoisted: [ExecBox] = []
        for s in stmts {
            if case .fn(let decl) = s {
                if scope.blocks[scope.blocks.count - 1].fns[decl.name] != nil {
                    report("function '\(decl.name)' is already defined in this scope", decl.nameRange)
                    continue
                }
                let slot = scope.newSlot()
                scope.blocks[scope.blocks.count - 1].fns[decl.name] = FnInfo(name: decl.name, slot: slot, params: decl.params, decl: decl)
            }
        }
        var execs: [ExecBox] = []
        for (i, s) in stmts.enumerated() {
            if case .fn = s { continue }
            if valueOfLast, i == stmts.count - 1, case .pipeline(let p) = s {
                let e = compilePipeline(p)
                execs.append(ExecBox { f in f.returnValue = try e(f); return .ret })
            } else {
                execs.append(ExecBox(compileStmt(s)))
            }
        }
        // Function bodies are compiled last so they see every name of the block;
        // their closures are made first, so calls may come before the definition.
        for s in stmts { if case .fn(let decl) = s { hoisted.append(ExecBox(compileFunctionDecl(decl))) } }
        return Compiler.sequence(hoisted + execs)
    }

    static func sequence(_ execs: [Exec]) -> Exec {
        sequence(execs.map { ExecBox($0) })
    }

    /// One closure running `execs` in order until one does not say `.next`.
    /// Short sequences are nested closures: no loop, no array, no thunks. A longer one loops
    /// over its boxes: nesting it a closure per statement built an array of the rest at every
    /// level (memory quadratic in the length of a script) and ran a script as deep as it is long.
    static func sequence(_ execs: [ExecBox]) -> Exec {
        switch execs.count {
        case 0: return { _ in .next }
        case 1: return execs[0].run
        case 2:
            let a = execs[0].run, b = execs[1].run
            return { f in let r = try a(f); if r != .next { return r }; return try b(f) }
        case 3:
            let a = execs[0].run, b = execs[1].run, c = execs[2].run
            return { f in
                var r = try a(f); if r != .next { return r }
                r = try b(f); if r != .next { return r }
                return try c(f)
            }
        default:
            return { f in
                for e in execs { let r = try e.run(f); if r != .next { return r } }
                return .next
            }
        }
    }

    func withBlockScope<T>(_ body: () -> T) -> T {
        scope.blocks.append(BlockScope())
        defer { scope.blocks.removeLast() }
        return body()
    }

    func compileStmt(_ s: Stmt) -> Exec {
        switch s {
        case .let(let name, _, let p, _):
            let e = compilePipeline(p)
            let slot = scope.declare(name)
            return { f in f[slot] = try e(f); return .next }
        case .assign(let name, let nr, let p, _):
            guard let (depth, slot) = lookupVariable(name) else {
                _ = compilePipeline(p)
                report("undefined variable '\(name)'", nr, hint: "declare it first: let \(name) = …")
                return { _ in .next }
            }
            if let body = parallelBodyCrossed(toAssign: name) {
                _ = compilePipeline(p)
                report("cannot assign '\(name)' in the body of 'parallel for': it is a variable of the code around the loop", nr,
                       hint: "bodies run at the same time and may read '\(name)', not assign it; the loop's value lists each body's last value\(body)")
                return { _ in .next }
            }
            // `x = $x + …` appends in place (amortized O(1)) when x is a local list, map or string.
            if depth == 0, p.stages.count == 1, case .expr(.binary(.add, .variable(let v, _), let rhs, let r)) = p.stages[0], v == name {
                let file = self.file
                // `x = $x + [item]` and `x = $x + {key: value}`: no one-item list or map is built.
                if case .list(let items, _) = rhs, items.count == 1 {
                    let e = compileExpr(items[0])
                    return { f in
                        let x = try e(f)
                        if f[slot].appendElement(x) { return .next }
                        f[slot] = try Operators.binary(.add, f[slot], .list([x]), file: file, range: r)
                        return .next
                    }
                }
                if case .map(let entries, _) = rhs, entries.count == 1 {
                    let key = entries[0].key
                    let ke = entries[0].keyExpr.map { compileExpr($0) }
                    let ve = compileExpr(entries[0].value)
                    return { f in
                        let k = try ke.map { try $0(f).text } ?? key
                        let x = try ve(f)
                        if f[slot].setEntry(k, x) { return .next }
                        var m = OrderedDictionary<String, Value>(minimumCapacity: 1)
                        m[k] = x
                        f[slot] = try Operators.binary(.add, f[slot], .map(m), file: file, range: r)
                        return .next
                    }
                }
                let re = compileExpr(rhs)
                return { f in
                    let right = try re(f)
                    if f[slot].appendInPlace(right) { return .next }
                    f[slot] = try Operators.binary(.add, f[slot], right, file: file, range: r)
                    return .next
                }
            }
            let e = compilePipeline(p)
            if depth == 0 { return { f in f[slot] = try e(f); return .next } }
            let file = self.file
            return { f in
                let v = try e(f)
                let target = f.ancestor(depth)
                // A function called from a body of `parallel for` assigns a variable the bodies share.
                if target.owner != f.owner { throw Compiler.sharedAssignment(name, file, nr) }
                target[slot] = v
                return .next
            }
        case .pipeline(let p):
            let e = compilePipeline(p)
            return { f in _ = try e(f); return .next }
        case .if(let arms, let elseBody, _):
            // if / else if / else: nested closures, each arm testing its condition.
            var compiled: [(CondBox, ExecBox)] = []
            for arm in arms {
                let c = CondBox(compileCondition(arm.0))
                let b = ExecBox(withBlockScope { compileBlock(arm.1) })
                compiled.append((c, b))
            }
            var chain: Exec?
            if let eb = elseBody { chain = withBlockScope { compileBlock(eb) } }
            for arm in compiled.reversed() {
                let c = arm.0.test, b = arm.1.run
                if let el = chain {
                    chain = { f in try c(f) ? try b(f) : try el(f) }
                } else {
                    chain = { f in try c(f) ? try b(f) : .next }
                }
            }
            return chain ?? { _ in .next }
        case .while(let cond, let body, let r):
            let c = compileCondition(cond)
            scope.loopDepth += 1
            let b = withBlockScope { compileBlock(body) }
            scope.loopDepth -= 1
            let cancel = interp.context.cancellation
            let file = self.file
            return { f in
                while try c(f) {
                    if cancel.isCancelled { throw Interpreter.cancelledError(file, r) }
                    switch try b(f) {
                    case .ret: return .ret
                    case .brk: return .next
                    default: continue
                    }
                }
                return .next
            }
        case .for(let name, _, let second, let iterable, let body, let r):
            return compileFor(name, second, iterable, body, r)
        case .fn:
            return { _ in .next }   // hoisted by compileBlock
        case .return(let p, let r):
            if scope.isParallelBody {
                report("'return' cannot leave the body of 'parallel for'", r,
                       hint: "a body's value is its last statement's (an expression or a command)")
            } else if !scope.isFunction && scope.parent != nil {
                report("'return' outside a function", r)
            }
            guard let p else { return { f in f.returnValue = .null; return .ret } }
            let e = compilePipeline(p)
            return { f in f.returnValue = try e(f); return .ret }
        case .break(let r):
            if scope.loopDepth == 0 { report(scope.isParallelBody ? "'break' cannot leave the body of 'parallel for'" : "'break' outside a loop", r,
                                             hint: scope.isParallelBody ? "bodies run at the same time; 'fail' ends this one with an error" : nil) }
            return { _ in .brk }
        case .continue(let r):
            if scope.loopDepth == 0 { report(scope.isParallelBody ? "'continue' cannot leave the body of 'parallel for'" : "'continue' outside a loop", r,
                                             hint: scope.isParallelBody ? "the body's value is its last statement's: use if/else to give one" : nil) }
            return { _ in .cont }
        case .try(let body, let name, _, let handler, _):
            let b = withBlockScope { compileBlock(body) }
            return withBlockScope {
                let slot = name.map { scope.declare($0) }
                let h = compileBlock(handler)
                let interp = self.interp
                return { f in
                    do { return try b(f) } catch let e as RuntimeError where !e.cancelled {
                        if let slot {
                            let v = e.asValue
                            interp.remember(caught: e, as: v)
                            f[slot] = v
                        }
                        return try h(f)
                    }
                }
            }
        case .fail(let p, let r):
            let e = compilePipeline(p)
            let file = self.file
            let interp = self.interp
            return { f in
                let v = try e(f)
                // `fail $err` in a catch block: the caught error again, from where it was raised.
                if let original = interp.caughtError(for: v) { throw original }
                var err: RuntimeError
                switch v {
                case .map(let m):
                    err = RuntimeError(m["message"]?.text ?? v.description, code: m["code"].flatMap { $0.isNull ? nil : $0.text },
                                       hint: m["hint"].flatMap { $0.isNull ? nil : $0.text }, file: file, range: r)
                default:
                    err = RuntimeError(v.text, file: file, range: r)
                }
                err.failValue = v
                throw err
            }
        case .use(let name, let isPath, let alias, let r):
            return compileUse(name, isPath: isPath, alias: alias, r)
        case .param(let name, let r, _, _, _):
            if scope.parent != nil || scope.blocks.count > 1 || scope.isFunction {
                report("'param' is only allowed at the top level of a script", r)
            } else {
                _ = scope.declare(name)
            }
            return { _ in .next }   // bound before the first statement (see Interpreter.bindParams)
        }
    }

    func compileFor(_ name: String, _ second: String?, _ iterable: Expr, _ body: [Stmt], _ r: SourceRange) -> Exec {
        let cancel = interp.context.cancellation
        let file = self.file
        // `for i in a..b` iterates without building the list.
        if case .binary(.range, let lo, let hi, _) = iterable, second == nil {
            let l = compileExpr(lo), h = compileExpr(hi)
            return withBlockScope {
                let slot = scope.declare(name)
                scope.loopDepth += 1
                let b = compileBlock(body)
                scope.loopDepth -= 1
                return { f in
                    guard case .int(let a) = try l(f), case .int(let z) = try h(f) else {
                        throw RuntimeError("a range needs integer bounds", file: file, range: iterable.range)
                    }
                    if a > z { return .next }
                    for i in a...z {
                        if cancel.isCancelled { throw Interpreter.cancelledError(file, r) }
                        f[slot] = .int(i)
                        switch try b(f) {
                        case .ret: return .ret
                        case .brk: return .next
                        default: continue
                        }
                    }
                    return .next
                }
            }
        }
        let it = compileExpr(iterable)
        return withBlockScope {
            let slot = scope.declare(name)
            let slot2 = second.map { scope.declare($0) }
            scope.loopDepth += 1
            let b = compileBlock(body)
            scope.loopDepth -= 1
            return { f in
                let v = try it(f)
                var items: [(Value, Value?)] = []
                switch v {
                case .list(let l):
                    if let _ = slot2 { items = l.enumerated().map { (.int($0.offset), $0.element) } } else { items = l.map { ($0, nil) } }
                case .map(let m):
                    items = m.map { (.string($0.key), $0.value) }
                case .null: return .next
                default:
                    throw RuntimeError("cannot iterate over \(v.aTypeName)", hint: "for loops take a list, a map (its keys) or a range such as 1..10",
                                       file: file, range: iterable.range)
                }
                for (a, bv) in items {
                    if cancel.isCancelled { throw Interpreter.cancelledError(file, r) }
                    f[slot] = a
                    if let slot2 { f[slot2] = bv ?? .null }
                    switch try b(f) {
                    case .ret: return .ret
                    case .brk: return .next
                    default: continue
                    }
                }
                return .next
            }
        }
    }

    func compileFunctionDecl(_ decl: FunctionDecl) -> Exec {
        guard let info = scope.blocks[scope.blocks.count - 1].fns[decl.name] else { return { _ in .next } }
        let fnScope = FnScope(parent: scope, name: decl.name, isFunction: true)
        let saved = scope
        scope = fnScope
        var params: [CompiledParam] = []
        for p in decl.params {
            let slot = fnScope.declare(p.name)
            let def = p.defaultValue.map { compileExpr($0) }
            params.append(CompiledParam(name: p.name, canonical: canonicalName(p.name), keywordOnly: p.keywordOnly, defaultValue: def, slot: slot))
        }
        let body = CompiledBody()
        body.run = compileBlock(decl.body)
        scope = saved
        let slot = info.slot
        let name = decl.name
        let file = self.file
        let paramsCopy = params
        return { f in
            f[slot] = .function(Function(name: name, params: paramsCopy, slotCount: fnScope.slotCount, body: body, captured: f, file: file, isBlock: false))
            return .next
        }
    }

    func compileUse(_ name: String, isPath: Bool, alias: String?, _ r: SourceRange) -> Exec {
        let key = alias ?? name
        do {
            let module = try interp.loadModule(name, isPath: isPath, from: file, loading: loading, range: r)
            scope.blocks[scope.blocks.count - 1].modules[key] = module
            return { [interp] _ in try interp.initialize(module); return .next }
        } catch let d as Diagnostic {
            diagnostics.append(d)
        } catch let l as DiagnosticList {
            diagnostics.append(contentsOf: l.diagnostics)
        } catch {
            report("cannot load module '\(name)': \(error)", r)
        }
        scope.blocks[scope.blocks.count - 1].failedModules.insert(key)
        return { _ in .next }
    }

    // MARK: pipelines

    func compilePipeline(_ p: Pipeline) -> Eval {
        guard let first = p.stages.first else { return { _ in .null } }
        var head: Eval
        switch first {
        case .expr(let e): head = compileExpr(e)
        case .command(let c):
            directHead = nil
            let s = compileCommand(c, hasInput: false)
            if let d = directHead { head = d; directHead = nil } else { head = { f in try s(f, nil) } }
        }
        if p.stages.count == 1 { return head }
        var rest: [StageBox] = []
        for stage in p.stages.dropFirst() {
            guard case .command(let c) = stage else {
                report("expected a command after '|'", stage.range)
                continue
            }
            // `$in` is the value piped into this stage.
            let stageEval: StageEval = withBlockScope {
                let inSlot = scope.declare("in")
                let s = compileCommand(c, hasInput: true)
                return { f, input in
                    f[inSlot] = input ?? .null
                    return try s(f, input)
                }
            }
            rest.append(StageBox(stageEval))
        }
        let h = head
        return { f in
            var v = try h(f)
            for s in rest { v = try s.run(f, v) }
            return v
        }
    }

    // MARK: commands

    enum Target {
        case native(NativeCommand)
        case user(depth: Int, info: FnInfo)
        case module(CompiledModule, FnInfo)
    }

    func compileCommand(_ call: CommandCall, hasInput: Bool) -> StageEval {
        let items = call.items
        // Candidate command words: leading words, skipping flags (and their values).
        var words: [(String, SourceRange, Int)] = []
        var i = 0
        while i < items.count {
            switch items[i] {
            case .word(let w, let r):
                words.append((w, r, i)); i += 1
                continue
            case .flag(let name, let inline, _):
                let prefix = words.map(\.0).joined(separator: " ")
                if inline == nil && !prefix.isEmpty && registry.flagTakesValue(name, afterPrefix: prefix) { i += 2 } else { i += 1 }
                continue
            default: break
            }
            break
        }
        if words.first?.0 == "shell-line" { checkShellAssignment(call) }
        guard !words.isEmpty else {
            report("expected a command", call.range)
            return { _, _ in .null }
        }
        // Longest run of words that names a command.
        var target: Target?
        var used = 0
        for n in stride(from: min(words.count, 4), through: 1, by: -1) {
            let name = words.prefix(n).map(\.0).joined(separator: " ")
            if n == 1, let (d, info) = lookupFunction(name) { target = .user(depth: d, info: info); used = 1; break }
            if n == 2, let m = lookupModule(words[0].0) {
                if let info = m.functions[words[1].0] { target = .module(m, info); used = 2; break }
            }
            if let c = registry.command(name) { target = .native(c); used = n; break }
        }
        guard let target else {
            reportUnknownCommand(words.map { ($0.0, $0.1) })
            return { _, _ in .null }
        }
        let usedIndices = Set(words.prefix(used).map(\.2))
        let nameRange = words[0].1.to(words[used - 1].1)
        let rest = items.enumerated().filter { !usedIndices.contains($0.offset) }.map(\.element)
        switch target {
        case .native(let c): return compileNativeCall(c, rest, hasInput: hasInput, nameRange: nameRange, callRange: call.range)
        case .user(let depth, let info):
            // The closure captures the slot alone, not the FnInfo (copying it costs retains per call).
            let slot = info.slot
            let lookup: (Frame) throws -> Value
            switch depth {
            case 0: lookup = { f in f[slot] }
            case 1: lookup = { f in (f.parent ?? f)[slot] }
            default: lookup = { f in f.ancestor(depth)[slot] }
            }
            return compileUserCall(name: info.name, params: info.params, rest, hasInput: hasInput, callRange: call.range, nameRange: nameRange,
                                   at: (depth, slot), function: lookup)
        case .module(let m, let info):
            let interp = self.interp
            let slot = info.slot
            return compileUserCall(name: "\(m.name) \(info.name)", params: info.params, rest, hasInput: hasInput, callRange: call.range, nameRange: nameRange) { _ in
                try interp.initialize(m)
                return m.frame[slot]
            }
        }
    }

    /// `x=2` pasted as a shell assignment sets the environment variable `x`: when `x` is an sgk
    /// variable here, that is surely a re-assignment written without spaces, so it is an error.
    func checkShellAssignment(_ call: CommandCall) {
        guard call.items.count > 1, case .argument(.list(let segs, _)) = call.items[1],
              case .list(let words, _)? = segs.first, case .string(let parts, let r)? = words.first,
              case .text(let t)? = parts.first, let eq = t.firstIndex(of: "=") else { return }
        let name = String(t[..<eq])
        guard ShellLine.isAssignment(name + "="), lookupVariable(name) != nil else { return }
        let value = String(t[t.index(after: eq)...])
        report("'\(name)=…' would set the environment variable \(name), but \(name) is an sgk variable here", r,
               hint: "re-assign it with spaces: \(name) = \(value.isEmpty ? "…" : value); for the environment: export \(name)=…")
    }

    func reportUnknownCommand(_ words: [(String, SourceRange)]) {
        let first = words[0].0
        if moduleFailed(first) { return }   // its `use` was reported; nothing more to say here
        if let m = lookupModule(first) {
            let fnName = words.count > 1 ? words[1].0 : ""
            let r = words.count > 1 ? words[1].1 : words[0].1
            let s = Spell.suggest(fnName, among: m.functions.keys)
            report(words.count > 1 ? "module '\(first)' has no function '\(fnName)'\(s.map { " (did you mean '\($0)'?)" } ?? "")"
                                   : "expected a function of module '\(first)' after '\(first)'", r,
                   hint: "its functions: \(m.functions.keys.sorted().joined(separator: ", "))")
            return
        }
        // A known group with an unknown sub-command: `role creat`.
        var prefix = first
        var k = 1
        while k < words.count, registry.prefixes.contains(prefix + " " + words[k].0) { prefix += " " + words[k].0; k += 1 }
        if registry.prefixes.contains(prefix) {
            let subs = registry.subcommands(of: prefix)
            if k < words.count {
                let w = words[k].0
                let s = Spell.suggest(w, among: subs)
                report("unknown command '\(prefix) \(w)'\(s.map { " (did you mean '\(prefix) \($0)'?)" } ?? "")", words[k].1,
                       hint: "'\(prefix)' commands: \(subs.joined(separator: ", "))")
            } else {
                report("'\(prefix)' needs a sub-command", words[0].1.to(words[k - 1].1), hint: "one of: \(subs.joined(separator: ", "))")
            }
            return
        }
        let s = Spell.suggest(first, among: visibleCommandWords())
        let looksLikeVar = lookupVariable(first) != nil
        let looksLikeArithmetic = first.first?.isNumber == true && first.contains(where: { "+-*/%".contains($0) })
        report("unknown command '\(first)'\(s.map { " (did you mean '\($0)'?)" } ?? "")", words[0].1,
               hint: looksLikeVar ? "to use the variable, write $\(first)"
                   : looksLikeArithmetic ? "write spaces around operators: (\(spacedOperators(first)))"
                   : "quote text to make it a string; 'help' lists commands")
    }

    /// `7/2` as `7 / 2`, for a hint.
    func spacedOperators(_ w: String) -> String {
        var out = ""
        for ch in w {
            if "+-*/%".contains(ch), !out.isEmpty, out.last != "e" && out.last != "E" { out += " \(ch) " } else { out.append(ch) }
        }
        return out
    }

    /// Pairs each flag with its value item, per a lookup of which flags take values.
    func splitFlags(_ items: [CommandItem], takesValue: (String) -> Bool?) -> [(CommandItem, CommandItem?)] {
        var out: [(CommandItem, CommandItem?)] = []
        var i = 0
        while i < items.count {
            if case .flag(let name, let inline, _) = items[i], inline == nil, takesValue(name) == true, i + 1 < items.count {
                if case .flag = items[i + 1] { out.append((items[i], nil)); i += 1; continue }
                out.append((items[i], items[i + 1])); i += 2
            } else {
                out.append((items[i], nil)); i += 1
            }
        }
        return out
    }

    func itemExpr(_ item: CommandItem) -> Expr? {
        switch item {
        case .word(let w, let r): return .word(w, r)
        case .argument(let e): return e
        case .keyword(_, _, let e): return e
        case .flag(_, let v, let r): return v.map { .word($0, r) }
        }
    }

    func compileNativeCall(_ cmd: NativeCommand, _ items: [CommandItem], hasInput: Bool, nameRange: SourceRange, callRange: SourceRange) -> StageEval {
        let sig = cmd.signature
        let name = sig.name
        var positional: [(Eval, SourceRange)] = []
        var keywords: [(String, Eval, SourceRange)] = []
        var keywordRanges: [String: SourceRange] = [:]
        var output: (Eval, SourceRange)?
        let declaresOutput = sig.keyword(named: "output") != nil
        func flagTarget(_ flag: String) -> (String, isSwitch: Bool, positional: Int?)? {
            for (i, p) in sig.positionals.enumerated() where p.flags.contains(flag) { return (p.name, false, i) }
            for k in sig.keywords where k.flags.contains(flag) { return (k.name, k.isSwitch, nil) }
            if flag == "-o" || flag == "--output" { return ("output", false, nil) }
            return nil
        }
        var flagPositionals: [Int: (Eval, SourceRange)] = [:]
        // Keywords a misspelling was taken for: not also reported as missing.
        var suggested = Set<String>()
        func addKeyword(_ kname: String, _ e: @escaping Eval, _ r: SourceRange, _ kr: SourceRange) {
            let c = canonicalName(kname)
            if keywordRanges[c] != nil { report("'\(kname)' given twice for '\(name)'", kr); return }
            keywordRanges[c] = r
            if c == "output" && !declaresOutput { output = (e, r); return }
            keywords.append((c, e, r))
        }
        for (item, value) in splitFlags(items, takesValue: { flagTarget($0).map { !$0.isSwitch } }) {
            switch item {
            case .word, .argument:
                if let e = itemExpr(item) { positional.append((compileExpr(e), e.range)) }
            case .keyword(let k, let kr, let e):
                let c = canonicalName(k)
                if let kw = sig.keyword(named: k) {
                    addKeyword(kw.name, compileExpr(e), e.range, kr)
                } else if let pi = sig.positionals.firstIndex(where: { canonicalName($0.name) == c }) {
                    flagPositionals[pi] = (compileExpr(e), e.range)
                } else if c == "output" {
                    checkOutputFormat(e)
                    addKeyword("output", compileExpr(e), e.range, kr)
                } else {
                    let names = sig.keywords.map(\.name) + sig.positionals.map(\.name)
                    let s = Spell.suggest(k, among: names)
                    if let s { suggested.insert(canonicalName(s)) }
                    report("unknown keyword '\(k):' for '\(name)'\(s.map { " (did you mean '\($0):'?)" } ?? "")", kr,
                           hint: s == nil ? (sig.keywords.isEmpty ? "'\(name)' takes no keywords" : "keywords of '\(name)': \(sig.keywords.map { $0.name + ":" }.joined(separator: " "))") : nil)
                }
            case .flag(let fname, let inline, let fr):
                guard let (target, isSwitch, pi) = flagTarget(fname) else {
                    var all: [String] = []
                    for f in sig.positionals.flatMap(\.flags) + sig.keywords.flatMap(\.flags) + ["-o", "--output"] where !all.contains(f) { all.append(f) }
                    let s = Spell.suggest(fname, among: all)
                    report("unknown flag '\(fname)' for '\(name)'\(s.map { " (did you mean '\($0)'?)" } ?? "")", fr,
                           hint: all.count > 2 ? "flags of '\(name)': \(all.joined(separator: " "))" : nil)
                    continue
                }
                var e: Eval
                var r = fr
                if isSwitch {
                    let v: Value = inline.map { $0 == "false" ? .bool(false) : ($0 == "true" ? .bool(true) : .string($0)) } ?? .bool(true)
                    e = { _ in v }
                } else if let inline {
                    if target == "output" && !declaresOutput { checkOutputFormat(.word(inline, fr)) }
                    e = { _ in .string(inline) }
                } else if let value, let ve = itemExpr(value) {
                    if target == "output" && !declaresOutput { checkOutputFormat(ve) }
                    e = compileExpr(ve); r = fr.to(ve.range)
                } else {
                    report("flag '\(fname)' of '\(name)' needs a value", fr)
                    continue
                }
                if let pi { flagPositionals[pi] = (e, r) } else { addKeyword(target, e, r, fr) }
            }
        }
        // Positionals given by flag or keyword take their place in order.
        if !flagPositionals.isEmpty {
            var merged: [(Eval, SourceRange)] = []
            var it = positional.makeIterator()
            let maxIndex = max(flagPositionals.keys.max() ?? 0, sig.positionals.count - 1)
            for i in 0...maxIndex {
                if let fp = flagPositionals[i] { merged.append(fp) } else if let n = it.next() { merged.append(n) } else { break }
            }
            while let n = it.next() { merged.append(n) }
            positional = merged
        }
        // Arity.
        let takesSubject = sig.input == .subject
        let subjectByKeyword = sig.subjectKeywords.contains { keywordRanges[canonicalName($0)] != nil }
        let subjectFromArgs = takesSubject && !hasInput && !subjectByKeyword
        let available = positional.count - (subjectFromArgs ? 1 : 0)
        let required = sig.positionals.filter { !$0.optional && !$0.variadic }.count
        let variadic = sig.positionals.contains { $0.variadic }
        if subjectFromArgs && positional.isEmpty {
            report("'\(name)' needs input: pipe a value into it or pass it as the first argument", nameRange,
                   hint: "e.g. $list | \(name) …   or   \(name) $list …")
        } else if available < required {
            let missing = sig.positionals[max(0, available)]
            report("missing argument \(missing.name.uppercased()) for '\(name)'", callRange, hint: "usage: \(sig.usage)")
        } else if !variadic && available > sig.positionals.count {
            let extra = positional[positional.count - 1]
            report("too many arguments for '\(name)' (it takes \(sig.positionals.count))", extra.1, hint: "usage: \(sig.usage)")
        }
        for k in sig.keywords where k.required && keywordRanges[canonicalName(k.name)] == nil && !suggested.contains(canonicalName(k.name)) {
            report("missing '\(k.name):' for '\(name)'", nameRange, hint: "usage: \(sig.usage)")
        }
        let run = cmd.run
        let interp = self.interp
        let file = self.file
        let posEvals = positional.map(\.0)
        let posRanges = positional.map(\.1)
        let kwEvals = keywords
        let outputEval = output?.0
        let outputRange = output?.1 ?? callRange
        return { f, input in
            // The format is known good before the command runs: a bad one never follows its effect.
            let format = try outputEval.map { try Compiler.outputFormat($0(f), file: file, range: outputRange) }
            var args = Arguments()
            args.positional.reserveCapacity(posEvals.count)
            for e in posEvals { args.positional.append(try e(f)) }
            for (k, e, _) in kwEvals { args.keywords[k] = try e(f) }
            if subjectFromArgs {
                args.input = args.positional.isEmpty ? nil : args.positional.removeFirst()
            } else {
                args.input = input
            }
            let inv = Invocation(command: name, arguments: args, context: interp.context, interpreter: interp, depth: f.depth, owner: f.owner)
            let result: Value
            do {
                result = try run(inv)
            } catch {
                throw interp.wrap(error, command: name, file: file, callRange: callRange, positionalRanges: posRanges,
                                  subjectShift: subjectFromArgs ? 1 : 0, keywordRanges: keywordRanges)
            }
            if let format {
                do { interp.context.output.write(try Formatter.format(result, as: format)) } catch {
                    throw interp.wrap(error, command: name, file: file, callRange: callRange, positionalRanges: [], subjectShift: 0, keywordRanges: keywordRanges)
                }
                interp.context.printedWithOutputFlag = true
            } else if declaresOutput, let o = args.keywords["output"], !o.isNull, o.text != "" {
                interp.context.printedWithOutputFlag = true   // the command printed it (`kubectl get -o wide`)
            }
            return result
        }
    }

    func compileUserCall(name: String, params: [Parameter], _ items: [CommandItem], hasInput: Bool, callRange: SourceRange,
                         nameRange: SourceRange, at: (depth: Int, slot: Int)? = nil, function: @escaping (Frame) throws -> Value) -> StageEval {
        var bound = [EvalBox?](repeating: nil, count: params.count)
        var positionalIndex = 0
        let positionalParams = params.enumerated().filter { !$0.element.keywordOnly }.map(\.offset)
        var output: (Eval, SourceRange)?
        for (item, value) in splitFlags(items, takesValue: { _ in true }) {
            switch item {
            case .word, .argument:
                guard let e = itemExpr(item) else { continue }
                guard positionalIndex < positionalParams.count else {
                    report("too many arguments for '\(name)' (it takes \(positionalParams.count))", e.range,
                           hint: "usage: \(name) \(usage(params))")
                    continue
                }
                bound[positionalParams[positionalIndex]] = EvalBox(compileExpr(e))
                positionalIndex += 1
            case .keyword(let k, let kr, let e):
                let c = canonicalName(k)
                if c == "output" && !params.contains(where: { $0.name == "output" }) { checkOutputFormat(e); output = (compileExpr(e), e.range); continue }
                guard let pi = params.firstIndex(where: { canonicalName($0.name) == c }) else {
                    let s = Spell.suggest(k, among: params.map(\.name))
                    report("unknown keyword '\(k):' for '\(name)'\(s.map { " (did you mean '\($0):'?)" } ?? "")", kr,
                           hint: "usage: \(name) \(usage(params))")
                    continue
                }
                if bound[pi] != nil { report("'\(k)' given twice for '\(name)'", kr); continue }
                bound[pi] = EvalBox(compileExpr(e))
            case .flag(let fname, let inline, let fr):
                let bare = String(fname.drop(while: { $0 == "-" }))
                let c = canonicalName(bare)
                if (fname == "-o" || c == "output") && !params.contains(where: { $0.name == "output" }) {
                    if let inline {
                        checkOutputFormat(.word(inline, fr)); output = ({ _ in .string(inline) }, fr)
                    } else if let value, let ve = itemExpr(value) {
                        checkOutputFormat(ve); output = (compileExpr(ve), ve.range)
                    }
                    continue
                }
                guard let pi = params.firstIndex(where: { canonicalName($0.name) == c }) else {
                    report("unknown flag '\(fname)' for '\(name)'", fr, hint: "usage: \(name) \(usage(params))")
                    continue
                }
                if let inline { bound[pi] = EvalBox { _ in .string(inline) } } else if let value, let ve = itemExpr(value) { bound[pi] = EvalBox(compileExpr(ve)) } else { bound[pi] = EvalBox { _ in .bool(true) } }
            }
        }
        // Pipeline input fills the first positional parameter left open.
        var inputParam: Int?
        if hasInput, let firstOpen = positionalParams.first(where: { bound[$0] == nil }) { inputParam = firstOpen }
        for (i, p) in params.enumerated() where bound[i] == nil && p.defaultValue == nil && i != inputParam {
            report(p.keywordOnly ? "missing '\(p.name):' for '\(name)'" : "missing argument \(p.name.uppercased()) for '\(name)'", callRange,
                   hint: "usage: \(name) \(usage(params))")
        }
        let interp = self.interp
        let file = self.file
        let args = bound
        let outputEval = output?.0
        let outputRange = output?.1 ?? callRange
        let inputIndex = inputParam ?? -1
        // Direct paths: one or two positional arguments, nothing else.
        if outputEval == nil, inputIndex == -1, params.count == args.count, args.allSatisfy({ $0 != nil }),
           params.allSatisfy({ !$0.keywordOnly }) {
            if args.count == 1, let a0 = args[0]?.eval {
                if !hasInput, let (depth, slot) = at {
                    // The function's frame is found here, not through the lookup closure.
                    directHead = { f in
                        var g = f
                        var d = depth
                        while d > 0, let p = g.parent { g = p; d -= 1 }
                        guard case .function(let fn) = g[slot] else {
                            throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                        }
                        return try interp.invoke1(fn, caller: f, a0, args: args, file: file, range: callRange)
                    }
                } else if !hasInput {
                    // A pipeline's head: called with no input, so it may skip the stage wrapper.
                    directHead = { f in
                        guard case .function(let fn) = try function(f) else {
                            throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                        }
                        return try interp.invoke1(fn, caller: f, a0, args: args, file: file, range: callRange)
                    }
                }
                return { f, _ in
                    guard case .function(let fn) = try function(f) else {
                        throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                    }
                    return try interp.invoke1(fn, caller: f, a0, args: args, file: file, range: callRange)
                }
            }
            if args.count == 2, let a0 = args[0]?.eval, let a1 = args[1]?.eval {
                if !hasInput {
                    directHead = { f in
                        guard case .function(let fn) = try function(f) else {
                            throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                        }
                        return try interp.invoke2(fn, caller: f, a0, a1, args: args, file: file, range: callRange)
                    }
                }
                return { f, _ in
                    guard case .function(let fn) = try function(f) else {
                        throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                    }
                    return try interp.invoke2(fn, caller: f, a0, a1, args: args, file: file, range: callRange)
                }
            }
        }
        if outputEval == nil {
            return { f, input in
                guard case .function(let fn) = try function(f) else {
                    throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
                }
                return try interp.invoke(fn, caller: f, args: args, inputParam: inputIndex, input: input, file: file, range: callRange)
            }
        }
        return { f, input in
            guard case .function(let fn) = try function(f) else {
                throw RuntimeError("'\(name)' is not defined yet at this point of the run", file: file, range: nameRange)
            }
            let format = try outputEval.map { try Compiler.outputFormat($0(f), file: file, range: outputRange) }
            let v = try interp.invoke(fn, caller: f, args: args, inputParam: inputIndex, input: input, file: file, range: callRange)
            if let format {
                interp.context.output.write(try Formatter.format(v, as: format))
                interp.context.printedWithOutputFlag = true
            }
            return v
        }
    }

    /// An `-o FORMAT` written as a literal is checked when the script is resolved.
    func checkOutputFormat(_ e: Expr) {
        var literal: String?
        switch e {
        case .word(let w, _): literal = w
        case .string(let parts, _):
            if parts.count == 1, case .text(let t) = parts[0] { literal = t }
        default: break
        }
        if let literal, !Formatter.formats.contains(literal) {
            report("unknown output format '\(literal)'", e.range, hint: "formats: \(Formatter.formats.joined(separator: ", "))")
        }
    }

    /// The `-o` format a call evaluated, checked before the call runs.
    static func outputFormat(_ v: Value, file: SourceFile, range: SourceRange) throws -> String {
        let format = v.text
        guard Formatter.formats.contains(format) else {
            throw RuntimeError("unknown output format '\(format)'", hint: "formats: \(Formatter.formats.joined(separator: ", "))", file: file, range: range)
        }
        return format
    }

    func usage(_ params: [Parameter]) -> String {
        params.map { p in
            if p.keywordOnly { return p.defaultValue == nil ? "\(p.name): VALUE" : "[\(p.name): VALUE]" }
            return p.name.uppercased()
        }.joined(separator: " ")
    }

    // MARK: expressions

    func compileExpr(_ e: Expr) -> Eval {
        switch e {
        case .null: return { _ in .null }
        case .bool(let b, _): let v = Value.bool(b); return { _ in v }
        case .int(let i, _): let v = Value.int(i); return { _ in v }
        case .double(let d, _): let v = Value.double(d); return { _ in v }
        case .duration(let d, _): let v = Value.duration(d); return { _ in v }
        case .word(let w, _): let v = Value.string(w); return { _ in v }
        case .string(let parts, _):
            if parts.isEmpty { return { _ in .string("") } }
            if parts.count == 1, case .text(let t) = parts[0] { let v = Value.string(t); return { _ in v } }
            let compiled: [(String?, EvalBox?)] = parts.map { p in
                switch p {
                case .text(let t): return (t, nil)
                case .expr(let x): return (nil, EvalBox(compileExpr(x)))
                }
            }
            // "text${expr}": the common two-part shape without a loop.
            if compiled.count == 2, let t = compiled[0].0, let ev = compiled[1].1?.eval {
                return { f in .string(t + (try ev(f).text)) }
            }
            return { f in
                var s = ""
                for (t, ev) in compiled {
                    if let t { s += t } else if let ev { s += try ev.eval(f).text }
                }
                return .string(s)
            }
        case .variable(let name, let r):
            guard let (depth, slot) = lookupVariable(name) else {
                if name == "in" {
                    report("$in is only defined in a command after '|'", r, hint: "e.g. $x | print \"got ${$in}\"")
                } else if name == "it" {
                    report("$it is only defined inside a block { … }", r, hint: "e.g. $list | where { $it.kind == \"Pod\" }")
                } else {
                    let s = Spell.suggest(name, among: visibleNames())
                    report("undefined variable '$\(name)'\(s.map { " (did you mean '$\($0)'?)" } ?? "")", r,
                           hint: s == nil ? "declare it with let \(name) = …" : nil)
                }
                return { _ in .null }
            }
            switch depth {
            case 0: return { f in f[slot] }
            case 1: return { f in (f.parent ?? f)[slot] }
            default: return { f in f.ancestor(depth)[slot] }
            }
        case .list(let items, _):
            if items.count == 1 {
                let e = compileExpr(items[0])
                return { f in .list([try e(f)]) }
            }
            let evals = items.map { EvalBox(compileExpr($0)) }
            return { f in
                var out: [Value] = []
                out.reserveCapacity(evals.count)
                for e in evals { out.append(try e.eval(f)) }
                return .list(out)
            }
        case .map(let entries, _):
            var seen = Set<String>()
            for en in entries where en.keyExpr == nil && !seen.insert(en.key).inserted { report("duplicate key '\(en.key)' in map", en.keyRange) }
            let evals = entries.map { ($0.key, $0.keyExpr.map { EvalBox(compileExpr($0)) }, EvalBox(compileExpr($0.value))) }
            if evals.count == 1 {
                let (k, keyBox, valueBox) = evals[0]
                let e = valueBox.eval
                if let ke = keyBox?.eval {
                    return { f in
                        var m = OrderedDictionary<String, Value>(minimumCapacity: 1)
                        m[try ke(f).text] = try e(f)
                        return .map(m)
                    }
                }
                return { f in
                    var m = OrderedDictionary<String, Value>(minimumCapacity: 1)
                    m[k] = try e(f)
                    return .map(m)
                }
            }
            return { f in
                var m = OrderedDictionary<String, Value>(minimumCapacity: evals.count)
                for (k, ke, e) in evals {
                    if let ke { m[try ke.eval(f).text] = try e.eval(f) } else { m[k] = try e.eval(f) }
                }
                return .map(m)
            }
        case .block(let b):
            return compileBlockValue(b)
        case .member(let base, let key, let r):
            let be = compileExpr(base)
            let file = self.file
            let baseText = file.slice(base.range)
            return { f in
                let v = try be(f)
                if case .map(let m) = v {
                    if let x = m[key] { return x }
                    let s = Spell.suggest(key, among: m.keys)
                    throw RuntimeError("no key '\(key)' in \(baseText)\(s.map { " (did you mean '\($0)'?)" } ?? "")",
                                       hint: s == nil ? "keys: \(m.keys.prefix(12).joined(separator: ", "))\(m.count > 12 ? ", …" : ""); to allow a missing key: get \"\(key)\" default: …" : nil,
                                       file: file, range: r)
                }
                throw RuntimeError("cannot read '.\(key)' of \(baseText): it is \(v.typeName == "null" ? "null" : "\(v.aTypeName)")", file: file, range: r)
            }
        case .index(let base, let idx, let r):
            let be = compileExpr(base), ie = compileExpr(idx)
            let file = self.file
            let baseText = file.slice(base.range)
            return { f in
                let v = try be(f), i = try ie(f)
                switch (v, i) {
                case (.list(let l), .int(let n)):
                    let k = n < 0 ? l.count + n : n
                    guard k >= 0 && k < l.count else {
                        throw RuntimeError("index \(n) is out of range for \(baseText) (\(l.count) items)", file: file, range: r)
                    }
                    return l[k]
                case (.map(let m), .string(let k)):
                    guard let x = m[k] else {
                        throw RuntimeError("no key \(Value.quote(k)) in \(baseText)", file: file, range: r)
                    }
                    return x
                case (.string(let s), .int(let n)):
                    let chars = Array(s)
                    let k = n < 0 ? chars.count + n : n
                    guard k >= 0 && k < chars.count else { throw RuntimeError("index \(n) is out of range for a string of \(chars.count) characters", file: file, range: r) }
                    return .string(String(chars[k]))
                default:
                    throw RuntimeError("cannot index \(v.aTypeName) with \(i.aTypeName)", file: file, range: r)
                }
            }
        case .unary(let op, let x, let r):
            let xe = compileExpr(x)
            let file = self.file
            switch op {
            case .not: return { f in .bool(!(try xe(f).isTruthy)) }
            case .neg:
                return { f in
                    switch try xe(f) {
                    case .int(let i):
                        guard i != .min else { throw RuntimeError("integer overflow in -(\(i))", file: file, range: r) }
                        return .int(-i)
                    case .double(let d): return .double(-d)
                    case .duration(let d): return .duration(-d)
                    case let v: throw RuntimeError("cannot negate \(v.aTypeName)", file: file, range: r)
                    }
                }
            }
        case .binary(let op, let a, let b, let r):
            return compileBinary(op, a, b, r)
        case .pipeline(let p):
            return compilePipeline(p)
        case .parallel(let p):
            return compileParallel(p)
        }
    }

    /// Whether assigning `name` from here crosses the body of a `parallel for` (the variable
    /// belongs to the code around it): nil if not, else a hint's tail.
    func parallelBodyCrossed(toAssign name: String) -> String? {
        var s: FnScope? = scope
        var crossed = false
        while let fs = s {
            for b in fs.blocks.reversed() where b.vars[name] != nil { return crossed ? "" : nil }
            if fs.isParallelBody { crossed = true }
            s = fs.parent
        }
        return nil
    }

    static func sharedAssignment(_ name: String, _ file: SourceFile, _ r: SourceRange) -> RuntimeError {
        RuntimeError("cannot assign '\(name)' from a body of 'parallel for': the variable is shared by the bodies", code: "SharedAssignment",
                     hint: "bodies run at the same time and may read the variables around the loop, not assign them; give results as the body's value",
                     file: file, range: r)
    }

    /// `parallel for x in LIST limit: N keep-going: B { … }`: the body is compiled as a scope of
    /// its own (a frame per body, whose parent is the loop's frame); see `Interpreter.runParallel`.
    func compileParallel(_ p: ParallelFor) -> Eval {
        let it = compileExpr(p.iterable)
        let limitEval = p.limit.map { compileExpr($0) }
        let keepEval = p.keepGoing.map { compileExpr($0) }
        let prefixEval = p.prefix.map { compileExpr($0) }
        let fnScope = FnScope(parent: scope, name: "parallel for", isFunction: false)
        fnScope.isParallelBody = true
        let saved = scope
        scope = fnScope
        let slot = fnScope.declare(p.name)
        let slot2 = p.second.map { fnScope.declare($0) }
        let body = compileBlock(p.body, valueOfLast: true)
        scope = saved
        let interp = self.interp
        let file = self.file
        let iterableRange = p.iterable.range
        let limitRange = p.limit?.range ?? p.headRange
        let head = p.headRange
        let hasSecond = p.second != nil
        return { f in
            var limit = ParallelRun.defaultLimit
            if let limitEval {
                guard case .int(let l) = try limitEval(f), l >= 1 else {
                    throw RuntimeError("'limit:' of 'parallel for' must be an int of at least 1", file: file, range: limitRange)
                }
                limit = l
            }
            let keepGoing = try keepEval.map { try $0(f).isTruthy } ?? false
            let prefix = try prefixEval.map { try $0(f) }.flatMap { $0.isNull ? nil : $0.isTruthy }
            var items: [Interpreter.ParallelItem] = []
            switch try it(f) {
            case .list(let l):
                items.reserveCapacity(l.count)
                for (i, v) in l.enumerated() {
                    items.append(.init(first: hasSecond ? .int(i) : v, second: hasSecond ? v : nil, label: Interpreter.parallelLabel(v, index: i)))
                }
            case .map(let m):
                for (i, (k, v)) in m.enumerated() {
                    items.append(.init(first: .string(k), second: hasSecond ? v : nil, label: Interpreter.parallelLabel(.string(k), index: i)))
                }
            case .null: return .list([])
            case let v:
                throw RuntimeError("cannot iterate over \(v.aTypeName)", hint: "parallel for takes a list, a map (its keys) or a range such as 1..10",
                                   file: file, range: iterableRange)
            }
            return try interp.runParallel(items, limit: limit, keepGoing: keepGoing, prefix: prefix, loopFrame: f, slotCount: fnScope.slotCount,
                                          slot: slot, slot2: slot2, body: body, file: file, range: head)
        }
    }

    func compileBlockValue(_ b: Block) -> Eval {
        let fnScope = FnScope(parent: scope, name: "block", isFunction: true)
        let saved = scope
        scope = fnScope
        let itSlot = fnScope.declare("it")
        let body = CompiledBody()
        body.valueOfLast = true
        body.run = compileBlock(b.body, valueOfLast: true)
        scope = saved
        let params = [CompiledParam(name: "it", canonical: "it", keywordOnly: false, defaultValue: { _ in .null }, slot: itSlot)]
        let file = self.file
        return { f in
            .function(Function(name: "block", params: params, slotCount: fnScope.slotCount, body: body, captured: f, file: file, isBlock: true))
        }
    }

    /// An expression used as a condition (`if`, `while`): a comparison gives
    /// its Bool directly, without making a value and testing its truthiness.
    /// Anything else is `compileExpr(e)` tested for truthiness.
    func compileCondition(_ e: Expr) -> Cond {
        guard case .binary(let op, let a, let b, let r) = e else {
            let x = compileExpr(e)
            return { f in try x(f).isTruthy }
        }
        let file = self.file
        switch op {
        case .lt, .le, .gt, .ge:
            if let (slot, c) = localAndConstant(a, b) {
                let cv = Value.int(c)
                let test: (Int) -> Bool
                switch op {
                case .lt: test = { $0 < c }
                case .le: test = { $0 <= c }
                case .gt: test = { $0 > c }
                default: test = { $0 >= c }
                }
                switch op {
                case .lt:
                    return { f in
                        let x = f[slot]
                        if case .int(let i) = x { return i < c }
                        return try Operators.binary(.lt, x, cv, file: file, range: r).isTruthy
                    }
                default:
                    return { f in
                        let x = f[slot]
                        if case .int(let i) = x { return test(i) }
                        return try Operators.binary(op, x, cv, file: file, range: r).isTruthy
                    }
                }
            }
            let ae = compileExpr(a), be = compileExpr(b)
            switch op {
            case .lt:
                return { f in
                    let x = try ae(f), y = try be(f)
                    if case .int(let i) = x, case .int(let j) = y { return i < j }
                    return try Operators.binary(.lt, x, y, file: file, range: r).isTruthy
                }
            case .le:
                return { f in
                    let x = try ae(f), y = try be(f)
                    if case .int(let i) = x, case .int(let j) = y { return i <= j }
                    return try Operators.binary(.le, x, y, file: file, range: r).isTruthy
                }
            case .gt:
                return { f in
                    let x = try ae(f), y = try be(f)
                    if case .int(let i) = x, case .int(let j) = y { return i > j }
                    return try Operators.binary(.gt, x, y, file: file, range: r).isTruthy
                }
            default:
                return { f in
                    let x = try ae(f), y = try be(f)
                    if case .int(let i) = x, case .int(let j) = y { return i >= j }
                    return try Operators.binary(.ge, x, y, file: file, range: r).isTruthy
                }
            }
        case .eq:
            let ae = compileExpr(a), be = compileExpr(b)
            return { f in try ae(f) == be(f) }
        case .ne:
            let ae = compileExpr(a), be = compileExpr(b)
            return { f in try ae(f) != be(f) }
        default:
            let x = compileBinary(op, a, b, r)
            return { f in try x(f).isTruthy }
        }
    }

    /// `$local OP 12`: the local's slot and the constant, so the operation
    /// reads both itself instead of calling two closures.
    func localAndConstant(_ a: Expr, _ b: Expr) -> (slot: Int, constant: Int)? {
        guard case .variable(let name, _) = a, case .int(let c, _) = b,
              let (depth, slot) = lookupVariable(name), depth == 0 else { return nil }
        return (slot, c)
    }

    func compileBinary(_ op: BinaryOp, _ a: Expr, _ b: Expr, _ r: SourceRange) -> Eval {
        let file = self.file
        if op == .add || op == .sub, let (slot, c) = localAndConstant(a, b) {
            if op == .add {
                return { f in
                    let x = f[slot]
                    if case .int(let i) = x {
                        let (s, o) = i.addingReportingOverflow(c)
                        if o { throw RuntimeError("integer overflow in \(i) + \(c)", file: file, range: r) }
                        return .int(s)
                    }
                    return try Operators.binary(.add, x, .int(c), file: file, range: r)
                }
            }
            return { f in
                let x = f[slot]
                if case .int(let i) = x {
                    let (s, o) = i.subtractingReportingOverflow(c)
                    if o { throw RuntimeError("integer overflow in \(i) - \(c)", file: file, range: r) }
                    return .int(s)
                }
                return try Operators.binary(.sub, x, .int(c), file: file, range: r)
            }
        }
        let ae = compileExpr(a), be = compileExpr(b)
        switch op {
        case .and: return { f in let x = try ae(f); return x.isTruthy ? try be(f) : x }
        case .or: return { f in let x = try ae(f); return x.isTruthy ? x : try be(f) }
        case .match:
            if case .string(let parts, let pr) = b, parts.count <= 1, case .text(let pattern)? = parts.first ?? .text("") {
                // Compiled on first use: ICU's regex engine costs ~2 MiB the first time, and a
                // module's functions that never run should not pay it.
                let box = RegexBox(pattern)
                return { f in
                    let x = try ae(f)
                    guard let re = box.regex() else { throw RuntimeError("invalid regular expression \(Value.quote(pattern))", file: file, range: pr) }
                    guard case .string(let s) = x else { throw RuntimeError("'=~' needs a string on the left, not \(x.aTypeName)", file: file, range: r) }
                    return .bool(RegexBox.matches(re, s))
                }
            }
            return { f in
                let x = try ae(f), y = try be(f)
                guard case .string(let s) = x, case .string(let p) = y else {
                    throw RuntimeError("'=~' needs strings, not \(x.typeName) and \(y.typeName)", file: file, range: r)
                }
                guard let re = try? NSRegularExpression(pattern: p) else { throw RuntimeError("invalid regular expression \(Value.quote(p))", file: file, range: b.range) }
                return .bool(RegexBox.matches(re, s))
            }
        case .add:
            return { f in
                let x = try ae(f), y = try be(f)
                if case .int(let i) = x, case .int(let j) = y {
                    let (s, o) = i.addingReportingOverflow(j)
                    if o { throw RuntimeError("integer overflow in \(i) + \(j)", file: file, range: r) }
                    return .int(s)
                }
                return try Operators.binary(.add, x, y, file: file, range: r)
            }
        case .sub:
            return { f in
                let x = try ae(f), y = try be(f)
                if case .int(let i) = x, case .int(let j) = y {
                    let (s, o) = i.subtractingReportingOverflow(j)
                    if o { throw RuntimeError("integer overflow in \(i) - \(j)", file: file, range: r) }
                    return .int(s)
                }
                return try Operators.binary(.sub, x, y, file: file, range: r)
            }
        case .lt:
            return { f in
                let x = try ae(f), y = try be(f)
                if case .int(let i) = x, case .int(let j) = y { return .bool(i < j) }
                return try Operators.binary(.lt, x, y, file: file, range: r)
            }
        case .eq: return { f in .bool(try ae(f) == be(f)) }
        case .ne: return { f in .bool(try ae(f) != be(f)) }
        default:
            return { f in try Operators.binary(op, try ae(f), try be(f), file: file, range: r) }
        }
    }
}

/// A regular expression literal, compiled once, on first use (nil when invalid).
final class RegexBox: @unchecked Sendable {
    private let pattern: String
    private var compiled: NSRegularExpression??
    private let lock = NSLock()
    init(_ pattern: String) { self.pattern = pattern }
    func regex() -> NSRegularExpression? {
        lock.withLock {
            if let c = compiled { return c }
            let c = try? NSRegularExpression(pattern: pattern)
            compiled = .some(c)
            return c
        }
    }
    static func matches(_ re: NSRegularExpression, _ s: String) -> Bool {
        re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}

typealias Cond = (Frame) throws -> Bool

final class CondBox {
    let test: Cond
    init(_ test: @escaping Cond) { self.test = test }
}

final class StageBox {
    let run: StageEval
    init(_ run: @escaping StageEval) { self.run = run }
}
