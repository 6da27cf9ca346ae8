/// Recursive-descent parser producing `[Stmt]`. Nesting is bounded so no
/// input can overflow the stack; running out of input is reported as
/// "incomplete" so the REPL can ask for a continuation line.
public struct Parser {
    let file: SourceFile
    let lexer: Lexer
    var pos: Int
    let end: Int
    var depth = 0
    /// The next stage starts a statement: a shell line there prints its output.
    var shellPrints = false
    let cache = TokenCache()
    static let maxDepth = 200
    static let statementKeywords: Set<String> = ["let", "if", "else", "for", "while", "fn", "return", "break", "continue", "try", "catch", "fail", "use", "param"]

    public init(file: SourceFile) {
        self.file = file
        self.lexer = Lexer(file)
        self.pos = 0
        self.end = file.bytes.count
    }

    init(file: SourceFile, range: SourceRange) {
        self.file = file
        self.lexer = Lexer(file)
        self.pos = range.start
        self.end = range.end
    }

    /// Parses a whole file.
    public static func parse(_ file: SourceFile) throws(Diagnostic) -> [Stmt] {
        var p = Parser(file: file)
        return try p.parseProgram()
    }

    // MARK: tokens

    func peek(_ mode: LexMode = .expression) throws(Diagnostic) -> Token {
        if pos >= end { return Token(kind: .eof, range: SourceRange(end, end), spaceBefore: true) }
        let slot = mode == .expression ? 0 : 1
        if cache.pos[slot] == pos, let t = cache.token[slot] { return t }
        let t = try lexer.lex(at: pos, mode: mode)
        if t.range.start >= end { return Token(kind: .eof, range: SourceRange(end, end), spaceBefore: true) }
        cache.pos[slot] = pos; cache.token[slot] = t
        // Strings, variables and punctuation lex the same in both modes.
        switch t.kind {
        case .string, .variable, .newline: cache.pos[1 - slot] = pos; cache.token[1 - slot] = t
        default: break
        }
        return t
    }

    mutating func advance(_ t: Token) { pos = t.range.end }

    func error(_ msg: String, _ r: SourceRange, hint: String? = nil) -> Diagnostic {
        Diagnostic(msg, file: file, range: r, hint: hint)
    }

