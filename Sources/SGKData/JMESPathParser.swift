/// JMESPath's lexer and Pratt parser (top-down operator precedence), after the
/// specification's grammar and the binding powers of the reference implementation.

enum JMESTokenKind: Equatable, Sendable {
    case identifier(String)
    case quotedIdentifier(String)
    case number(Int)
    case literal(JSON)
    case dot, star, comma, colon, current, expref
    case lbracket, rbracket, flatten, filter
    case lparen, rparen, lbrace, rbrace
    case pipe, or, and, not
    case eq, ne, lt, le, gt, ge
    case eof

    /// How the token reads in an error message.
    var described: String {
        switch self {
        case .identifier(let s): return "identifier '\(s)'"
        case .quotedIdentifier(let s): return "quoted identifier \(JSONCodec.serialize(.string(s)))"
        case .number(let n): return "number \(n)"
        case .literal(let j): return "literal `\(JSONCodec.serialize(j))`"
        case .dot: return "'.'"
        case .star: return "'*'"
        case .comma: return "','"
        case .colon: return "':'"
        case .current: return "'@'"
        case .expref: return "'&'"
        case .lbracket: return "'['"
        case .rbracket: return "']'"
        case .flatten: return "'[]'"
        case .filter: return "'[?'"
        case .lparen: return "'('"
        case .rparen: return "')'"
        case .lbrace: return "'{'"
        case .rbrace: return "'}'"
        case .pipe: return "'|'"
        case .or: return "'||'"
        case .and: return "'&&'"
        case .not: return "'!'"
        case .eq: return "'=='"
        case .ne: return "'!='"
        case .lt: return "'<'"
        case .le: return "'<='"
        case .gt: return "'>'"
        case .ge: return "'>='"
        case .eof: return "the end of the expression"
        }
    }

    /// Left binding power: how tightly the token binds to the expression on its left.
    var bindingPower: Int {
        switch self {
        case .pipe: return 1
        case .or: return 2
        case .and: return 3
        case .eq, .ne, .lt, .le, .gt, .ge: return 5
        case .flatten: return 9
        case .star: return 20
        case .filter: return 21
        case .dot: return 40
        case .not: return 45
        case .lbrace: return 50
        case .lbracket: return 55
        case .lparen: return 60
        default: return 0
        }
    }
}

struct JMESToken: Sendable {
    var kind: JMESTokenKind
    /// 0-based offset in Unicode scalars.
    var offset: Int
}

enum JMESLexer {
    static func tokenize(_ text: String) throws(JMESPathError) -> [JMESToken] {
        let s = Array(text.unicodeScalars)
        var tokens: [JMESToken] = []
        var i = 0
        func fail(_ message: String, at offset: Int) -> JMESPathError {
            JMESPathError(.syntax, message, expression: text, column: offset + 1)
        }
        func isIdentStart(_ c: Unicode.Scalar) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
        }
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        /// Reads from the opening `delimiter` at `i` to its closing one; a backslash keeps
        /// the next character as it is (the caller decides what the escape means).
        func consumeUntil(_ delimiter: Unicode.Scalar, what: String) throws(JMESPathError) -> String {
            let start = i
            var buffer = String.UnicodeScalarView()
            i += 1
            while true {
                guard i < s.count else { throw fail("\(what) opened here is never closed (no closing \(delimiter))", at: start) }
                let c = s[i]
                if c == delimiter { break }
                if c == "\\" {
                    buffer.append(c)
                    i += 1
                    guard i < s.count else { throw fail("\(what) opened here is never closed (no closing \(delimiter))", at: start) }
                }
                buffer.append(s[i])
                i += 1
            }
            i += 1
            return String(buffer)
        }

