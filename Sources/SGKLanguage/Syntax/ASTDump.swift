/// A compact s-expression form of the tree, for golden tests and `sgk check --dump`.
public enum ASTDump {
    public static func dump(_ stmts: [Stmt]) -> String { stmts.map(stmt).joined(separator: "\n") }

    static func block(_ b: [Stmt]) -> String { "(block" + b.map { " " + stmt($0) }.joined() + ")" }

    static func stmt(_ s: Stmt) -> String {
        switch s {
        case .let(let n, _, let p, _): return "(let \(n) \(pipeline(p)))"
        case .assign(let n, _, let p, _): return "(set! \(n) \(pipeline(p)))"
        case .if(let arms, let e, _):
            var out = "(if"
            for (c, b) in arms { out += " \(expr(c)) \(block(b))" }
            if let e { out += " (else \(block(e)))" }
            return out + ")"
        case .for(let n, _, let n2, let e, let b, _): return "(for \(n)\(n2.map { " " + $0 } ?? "") \(expr(e)) \(block(b)))"
        case .while(let c, let b, _): return "(while \(expr(c)) \(block(b)))"
        case .fn(let f):
            let ps = f.params.map { p -> String in
                if p.keywordOnly { return p.defaultValue.map { "(\(p.name): \(expr($0)))" } ?? "\(p.name):" }
                return p.name
            }
            return "(fn \(f.name) (\(ps.joined(separator: " "))) \(block(f.body)))"
        case .return(let p, _): return p.map { "(return \(pipeline($0)))" } ?? "(return)"
        case .break: return "(break)"
        case .continue: return "(continue)"
        case .try(let b, let n, _, let h, _): return "(try \(block(b)) (catch\(n.map { " " + $0 } ?? "") \(block(h))))"
        case .fail(let p, _): return "(fail \(pipeline(p)))"
        case .use(let n, let isPath, let alias, _): return "(use \(isPath ? Value.quote(n) : n)\(alias.map { " as \($0)" } ?? ""))"
        case .param(let n, _, let t, let d, _): return "(param \(n)\(t.map { ": \($0)" } ?? "")\(d.map { " " + pipeline($0) } ?? ""))"
        case .pipeline(let p): return pipeline(p)
        }
    }

    static func pipeline(_ p: Pipeline) -> String {
        if p.stages.count == 1 { return stage(p.stages[0]) }
        return "(pipe " + p.stages.map(stage).joined(separator: " ") + ")"
    }

    static func stage(_ s: Stage) -> String {
        switch s {
        case .expr(let e): return expr(e)
        case .command(let c):
            return "(cmd" + c.items.map { i -> String in
                switch i {
                case .word(let w, _): return " " + w
                case .argument(let e): return " " + expr(e)
                case .keyword(let k, _, let e): return " \(k): \(expr(e))"
                case .flag(let f, let v, _): return " " + f + (v.map { "=" + $0 } ?? "")
                }
            }.joined() + ")"
        }
    }

    static func expr(_ e: Expr) -> String {
        switch e {
        case .null: return "null"
        case .bool(let b, _): return b ? "true" : "false"
        case .int(let i, _): return String(i)
        case .double(let d, _): return Value.formatDouble(d)
        case .duration(let d, _): return Value.formatDuration(d)
        case .string(let parts, _):
            if parts.isEmpty { return "\"\"" }
            if parts.count == 1, case .text(let t) = parts[0] { return Value.quote(t) }
            return "(str" + parts.map { p -> String in
                switch p { case .text(let t): return " " + Value.quote(t); case .expr(let x): return " " + expr(x) }
            }.joined() + ")"
        case .word(let w, _): return "'" + w
        case .variable(let v, _): return "$" + v
        case .list(let l, _): return "[" + l.map(expr).joined(separator: " ") + "]"
        case .map(let m, _): return "{" + m.map { "\($0.keyExpr.map(expr) ?? $0.key): \(expr($0.value))" }.joined(separator: " ") + "}"
        case .block(let b): return "(lambda " + block(b.body) + ")"
        case .member(let b, let k, _): return "(. \(expr(b)) \(k))"
        case .index(let b, let i, _): return "([] \(expr(b)) \(expr(i)))"
        case .unary(let op, let x, _): return "(\(op.rawValue) \(expr(x)))"
        case .binary(let op, let a, let b, _): return "(\(op.rawValue) \(expr(a)) \(expr(b)))"
        case .pipeline(let p): return pipeline(p)
        case .parallel(let p):
            var opts = ""
            if let l = p.limit { opts += " (limit: \(expr(l)))" }
            if let k = p.keepGoing { opts += " (keep-going: \(expr(k)))" }
            if let k = p.prefix { opts += " (prefix: \(expr(k)))" }
            return "(parallel-for \(p.name)\(p.second.map { " " + $0 } ?? "") \(expr(p.iterable))\(opts) \(block(p.body)))"
        }
    }
}