    func unexpected(_ t: Token, expecting what: String) -> Diagnostic {
        if case .eof = t.kind {
            return Diagnostic("unexpected end of input, expected \(what)", file: file, range: t.range, incomplete: true)
        }
        return error("expected \(what), found \(describe(t))", t.range)
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of input"
        case .newline: return "end of line"
        case .word(let w): return "'\(w)'"
        case .variable(let v): return "'$\(v)'"
        case .flag(let n, _): return "flag '\(n)'"
        case .int, .double, .duration: return "number '\(file.slice(t.range))'"
        case .string: return "string"
        case .punct(let p): return "'\(p)'"
        }
    }

    mutating func expectPunct(_ p: String, _ what: String? = nil, mode: LexMode = .expression) throws(Diagnostic) -> Token {
        let t = try peek(mode)
        guard t.isPunct(p) else { throw unexpected(t, expecting: what ?? "'\(p)'") }
        advance(t)
        return t
    }

    mutating func skipNewlines() throws(Diagnostic) {
        while true {
            let t = try peek()
            if case .newline = t.kind { advance(t) } else { return }
        }
    }

    mutating func enter(_ r: SourceRange) throws(Diagnostic) {
        depth += 1
        if depth > Parser.maxDepth {
            throw error("nesting too deep", r, hint: "split the expression with let bindings (brackets nest up to about 100 deep)")
        }
    }

    /// Every `chainLinksPerLevel` links of one operator or postfix chain (`1 + 1 + …`, `$x.a.a…`) count
    /// as one level of nesting: a chain builds a tree as deep as it is long, and what walks that tree
    /// (resolving, running) recurses, so generated code cannot overflow the stack.
    static let chainLinksPerLevel = 50

    mutating func chainLink(_ links: inout Int, _ r: SourceRange) throws(Diagnostic) {
        links += 1
        guard links % Parser.chainLinksPerLevel == 0 else { return }
        depth += 1
        if depth > Parser.maxDepth {
            throw error("expression too long or too deeply nested", r, hint: "split it with let bindings")
        }
    }

    // MARK: statements

    mutating func parseProgram() throws(Diagnostic) -> [Stmt] {
        var out: [Stmt] = []
        while true {
            try skipNewlines()
            let t = try peek()
            if case .eof = t.kind { return out }
            out.append(try parseStatement())
            try endOfStatement()
        }
    }

    mutating func endOfStatement() throws(Diagnostic) {
        let t = try peek()
        switch t.kind {
        case .newline: advance(t)
        case .eof: return
        case .punct("}"): return
        default:
            throw error("expected end of statement, found \(describe(t))", t.range,
                        hint: t.isPunct("+") || t.isPunct("==") ? "operators in command arguments need parentheses: ( … )" : nil)
        }
    }

    mutating func parseBody() throws(Diagnostic) -> [Stmt] {
        let open = try expectPunct("{", "'{' to start a block")
        try enter(open.range)
        defer { depth -= 1 }
        var out: [Stmt] = []
        while true {
            try skipNewlines()
            let t = try peek()
            if t.isPunct("}") { advance(t); return out }
            if case .eof = t.kind { throw Diagnostic("unexpected end of input, expected '}'", file: file, range: open.range, incomplete: true) }
            out.append(try parseStatement())
            try endOfStatement()
        }
    }

    mutating func parseStatement() throws(Diagnostic) -> Stmt {
        let t = try peek(.command)
        guard case .word(let w) = t.kind else { return .pipeline(try parsePipeline()) }
        let start = t.range
        switch w {
        case "let":
            advance(t)
            let (name, nr) = try identifier("a variable name after 'let'")
            _ = try expectPunct("=", "'=' after 'let \(name)'")
            let p = try parsePipelineAfterNewlines()
            return .let(name, nr, p, start.to(p.range))
        case "if": advance(t); return try parseIf(start)
        case "for":
            advance(t)
            let (name, nr, second, e) = try parseForHead("'for'")
            let body = try parseBody()
            return .for(name, nr, second, e, body, start.to(SourceRange(pos, pos)))
        case "while":
            advance(t)
            let e = try parseExpr()
            let body = try parseBody()
            return .while(e, body, start.to(SourceRange(pos, pos)))
        case "fn": advance(t); return .fn(try parseFn(start))
        case "return":
            advance(t)
            let n = try peek()
            switch n.kind {
            case .newline, .eof, .punct("}"): return .return(nil, start)
            default:
                let p = try parsePipeline()
                return .return(p, start.to(p.range))
            }
        case "break": advance(t); return .break(start)
        case "continue": advance(t); return .continue(start)
        case "try":
            advance(t)
            let body = try parseBody()
            try skipNewlinesBefore("catch")
            let c = try peek()
            guard c.isWord("catch") else { throw unexpected(c, expecting: "'catch' after the try block") }
            advance(c)
            var name: String?
            var nr = c.range
            if case .word = try peek().kind { (name, nr) = try identifier("a name for the error") }
            let handler = try parseBody()
            return .try(body, name, nr, handler, start.to(SourceRange(pos, pos)))
        case "fail":
            advance(t)
            let p = try parsePipeline()
            return .fail(p, start.to(p.range))
        case "use":
            advance(t)
            let n = try peek(.command)
            var name: String
            var isPath = false
            switch n.kind {
            case .word(let m): name = m
            case .string(let parts, _):
                guard parts.count <= 1, case .text(let s)? = parts.first ?? .text("") else {
                    throw error("a module path cannot be interpolated", n.range)
                }
                name = s; isPath = true
            default: throw unexpected(n, expecting: "a module name or \"path.sgk\" after 'use'")
            }
            advance(n)
            var alias: String?
            if try peek().isWord("as") {
                advance(try peek())
                alias = try identifier("a name after 'as'").0
            }
            if isPath && alias == nil {
                alias = NSStringLike(name).lastComponentWithoutExtension
            }
            return .use(name, isPath: isPath, alias: alias, start.to(n.range))
        case "param":
            advance(t)
            let (name, nr) = try identifier("a parameter name after 'param'")
            var type: String?
            if try peek().isPunct(":") {
                advance(try peek())
                let tt = try peek()
                guard case .word(let ty) = tt.kind else { throw unexpected(tt, expecting: "a type (string, int, double, bool, duration, list, map, any)") }
                guard ["string", "int", "double", "bool", "duration", "list", "map", "any"].contains(ty) else {
                    throw error("unknown type '\(ty)'", tt.range, hint: "types: string, int, double, bool, duration, list, map, any")
                }
                advance(tt)
                type = ty
            }
            var def: Pipeline?
            if try peek().isPunct("=") {
                advance(try peek())
                def = try parsePipeline()
            }
            return .param(name, nr, type, def, start.to(SourceRange(pos, pos)))
        default:
            // `name = value` re-assigns.
            if isIdentifier(w) {
                let saved = pos
                advance(t)
                // A pasted shell line (`echo $(date)`) may not lex as sgk: its own reader says why.
                let n = try ShellLine.starts(w, nil) ? ((try? peek()) ?? t) : peek()
                if n.isPunct("=") {
                    advance(n)
                    let p = try parsePipelineAfterNewlines()
                    return .assign(w, t.range, p, start.to(p.range))
                }
                pos = saved
            }
            shellPrints = true
            return .pipeline(try parsePipeline())
        }
    }

    mutating func skipNewlinesBefore(_ word: String) throws(Diagnostic) {
        let saved = pos
        try skipNewlines()
        if !(try peek().isWord(word)) { pos = saved }
    }

    func isIdentifier(_ w: String) -> Bool {
        guard let f = w.utf8.first, Lexer.isIdentStart(f) else { return false }
        return w.utf8.allSatisfy { Lexer.isIdentChar($0) }
    }

    mutating func identifier(_ what: String) throws(Diagnostic) -> (String, SourceRange) {
        let t = try peek()
        guard case .word(let w) = t.kind, isIdentifier(w) else { throw unexpected(t, expecting: what) }
        if Parser.statementKeywords.contains(w) || ["true", "false", "null", "and", "or", "not", "in"].contains(w) {
            throw error("'\(w)' is a keyword and cannot be used as a name", t.range)
        }
        advance(t)
        return (w, t.range)
    }

    mutating func parseIf(_ start: SourceRange) throws(Diagnostic) -> Stmt {
        var arms: [(Expr, [Stmt])] = []
        var elseBody: [Stmt]?
        let c = try parseExpr()
        arms.append((c, try parseBody()))
        while true {
            try skipNewlinesBefore("else")
            let t = try peek()
            guard t.isWord("else") else { break }
            advance(t)
            let n = try peek()
            if n.isWord("if") {
                advance(n)
                let c2 = try parseExpr()
                arms.append((c2, try parseBody()))
            } else {
                elseBody = try parseBody()
                break
            }
        }
        return .if(arms, elseBody, start.to(SourceRange(pos, pos)))
    }

    mutating func parseFn(_ start: SourceRange) throws(Diagnostic) -> FunctionDecl {
        let nt = try peek(.command)
        guard case .word(let name) = nt.kind, name.utf8.first.map(Lexer.isIdentStart) == true else {
            throw unexpected(nt, expecting: "a function name after 'fn'")
        }
        advance(nt)
        _ = try expectPunct("(", "'(' after the function name")
        var params: [Parameter] = []
        var seenKeyword = false
        while true {
            try skipNewlines()
            let t = try peek()
            if t.isPunct(")") { advance(t); break }
            let (pname, pr) = try identifier("a parameter name")
            if params.contains(where: { $0.name == pname }) { throw error("duplicate parameter '\(pname)'", pr) }
            if try peek().isPunct(":") {
                advance(try peek())
                seenKeyword = true
                let n = try peek()
                if n.isPunct(",") || n.isPunct(")") {
                    params.append(Parameter(name: pname, range: pr, keywordOnly: true, defaultValue: nil))
                } else {
                    params.append(Parameter(name: pname, range: pr, keywordOnly: true, defaultValue: try parseExpr()))
                }
            } else {
                if seenKeyword { throw error("positional parameter '\(pname)' after keyword parameters", pr, hint: "list positional parameters first: fn f(a, b, kw: 1)") }
                params.append(Parameter(name: pname, range: pr, keywordOnly: false, defaultValue: nil))
            }
            try skipNewlines()
            let sep = try peek()
            if sep.isPunct(",") { advance(sep); continue }
            if sep.isPunct(")") { advance(sep); break }
            throw unexpected(sep, expecting: "',' or ')' in the parameter list")
        }
        let body = try parseBody()
        return FunctionDecl(name: name, nameRange: nt.range, params: params, body: body, range: start.to(SourceRange(pos, pos)), doc: nil)
    }

    // MARK: pipelines and commands

    mutating func parsePipelineAfterNewlines() throws(Diagnostic) -> Pipeline {
        try skipNewlines()
        return try parsePipeline()
    }

    mutating func parsePipeline() throws(Diagnostic) -> Pipeline {
        var stages: [Stage] = []
        let first = try parseStage(first: true)
        stages.append(first)
        while true {
            // `|` at the end of a line or at the start of the next one continues the pipeline.
            let saved = pos
            try skipNewlines()
            let t = try peek()
            guard t.isPunct("|") else { pos = saved; break }
            advance(t)
            try skipNewlines()
            stages.append(try parseStage(first: false))
        }
        let r = stages[0].range.to(stages[stages.count - 1].range)
        return Pipeline(stages: stages, range: r)
    }

    mutating func parseStage(first: Bool) throws(Diagnostic) -> Stage {
        let t = try peek(.command)
        let prints = shellPrints
        shellPrints = false
        if first, t.isWord("parallel"), (try lexer.lex(at: t.range.end, mode: .expression)).isWord("for") {
            return .expr(.parallel(try parseParallelFor(t)))
        }
        if first, case .word(let w) = t.kind, try isShellLine(w, after: t) {
            // A line pasted from the docs: read with the shell's rules to the end of the line.
            let (segments, lineEnd) = try ShellLine.lex(file.bytes, from: t.range.start, end: end, file: file)
            pos = lineEnd
            let r = SourceRange(t.range.start, max(t.range.end, segmentsEnd(segments)))
            return .command(ShellLine.call(segments, range: r, prints: prints))
        }
        if case .word(let w) = t.kind, !["true", "false", "null", "not"].contains(w) {
            if Parser.statementKeywords.contains(w) && w != "fail" {
                throw error("'\(w)' cannot start a command", t.range, hint: w == "let" ? "a let binding is a statement of its own" : nil)
            }
            return .command(try parseCommand())
        }
        if !first {
            throw unexpected(t, expecting: "a command after '|'")
        }
        return .expr(try parseExpr())
    }

    /// `x[, y] in EXPR` after `for` (or `parallel for`): the loop variables and the iterated expression.
    mutating func parseForHead(_ loop: String) throws(Diagnostic) -> (String, SourceRange, String?, Expr) {
        let (name, nr) = try identifier("a loop variable after \(loop)")
        var second: String?
        if try peek().isPunct(",") {
            advance(try peek())
            second = try identifier("a second loop variable").0
        }
        let inTok = try peek()
        guard inTok.isWord("in") else { throw unexpected(inTok, expecting: "'in'") }
        advance(inTok)
        return (name, nr, second, try parseExpr())
    }

    /// `parallel for x[, y] in EXPR [limit: N] [keep-going: B] { … }` (at `parallel`).
    mutating func parseParallelFor(_ start: Token) throws(Diagnostic) -> ParallelFor {
        advance(start)
        let forTok = try peek()
        advance(forTok)
        let (name, nr, second, e) = try parseForHead("'parallel for'")
        var limit: Expr?
        var keepGoing: Expr?
        var prefix: Expr?
        while true {
            let k = try peek(.command)
            guard case .word(let w) = k.kind else { break }
            let colon = try lexer.lex(at: k.range.end, mode: .expression)
            guard colon.isPunct(":"), colon.range.start == k.range.end else {
                throw unexpected(k, expecting: "'limit:', 'keep-going:', 'prefix:' or '{' after the list of 'parallel for'")
            }
            let canonical = w.replacingAll("_", with: "-")
            guard canonical == "limit" || canonical == "keep-going" || canonical == "prefix" else {
                throw error("unknown option '\(w):' for 'parallel for'", k.range.to(colon.range), hint: "its options: limit: N, keep-going: true, prefix: true")
            }
            if (canonical == "limit" ? limit : canonical == "prefix" ? prefix : keepGoing) != nil { throw error("'\(w):' given twice", k.range.to(colon.range)) }
            advance(colon)
            let v = try parseExpr()
            switch canonical {
            case "limit": limit = v
            case "prefix": prefix = v
            default: keepGoing = v
            }
        }
        let body = try parseBody()
        return ParallelFor(name: name, nameRange: nr, second: second, iterable: e, limit: limit, keepGoing: keepGoing, prefix: prefix, body: body,
                           headRange: start.range.to(forTok.range), range: start.range.to(SourceRange(pos, pos)))
    }

    func segmentsEnd(_ segments: [[(parts: [ShellLine.Part], range: SourceRange)]]) -> Int {
        segments.last?.last?.range.end ?? 0
    }

    /// A statement that starts with `export`, `NAME=value` or a registered head (`aws iam …`).
    func isShellLine(_ w: String, after t: Token) throws(Diagnostic) -> Bool {
        if w == "export" || ShellLine.isAssignment(w) { return ShellLine.starts(w, nil) }
        guard ShellLine.head(w) != nil else { return false }
        let next = (try? lexer.lex(at: t.range.end, mode: .command))?.word
        return ShellLine.starts(w, next)
    }

    mutating func parseCommand() throws(Diagnostic) -> CommandCall {
        var items: [CommandItem] = []
        let start = pos
        try enter(SourceRange(pos, pos))
        defer { depth -= 1 }
        while true {
            let t = try peek(.command)
            switch t.kind {
            case .eof, .newline: return CommandCall(items: items, range: rangeOf(items, start))
            case .punct(let p) where p == "|" || p == ")" || p == "]" || p == "}" || p == ",":
                return CommandCall(items: items, range: rangeOf(items, start))
            case .flag(let name, let value):
                advance(t)
                items.append(.flag(name, value, t.range))
            case .word(let w):
                // `key:` (no space before the colon) is a keyword argument.
                let after = try lexer.lex(at: t.range.end, mode: .expression)
                if after.isPunct(":") && after.range.start == t.range.end {
                    advance(after)
                    let v = try peek(.command)
                    switch v.kind {
                    case .eof, .newline: throw unexpected(v, expecting: "a value for '\(w):'")
                    default: break
                    }
                    let e = try parseArgument()
                    items.append(.keyword(w, t.range.to(after.range), e))
                } else if w == "true" || w == "false" || w == "null" {
                    // Literals, as they are in keyword values: `f $x false`.
                    items.append(.argument(try parseArgument()))
                } else {
                    advance(t)
                    items.append(.word(w, t.range))
                }
            default:
                items.append(.argument(try parseArgument()))
            }
        }
    }

    func rangeOf(_ items: [CommandItem], _ start: Int) -> SourceRange {
        guard let f = items.first, let l = items.last else { return SourceRange(start, start) }
        return f.range.to(l.range)
    }

    /// One argument of a command: an atom, optionally continued by a binary operator
    /// (`print "a" + $b`).
    mutating func parseArgument() throws(Diagnostic) -> Expr {
        let atom = try parseAtom(mode: .command)
        let n = try peek(.command)
        if case .punct(let p) = n.kind, Parser.binaryPrecedence[p] != nil, n.spaceBefore {
            return try parseBinary(minPrec: 0, left: atom)
        }
        if case .word(let w) = n.kind, w == "and" || w == "or" {
            return try parseBinary(minPrec: 0, left: atom)
        }
        return atom
    }

    // MARK: expressions

    static let binaryPrecedence: [String: Int] = [
        "or": 1, "and": 2,
        "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "=~": 4, "in": 4, "not in": 4,
        "..": 5, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7,
    ]

    public mutating func parseExpr() throws(Diagnostic) -> Expr {
        try enter(SourceRange(pos, pos))
        defer { depth -= 1 }
        let left = try parseUnary()
        return try parseBinary(minPrec: 0, left: left)
    }

    mutating func binaryOperator() throws(Diagnostic) -> (String, Token, Int)? {
        let t = try peek()
        switch t.kind {
        case .punct(let p):
            if let prec = Parser.binaryPrecedence[p] { return (p, t, prec) }
        case .word(let w):
            if w == "and" || w == "or" || w == "in", let prec = Parser.binaryPrecedence[w] { return (w, t, prec) }
            if w == "not" {
                let n = try lexer.lex(at: t.range.end, mode: .expression)
                if n.isWord("in") { return ("not in", Token(kind: .word("not in"), range: t.range.to(n.range), spaceBefore: true), 4) }
            }
        default: break
        }
        return nil
    }

    mutating func parseBinary(minPrec: Int, left: Expr) throws(Diagnostic) -> Expr {
        var left = left
        let entryDepth = depth
        defer { depth = entryDepth }
        var links = 0
        while let (op, tok, prec) = try binaryOperator(), prec > minPrec {
            try chainLink(&links, tok.range)
            advance(tok)
            try skipNewlines()
            var right = try parseUnary()
            while let (_, _, p2) = try binaryOperator(), p2 > prec {
                right = try parseBinary(minPrec: prec, left: right)
            }
            guard let bop = BinaryOp(rawValue: op) else { throw error("unknown operator '\(op)'", tok.range) }
            if prec == 4, case .binary(let lop, _, _, _) = left, Parser.binaryPrecedence[lop.rawValue] == 4 {
                throw error("comparisons cannot be chained", tok.range, hint: "use 'and': ($a < $b and $b < $c)")
            }
            left = .binary(bop, left, right, left.range.to(right.range))
        }
        return left
    }

    mutating func parseUnary() throws(Diagnostic) -> Expr {
        let t = try peek()
        if t.isPunct("-") {
            advance(t)
            try enter(t.range)
            defer { depth -= 1 }
            let e = try parseUnary()
            switch e {
            case .int(let v, let r): return .int(-v, t.range.to(r))
            case .double(let v, let r): return .double(-v, t.range.to(r))
            default: return .unary(.neg, e, t.range.to(e.range))
            }
        }
        if t.isWord("not") {
            advance(t)
            try enter(t.range)
            defer { depth -= 1 }
            let e = try parseBinary(minPrec: 3, left: try parseUnary())
            return .unary(.not, e, t.range.to(e.range))
        }
        if t.isPunct("!") {
            throw error("'!' is not an operator in sgk", t.range, hint: "write 'not'")
        }
        return try parseAtom(mode: .expression)
    }

    mutating func parseAtom(mode: LexMode) throws(Diagnostic) -> Expr {
        let t = try peek(mode)
        var e: Expr
        switch t.kind {
        case .int(let v): advance(t); e = .int(v, t.range)
        case .double(let v): advance(t); e = .double(v, t.range)
        case .duration(let v): advance(t); e = .duration(v, t.range)
        case .string(let parts, _):
            advance(t)
            e = .string(try interpolate(parts), t.range)
        case .variable(let v): advance(t); e = .variable(v, t.range)
        case .word(let w):
            switch w {
            case "true": advance(t); e = .bool(true, t.range)
            case "false": advance(t); e = .bool(false, t.range)
            case "null": advance(t); e = .null(t.range)
            default:
                if mode == .command { advance(t); return .word(w, t.range) }
                throw error("unexpected word '\(w)' in an expression", t.range,
                            hint: "quote text (\"\(w)\"), write variables as $\(w), and wrap commands in parentheses: (\(w) …)")
            }
        case .flag(let name, _):
            throw error("unexpected flag '\(name)'", t.range)
        case .punct("("):
            advance(t)
            try enter(t.range)
            defer { depth -= 1 }
            try skipNewlines()
            let p = try parsePipeline()
            try skipNewlines()
            let close = try expectPunct(")", "')'")
            e = .pipeline(Pipeline(stages: p.stages, range: t.range.to(close.range)))
        case .punct("["):
            advance(t)
            try enter(t.range)
            defer { depth -= 1 }
            var items: [Expr] = []
            while true {
                try skipNewlines()
                let n = try peek()
                if n.isPunct("]") { advance(n); e = .list(items, t.range.to(n.range)); break }
                items.append(try parseExpr())
                try skipNewlines()
                let sep = try peek()
                if sep.isPunct(",") { advance(sep); continue }
                if sep.isPunct("]") { advance(sep); e = .list(items, t.range.to(sep.range)); break }
                throw unexpected(sep, expecting: "',' or ']' in the list")
            }
        case .punct("{"):
            e = try parseBraces(t)
        case .punct(let p):
            throw unexpected(t, expecting: p == ")" || p == "]" || p == "}" ? "a value" : "a value")
        case .eof, .newline:
            throw unexpected(t, expecting: "a value")
        }
        return try parsePostfix(e)
    }

    /// `{` starts a map literal when it is empty or begins with `key:`; otherwise a block.
    mutating func parseBraces(_ open: Token) throws(Diagnostic) -> Expr {
        let saved = pos
        advance(open)
        try skipNewlines()
        let first = try peek()
        var isMap = first.isPunct("}")
        if !isMap {
            if case .word = first.kind {
                let after = try lexer.lex(at: first.range.end, mode: .expression)
                isMap = after.isPunct(":")
            } else if case .string = first.kind {
                let after = try lexer.lex(at: first.range.end, mode: .expression)
                isMap = after.isPunct(":")
            }
        }
        if !isMap {
            pos = saved
            let body = try parseBody()
            return .block(Block(body: body, range: open.range.to(SourceRange(pos, pos))))
        }
        try enter(open.range)
        defer { depth -= 1 }
        var entries: [MapEntry] = []
        while true {
            try skipNewlines()
            let k = try peek()
            if k.isPunct("}") { advance(k); return .map(entries, open.range.to(k.range)) }
            var key: String
            var keyExpr: Expr?
            switch k.kind {
            case .word(let w): key = w
            case .string(let parts, _):
                if parts.count <= 1, case .text(let s)? = parts.first ?? .text("") {
                    key = s
                } else {
                    key = file.slice(k.range)
                    keyExpr = .string(try interpolate(parts), k.range)
                }
            default: throw unexpected(k, expecting: "a key in the map")
            }
            advance(k)
            _ = try expectPunct(":", "':' after the key '\(key)'")
            try skipNewlines()
            let v = try parseExpr()
            entries.append(MapEntry(key: key, keyRange: k.range, value: v, keyExpr: keyExpr))
            try skipNewlines()
            let sep = try peek()
            if sep.isPunct(",") { advance(sep); continue }
            if sep.isPunct("}") { advance(sep); return .map(entries, open.range.to(sep.range)) }
            throw unexpected(sep, expecting: "',' or '}' in the map")
        }
    }

    mutating func parsePostfix(_ base: Expr) throws(Diagnostic) -> Expr {
        var e = base
        let entryDepth = depth
        defer { depth = entryDepth }
        var links = 0
        while true {
            // Member access and indexing must touch the value: `$a.b[0]`.
            let t = try peek()
            if t.spaceBefore { return e }
            if t.isPunct(".") || t.isPunct("[") { try chainLink(&links, t.range) }
            if t.isPunct(".") {
                let n = try lexer.lex(at: t.range.end, mode: .expression)
                guard !n.spaceBefore else { return e }
                switch n.kind {
                case .word(let w):
                    advance(n)
                    e = .member(e, w, e.range.to(n.range))
                case .int(let i):
                    advance(n)
                    e = .index(e, .int(i, n.range), e.range.to(n.range))
                case .string(let parts, _):
                    guard parts.count <= 1, case .text(let s)? = parts.first ?? .text("") else { throw error("a key after '.' cannot be interpolated", n.range) }
                    advance(n)
                    e = .member(e, s, e.range.to(n.range))
                default:
                    throw unexpected(n, expecting: "a key after '.'")
                }
            } else if t.isPunct("[") {
                advance(t)
                try enter(t.range)
                defer { depth -= 1 }
                let i = try parseExpr()
                let close = try expectPunct("]", "']'")
                e = .index(e, i, e.range.to(close.range))
            } else {
                return e
            }
        }
    }

    mutating func interpolate(_ parts: [StringPart]) throws(Diagnostic) -> [InterpolationPart] {
        var out: [InterpolationPart] = []
        for p in parts {
            switch p {
            case .text(let s): out.append(.text(s))
            case .interpolation(let r):
                var sub = Parser(file: file, range: r)
                sub.depth = depth + 1
                // `${name}` reads the variable `name` (as `${$name}` does).
                let first = try sub.peek()
                var e: Expr
                if case .word(let w) = first.kind, isIdentifier(w), !["true", "false", "null", "not"].contains(w) {
                    sub.advance(first)
                    e = try sub.parsePostfix(.variable(w, first.range))
                    e = try sub.parseBinary(minPrec: 0, left: e)
                } else {
                    let pl = try sub.parsePipeline()
                    e = pl.stages.count == 1 ? (pl.stages[0].isExpr ?? .pipeline(pl)) : .pipeline(pl)
                }
                let rest = try sub.peek()
                if case .eof = rest.kind {} else { throw error("unexpected \(describe(rest)) in '${…}'", rest.range) }
                out.append(.expr(e))
            }
        }
        return out
    }
}

extension Stage {
    var isExpr: Expr? { if case .expr(let e) = self { return e }; return nil }
}

/// Minimal path helpers without Foundation.
struct NSStringLike {
    let s: String
    init(_ s: String) { self.s = s }
    var lastComponentWithoutExtension: String {
        let last = s.split(separator: "/").last.map(String.init) ?? s
        if let dot = last.lastIndex(of: "."), dot != last.startIndex { return String(last[..<dot]) }
        return last
    }
}


/// The last token lexed, so repeated peeks at one position lex once.
final class TokenCache {
    var pos = [-1, -1]
    var token: [Token?] = [nil, nil]
}