        while i < s.count {
            let c = s[i]
            let start = i
            func add(_ k: JMESTokenKind, length: Int = 1) {
                tokens.append(JMESToken(kind: k, offset: start))
                i += length
            }
            switch c {
            case " ", "\t", "\n", "\r":
                i += 1
            case ".": add(.dot)
            case "*": add(.star)
            case "]": add(.rbracket)
            case ",": add(.comma)
            case ":": add(.colon)
            case "@": add(.current)
            case "(": add(.lparen)
            case ")": add(.rparen)
            case "{": add(.lbrace)
            case "}": add(.rbrace)
            case "[":
                let next = i + 1 < s.count ? s[i + 1] : " "
                if next == "]" { add(.flatten, length: 2) } else if next == "?" { add(.filter, length: 2) } else { add(.lbracket) }
            case "|":
                if i + 1 < s.count, s[i + 1] == "|" { add(.or, length: 2) } else { add(.pipe) }
            case "&":
                if i + 1 < s.count, s[i + 1] == "&" { add(.and, length: 2) } else { add(.expref) }
            case "<":
                if i + 1 < s.count, s[i + 1] == "=" { add(.le, length: 2) } else { add(.lt) }
            case ">":
                if i + 1 < s.count, s[i + 1] == "=" { add(.ge, length: 2) } else { add(.gt) }
            case "!":
                if i + 1 < s.count, s[i + 1] == "=" { add(.ne, length: 2) } else { add(.not) }
            case "=":
                guard i + 1 < s.count, s[i + 1] == "=" else { throw fail("'=' is not an operator (equality is '==')", at: start) }
                add(.eq, length: 2)
            case "'":
                let raw = try consumeUntil("'", what: "the raw string")
                tokens.append(JMESToken(kind: .literal(.string(raw.replacingAll("\\'", with: "'"))), offset: start))
            case "`":
                let raw = try consumeUntil("`", what: "the literal")
                let text = raw.replacingAll("\\`", with: "`")
                let parsed: Result<JSON, DataParseError> = Result { () throws(DataParseError) -> JSON in try JSONCodec.parse(text) }
                switch parsed {
                case .success(let value):
                    tokens.append(JMESToken(kind: .literal(value), offset: start))
                case .failure(let jsonError):
                    // Not JSON: the text itself as a string, as the aws CLI's jmespath reads
                    // `running` in [?State==`running`] (the spec's deprecated form, still common).
                    let trimmed = String(text.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
                    guard case .string(let s)? = try? JSONCodec.parse("\"" + trimmed + "\"") else {
                        throw fail("the literal `\(raw)` is neither JSON nor a plain string (\(jsonError.message))", at: start)
                    }
                    tokens.append(JMESToken(kind: .literal(.string(s)), offset: start))
                }
            case "\"":
                let raw = try consumeUntil("\"", what: "the quoted identifier")
                let value: JSON
                do {
                    value = try JSONCodec.parse("\"" + raw + "\"")
                } catch {
                    throw fail("the quoted identifier \"\(raw)\" is not a valid JSON string (\(error.message))", at: start)
                }
                guard case .string(let name) = value else {
                    throw fail("the quoted identifier \"\(raw)\" is not a valid JSON string", at: start)
                }
                tokens.append(JMESToken(kind: .quotedIdentifier(name), offset: start))
            case "-", "0"..."9":
                var j = i + (c == "-" ? 1 : 0)
                guard j < s.count, isDigit(s[j]) else { throw fail("'-' must be followed by digits (a negative number)", at: start) }
                var n = 0
                var overflow = false
                while j < s.count, isDigit(s[j]) {
                    let d = Int(s[j].value - 48)
                    let (m, o1) = n.multipliedReportingOverflow(by: 10)
                    let (r, o2) = m.addingReportingOverflow(c == "-" ? -d : d)
                    if o1 || o2 { overflow = true } else { n = r }
                    j += 1
                }
                if overflow { throw fail("the number \(String(String.UnicodeScalarView(s[start..<j]))) is too large", at: start) }
                tokens.append(JMESToken(kind: .number(n), offset: start))
                i = j
            default:
                if isIdentStart(c) {
                    var j = i + 1
                    while j < s.count, isIdentStart(s[j]) || isDigit(s[j]) { j += 1 }
                    tokens.append(JMESToken(kind: .identifier(String(String.UnicodeScalarView(s[i..<j]))), offset: start))
                    i = j
                } else {
                    throw fail("unexpected character '\(c)'", at: start)
                }
            }
        }
        tokens.append(JMESToken(kind: .eof, offset: s.count))
        return tokens
    }
}

