/// The syntax tree. Every node carries its source range.
public indirect enum Expr: Sendable {
    case null(SourceRange)
    case bool(Bool, SourceRange)
    case int(Int, SourceRange)
    case double(Double, SourceRange)
    case duration(Double, SourceRange)
    case string([InterpolationPart], SourceRange)
    /// A bare word in argument position: a string.
    case word(String, SourceRange)
    case variable(String, SourceRange)
    case list([Expr], SourceRange)
    case map([MapEntry], SourceRange)
    case block(Block)
    case member(Expr, String, SourceRange)          // `.key`
    case index(Expr, Expr, SourceRange)             // `[expr]`
    case unary(UnaryOp, Expr, SourceRange)
    case binary(BinaryOp, Expr, Expr, SourceRange)
    case pipeline(Pipeline)                         // `( … )`
    /// `parallel for x in LIST limit: N keep-going: B { … }`: a value (the bodies' results).
    case parallel(ParallelFor)

    public var range: SourceRange {
        switch self {
        case .null(let r), .bool(_, let r), .int(_, let r), .double(_, let r), .duration(_, let r),
             .string(_, let r), .word(_, let r), .variable(_, let r), .list(_, let r), .map(_, let r),
             .member(_, _, let r), .index(_, _, let r), .unary(_, _, let r), .binary(_, _, _, let r):
            return r
        case .block(let b): return b.range
        case .pipeline(let p): return p.range
        case .parallel(let p): return p.range
        }
    }
}

/// `parallel for NAME[, NAME2] in ITERABLE [limit: N] [keep-going: B] { BODY }`.
public struct ParallelFor: Sendable {
    public var name: String
    public var nameRange: SourceRange
    public var second: String?
    public var iterable: Expr
    public var limit: Expr?
    public var keepGoing: Expr?
    /// `prefix: B`: each output line of a body starts with `[item] ` (default: on a terminal).
    public var prefix: Expr?
    public var body: [Stmt]
    /// The words `parallel for`, where its errors are reported.
    public var headRange: SourceRange
    public var range: SourceRange
}

public enum InterpolationPart: Sendable {
    case text(String)
    case expr(Expr)
}

public struct MapEntry: Sendable {
    public var key: String
    public var keyRange: SourceRange
    public var value: Expr
    /// An interpolated key (`"${host}:aud": …`), evaluated at run time.
    public var keyExpr: Expr?
    public init(key: String, keyRange: SourceRange, value: Expr, keyExpr: Expr? = nil) {
        self.key = key; self.keyRange = keyRange; self.value = value; self.keyExpr = keyExpr
    }
}

public enum UnaryOp: String, Sendable { case neg = "-", not = "not" }

public enum BinaryOp: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case match = "=~", and = "and", or = "or", `in` = "in", notIn = "not in", range = ".."
}

/// `{ … }` used as a value: a closure whose implicit parameter is `$it`.
public struct Block: Sendable {
    public var body: [Stmt]
    public var range: SourceRange
}

public struct Pipeline: Sendable {
    public var stages: [Stage]
    public var range: SourceRange
}

public enum Stage: Sendable {
    case command(CommandCall)
    case expr(Expr)
    public var range: SourceRange {
        switch self { case .command(let c): return c.range; case .expr(let e): return e.range }
    }
}

/// A command call as written: the resolver decides which leading words name
/// the command and which flag takes the next item as its value.
public struct CommandCall: Sendable {
    public var items: [CommandItem]
    public var range: SourceRange
}

public enum CommandItem: Sendable {
    case word(String, SourceRange)
    case argument(Expr)
    case keyword(String, SourceRange, Expr)
    case flag(String, String?, SourceRange)

    public var range: SourceRange {
        switch self {
        case .word(_, let r), .flag(_, _, let r): return r
        case .argument(let e): return e.range
        case .keyword(_, let r, let e): return r.to(e.range)
        }
    }
}

public struct Parameter: Sendable {
    public var name: String
    public var range: SourceRange
    public var keywordOnly: Bool
    public var defaultValue: Expr?
}

public struct FunctionDecl: Sendable {
    public var name: String
    public var nameRange: SourceRange
    public var params: [Parameter]
    public var body: [Stmt]
    public var range: SourceRange
    public var doc: String?
}

public indirect enum Stmt: Sendable {
    case `let`(String, SourceRange, Pipeline, SourceRange)
    case assign(String, SourceRange, Pipeline, SourceRange)
    case `if`([(Expr, [Stmt])], [Stmt]?, SourceRange)
    case `for`(String, SourceRange, String?, Expr, [Stmt], SourceRange)
    case `while`(Expr, [Stmt], SourceRange)
    case fn(FunctionDecl)
    case `return`(Pipeline?, SourceRange)
    case `break`(SourceRange)
    case `continue`(SourceRange)
    case `try`([Stmt], String?, SourceRange, [Stmt], SourceRange)
    case fail(Pipeline, SourceRange)
    case use(String, isPath: Bool, alias: String?, SourceRange)
    case param(String, SourceRange, String?, Pipeline?, SourceRange)
    case pipeline(Pipeline)

    public var range: SourceRange {
        switch self {
        case .let(_, _, _, let r), .assign(_, _, _, let r), .if(_, _, let r), .for(_, _, _, _, _, let r),
             .while(_, _, let r), .return(_, let r), .break(let r), .continue(let r), .try(_, _, _, _, let r),
             .fail(_, let r), .use(_, _, _, let r), .param(_, _, _, _, let r):
            return r
        case .fn(let f): return f.range
        case .pipeline(let p): return p.range
        }
    }
}
