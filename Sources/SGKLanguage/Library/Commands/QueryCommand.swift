import SGKData

/// `query`: JMESPath, the language of the aws CLI's `--query`, over any value. `JMESQuery`
/// is also what the AWS primitives' `--query` flag uses.
public enum JMESQuery {
    static let query = NativeCommand(CommandSignature(
        "query", positionals: [.init("expression", "a JMESPath expression, as the aws CLI's --query takes")],
        input: .subject,
        summary: "Evaluate a JMESPath expression (the language of aws --query) against a value.",
        example: "$cluster | query 'cluster.identity.oidc.issuer'")) { inv in
        let v = try inv.subject("a value to query")
        let q = try compile(try inv.args.string(0, "the JMESPath expression"), argument: .positional(0))
        return try apply(q, to: v, argument: .positional(0))
    }

    /// Parses `expression`; a syntax error, an unknown function or a wrong number of
    /// arguments becomes a `CommandError` on `argument`.
    public static func compile(_ expression: String, argument: CommandError.ArgumentRef) throws -> JMESPath {
        do {
            return try JMESPath(expression)
        } catch {
            throw commandError(error, argument)
        }
    }

    /// The value of the query over `value` (an argument of the wrong type, a zero slice step
    /// becomes a `CommandError` on `argument`).
    public static func apply(_ query: JMESPath, to value: Value, argument: CommandError.ArgumentRef) throws -> Value {
        do {
            return Value(json: try query.search(value.json))
        } catch {
            throw commandError(error, argument)
        }
    }

    static func commandError(_ error: JMESPathError, _ argument: CommandError.ArgumentRef) -> CommandError {
        let hint: String
        switch error.kind {
        case .syntax:
            hint = "in JMESPath, keys are name.name, [0] indexes, [*] and [] project, [?Key=='v'] filters, 'text' is a string and `1` a JSON literal"
        case .unknownFunction:
            hint = "JMESPath's functions: " + JMESPath.functionNames.joined(separator: ", ")
        case .invalidArity, .invalidType:
            hint = "the functions' signatures: https://jmespath.org/specification.html#built-in-functions"
        case .invalidValue:
            hint = "a slice is [start:stop:step] with a step other than 0"
        }
        return CommandError("JMESPath \(error.description) in '\(error.expression)'", hint: hint, argument: argument)
    }
}