struct JMESParser {
    /// A parsed node and the depth of its tree, known as it is built so that no tree deeper
    /// than `JMESPath.maxDepth` is ever made (evaluating, or even freeing, a deeper one
    /// would recurse that deep).
    typealias Built = (node: JMESNode, depth: Int)

    private let text: String
    private let tokens: [JMESToken]
    private var position = 0
    private var recursion = 0

    /// Tokens after a projection that end it (binding power below this): the rest applies
    /// to the projection's result, not to each element.
    private static let projectionStop = 10

    static func parse(_ text: String) throws(JMESPathError) -> JMESNode {
        var p = JMESParser(text: text, tokens: try JMESLexer.tokenize(text))
        let built = try p.expression(0)
        guard case .eof = p.current.kind else {
            throw p.fail("unexpected \(p.current.kind.described) after a complete expression", at: p.current)
        }
        return built.node
    }

    private init(text: String, tokens: [JMESToken]) {
        self.text = text
        self.tokens = tokens
    }

    private var current: JMESToken { tokens[position] }

    private func lookahead(_ n: Int) -> JMESToken { tokens[min(position + n, tokens.count - 1)] }

    private mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    private func fail(_ message: String, at token: JMESToken) -> JMESPathError {
        JMESPathError(.syntax, message, expression: text, column: token.offset + 1)
    }

    private func tooDeep() -> JMESPathError {
        fail("the expression is nested too deeply (more than \(JMESPath.maxDepth) levels)", at: current)
    }

    /// `node` over `parts`, one level deeper than the deepest of them.
    private func make(_ node: JMESNode, _ parts: [Built]) throws(JMESPathError) -> Built {
        let d = (parts.map(\.depth).max() ?? 0) + 1
        if d > JMESPath.maxDepth { throw tooDeep() }
        return (node, d)
    }

    private func leaf(_ node: JMESNode) -> Built { (node, 1) }

    private mutating func match(_ kind: JMESTokenKind, _ context: String) throws(JMESPathError) {
        guard current.kind == kind else {
            throw fail("expected \(kind.described) \(context), found \(current.kind.described)", at: current)
        }
        advance()
    }

    private mutating func expression(_ bindingPower: Int) throws(JMESPathError) -> Built {
        recursion += 1
        defer { recursion -= 1 }
        if recursion > JMESPath.maxDepth { throw tooDeep() }
        let token = current
        advance()
        var left = try nud(token)
        while bindingPower < current.kind.bindingPower {
            let token = current
            advance()
            left = try led(token, left)
        }
        return left
    }

    // MARK: Null denotation: a token that starts an expression

    private mutating func nud(_ token: JMESToken) throws(JMESPathError) -> Built {
        switch token.kind {
        case .literal(let j):
            return leaf(.literal(j))
        case .identifier(let name):
            return leaf(.field(name))
        case .quotedIdentifier(let name):
            if case .lparen = current.kind {
                throw fail("a function name cannot be quoted (write \(name)(…))", at: token)
            }
            return leaf(.field(name))
        case .star:
            let rhs = try projectionRHS(JMESTokenKind.star.bindingPower)
            return try make(.valueProjection(.identity, rhs.node), [rhs])
        case .filter:
            return try filter(leaf(.identity))
        case .lbrace:
            return try multiSelectHash()
        case .lparen:
            let e = try expression(0)
            try match(.rparen, "to close the '(' at column \(token.offset + 1)")
            return e
        case .flatten:
            let rhs = try projectionRHS(JMESTokenKind.flatten.bindingPower)
            return try make(.projection(.flatten(.identity), rhs.node), [leaf(.identity), rhs])
        case .not:
            let e = try expression(JMESTokenKind.not.bindingPower)
            return try make(.not(e.node), [e])
        case .lbracket:
            switch current.kind {
            case .number, .colon:
                return try projectIfSlice(leaf(.identity), try indexOrSlice())
            case .star where lookahead(1).kind == .rbracket:
                advance()
                advance()
                let rhs = try projectionRHS(JMESTokenKind.star.bindingPower)
                return try make(.projection(.identity, rhs.node), [rhs])
            default:
                return try multiSelectList(opening: token)
            }
        case .current:
            return leaf(.identity)
        case .expref:
            let e = try expression(0)
            return try make(.expref(e.node), [e])
        case .eof:
            throw fail("the expression is incomplete: expected a value at the end", at: token)
        default:
            throw fail("unexpected \(token.kind.described): expected an identifier, a literal, '@', '[', '{', '(', '*', '!' or '&'", at: token)
        }
    }

