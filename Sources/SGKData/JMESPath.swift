import OrderedCollections

/// A compiled JMESPath expression (https://jmespath.org/specification.html), the query
/// language of the aws CLI's `--query`, evaluated over the ordered `JSON` tree.
///
///     let q = try JMESPath("cluster.identity.oidc.issuer")
///     let issuer = try q.search(describeClusterResponse)
///
/// Parsing is a lexer and a Pratt parser to an AST (`JMESPathParser.swift`); evaluation is a
/// tree interpreter (`JMESPathInterpreter.swift`) with the spec's built-in functions
/// (`JMESPathFunctions.swift`). Every failure is a `JMESPathError` of one of the spec's
/// kinds: syntax errors carry the column where they were found; unknown functions and
/// wrong argument counts are found when parsing; wrong argument types and a zero slice
/// step when evaluating. Nothing traps: nesting deeper than `maxDepth` is a syntax error.
///
/// Numbers keep the tree's kinds: an integer stays an `.int` through indexing, projections,
/// `sort`, `max`, `abs`, `sum` (unless it overflows) and so on; comparisons compare ints and
/// doubles as numbers (`1 == 1.0`).
public struct JMESPath: Sendable, CustomStringConvertible {
    /// The deepest nesting of expressions accepted (parentheses, sub-expressions, projections…).
    public static let maxDepth = 256

    /// The source text.
    public let expression: String
    let ast: JMESNode

    /// Parses `expression`; a syntax error, an unknown function or a call with the wrong
    /// number of arguments is thrown here.
    public init(_ expression: String) throws(JMESPathError) {
        self.expression = expression
        self.ast = try JMESParser.parse(expression)
    }

    /// Evaluates the expression against `data`.
    public func search(_ data: JSON) throws(JMESPathError) -> JSON {
        let interpreter = JMESInterpreter(expression: expression)
        return try interpreter.visit(ast, data)
    }

    /// Parses `expression` and evaluates it against `data`.
    public static func search(_ expression: String, in data: JSON) throws(JMESPathError) -> JSON {
        try JMESPath(expression).search(data)
    }

    public var description: String { expression }

    /// The built-in functions' names.
    public static var functionNames: [String] { JMESFunction.allCases.map(\.rawValue) }
}

/// A JMESPath failure, of one of the kinds the specification names.
public struct JMESPathError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case syntax
        case invalidType = "invalid-type"
        case invalidValue = "invalid-value"
        case invalidArity = "invalid-arity"
        case unknownFunction = "unknown-function"
    }

    public var kind: Kind
    /// What went wrong, e.g. "expected an identifier, '*', '[' or '{' after '.', found the end of the expression".
    public var message: String
    /// The expression's text.
    public var expression: String
    /// 1-based column (in Unicode scalars) where a syntax error was found, or where the
    /// function call that failed starts.
    public var column: Int?

    public init(_ kind: Kind, _ message: String, expression: String, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.expression = expression
        self.column = column
    }

    /// One line: "syntax error at column 5: …", "invalid-type: …".
    public var description: String {
        let what: String
        switch kind {
        case .syntax: what = "syntax error"
        case .invalidType: what = "invalid type"
        case .invalidValue: what = "invalid value"
        case .invalidArity: what = "wrong number of arguments"
        case .unknownFunction: what = "unknown function"
        }
        if let column { return "\(what) at column \(column): \(message)" }
        return "\(what): \(message)"
    }

    /// The expression with a caret under the column (two lines), when there is a column.
    public var pointer: String? {
        guard let column, !expression.contains("\n") else { return nil }
        return expression + "\n" + String(repeating: " ", count: max(column - 1, 0)) + "^"
    }
}

/// A node of the parsed expression.
indirect enum JMESNode: Sendable {
    /// `@`, and the implicit right-hand side of a projection.
    case identity
    case field(String)
    case literal(JSON)
    case subexpression(JMESNode, JMESNode)
    /// `left[index]` or `left[slice]`: the right node is `.index` or `.slice`.
    case indexExpression(JMESNode, JMESNode)
    case index(Int)
    case slice(Int?, Int?, Int?)
    /// List projection: evaluate `right` for each element of the array `left` gives.
    case projection(JMESNode, JMESNode)
    /// Object projection (`*`): evaluate `right` for each value of the object `left` gives.
    case valueProjection(JMESNode, JMESNode)
    /// `left[?condition]right`.
    case filterProjection(JMESNode, JMESNode, JMESNode)
    case flatten(JMESNode)
    case comparator(JMESComparator, JMESNode, JMESNode)
    case or(JMESNode, JMESNode)
    case and(JMESNode, JMESNode)
    case not(JMESNode)
    case pipe(JMESNode, JMESNode)
    case multiSelectList([JMESNode])
    case multiSelectHash([(String, JMESNode)])
    /// A call; `column` is where its name starts, for error messages.
    case function(JMESFunction, [JMESNode], column: Int)
    case expref(JMESNode)
}

enum JMESComparator: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
}