    // MARK: Left denotation: a token that continues the expression on its left

    private mutating func led(_ token: JMESToken, _ left: Built) throws(JMESPathError) -> Built {
        func comparator(_ op: JMESComparator, _ parser: inout JMESParser) throws(JMESPathError) -> Built {
            let r = try parser.expression(token.kind.bindingPower)
            return try parser.make(.comparator(op, left.node, r.node), [left, r])
        }
        switch token.kind {
        case .dot:
            if case .star = current.kind {
                advance()
                let rhs = try projectionRHS(JMESTokenKind.dot.bindingPower)
                return try make(.valueProjection(left.node, rhs.node), [left, rhs])
            }
            let rhs = try dotRHS(JMESTokenKind.dot.bindingPower)
            return try make(.subexpression(left.node, rhs.node), [left, rhs])
        case .pipe:
            let r = try expression(JMESTokenKind.pipe.bindingPower)
            return try make(.pipe(left.node, r.node), [left, r])
        case .or:
            let r = try expression(JMESTokenKind.or.bindingPower)
            return try make(.or(left.node, r.node), [left, r])
        case .and:
            let r = try expression(JMESTokenKind.and.bindingPower)
            return try make(.and(left.node, r.node), [left, r])
        case .eq: return try comparator(.eq, &self)
        case .ne: return try comparator(.ne, &self)
        case .lt: return try comparator(.lt, &self)
        case .le: return try comparator(.le, &self)
        case .gt: return try comparator(.gt, &self)
        case .ge: return try comparator(.ge, &self)
        case .lparen:
            return try functionCall(left, lparen: token)
        case .filter:
            return try filter(left)
        case .flatten:
            let flat = try make(.flatten(left.node), [left])
            let rhs = try projectionRHS(JMESTokenKind.flatten.bindingPower)
            return try make(.projection(flat.node, rhs.node), [flat, rhs])
        case .lbracket:
            switch current.kind {
            case .number, .colon:
                return try projectIfSlice(left, try indexOrSlice())
            case .star:
                advance()
                try match(.rbracket, "after '[*'")
                let rhs = try projectionRHS(JMESTokenKind.star.bindingPower)
                return try make(.projection(left.node, rhs.node), [left, rhs])
            default:
                throw fail("expected a number, a slice or '*' after '[', found \(current.kind.described) (a multi-select list needs a '.' before it: foo.[a, b])", at: current)
            }
        default:
            throw fail("unexpected \(token.kind.described)", at: token)
        }
    }

    private mutating func functionCall(_ left: Built, lparen: JMESToken) throws(JMESPathError) -> Built {
        guard case .field(let name) = left.node else {
            throw fail("only a function name can be called: '(' must follow a name such as length", at: lparen)
        }
        // The name's column: the identifier token just before '('.
        let before = tokens[..<max(position - 1, 0)].last
        let column = (before?.offset ?? lparen.offset) + 1
        var args: [Built] = []
        if case .rparen = current.kind {
            advance()
        } else {
            while true {
                args.append(try expression(0))
                if case .comma = current.kind {
                    advance()
                    continue
                }
                try match(.rparen, "or ',' in the arguments of \(name)()")
                break
            }
        }
        guard let function = JMESFunction(rawValue: name) else {
            var message = "no function named '\(name)'"
            if let s = JMESFunction.suggestion(for: name) { message += " (did you mean '\(s)'?)" }
            throw JMESPathError(.unknownFunction, message, expression: text, column: column)
        }
        try function.checkArity(args.count, expression: text, column: column)
        return try make(.function(function, args.map(\.node), column: column), args)
    }

    private mutating func filter(_ left: Built) throws(JMESPathError) -> Built {
        let condition = try expression(0)
        try match(.rbracket, "to close the filter '[?'")
        let right: Built
        if case .flatten = current.kind {
            right = leaf(.identity)
        } else {
            right = try projectionRHS(JMESTokenKind.filter.bindingPower)
        }
        return try make(.filterProjection(left.node, right.node, condition.node), [left, right, condition])
    }

    /// After `[` when a number or ':' follows: `[n]` or `[start:stop:step]`.
    private mutating func indexOrSlice() throws(JMESPathError) -> Built {
        if case .colon = current.kind {
            return try slice()
        }
        if case .colon = lookahead(1).kind {
            return try slice()
        }
        guard case .number(let n) = current.kind else {
            throw fail("expected a number after '[', found \(current.kind.described)", at: current)
        }
        advance()
        try match(.rbracket, "after the index")
        return leaf(.index(n))
    }

    private mutating func slice() throws(JMESPathError) -> Built {
        var parts: [Int?] = [nil, nil, nil]
        var index = 0
        while true {
            switch current.kind {
            case .rbracket:
                advance()
                return leaf(.slice(parts[0], parts[1], parts[2]))
            case .colon:
                index += 1
                if index == 3 { throw fail("a slice has at most three parts [start:stop:step]", at: current) }
                advance()
            case .number(let n):
                if parts[index] != nil { throw fail("expected ':' or ']' in the slice, found \(current.kind.described)", at: current) }
                parts[index] = n
                advance()
            default:
                throw fail("expected a number, ':' or ']' in the slice, found \(current.kind.described)", at: current)
            }
        }
    }

    /// A slice projects: what follows applies to each element of the sliced list.
    private mutating func projectIfSlice(_ left: Built, _ right: Built) throws(JMESPathError) -> Built {
        let indexed = try make(.indexExpression(left.node, right.node), [left, right])
        guard case .slice = right.node else { return indexed }
        let rhs = try projectionRHS(JMESTokenKind.star.bindingPower)
        return try make(.projection(indexed.node, rhs.node), [indexed, rhs])
    }

    private mutating func projectionRHS(_ bindingPower: Int) throws(JMESPathError) -> Built {
        let kind = current.kind
        if kind.bindingPower < JMESParser.projectionStop { return leaf(.identity) }
        switch kind {
        case .lbracket, .filter:
            return try expression(bindingPower)
        case .dot:
            advance()
            return try dotRHS(bindingPower)
        default:
            throw fail("unexpected \(kind.described) after a projection: expected '.', '[', '[?' or the end of the projection", at: current)
        }
    }

    private mutating func dotRHS(_ bindingPower: Int) throws(JMESPathError) -> Built {
        let token = current
        switch token.kind {
        case .identifier, .quotedIdentifier, .star:
            return try expression(bindingPower)
        case .lbracket:
            advance()
            return try multiSelectList(opening: token)
        case .lbrace:
            advance()
            return try multiSelectHash()
        default:
            throw fail("expected an identifier, '*', '[' or '{' after '.', found \(token.kind.described)", at: token)
        }
    }

    private mutating func multiSelectList(opening: JMESToken) throws(JMESPathError) -> Built {
        var items: [Built] = []
        while true {
            items.append(try expression(0))
            if case .rbracket = current.kind { break }
            try match(.comma, "or ']' in the list [a, b] opened at column \(opening.offset + 1)")
        }
        advance()
        return try make(.multiSelectList(items.map(\.node)), items)
    }

    private mutating func multiSelectHash() throws(JMESPathError) -> Built {
        var pairs: [(String, Built)] = []
        while true {
            let key: String
            switch current.kind {
            case .identifier(let k), .quotedIdentifier(let k): key = k
            default: throw fail("expected a key (an identifier) in the hash {key: expression}, found \(current.kind.described)", at: current)
            }
            advance()
            try match(.colon, "after the key '\(key)'")
            pairs.append((key, try expression(0)))
            if case .comma = current.kind {
                advance()
                continue
            }
            try match(.rbrace, "or ',' in the hash {key: expression}")
            return try make(.multiSelectHash(pairs.map { ($0.0, $0.1.node) }), pairs.map(\.1))
        }
    }
}
