import OrderedCollections

/// The evaluated arguments of a native command call.
public struct Arguments: Sendable {
    public var positional: [Value]
    /// Keyword arguments by canonical name (`-` read as `_`).
    public var keywords: [String: Value]
    /// The piped-in value, or the subject taken from the first positional.
    public var input: Value?

    public init(positional: [Value] = [], keywords: [String: Value] = [:], input: Value? = nil) {
        self.positional = positional; self.keywords = keywords; self.input = input
    }

    public func keyword(_ name: String) -> Value? {
        guard let v = keywords[canonicalName(name)], !v.isNull else { return nil }
        return v
    }

    public func has(_ name: String) -> Bool { keyword(name) != nil }

    public func positional(_ i: Int) -> Value? { i < positional.count ? positional[i] : nil }

    // Typed accessors with clear errors.

    public func string(_ i: Int, _ what: String) throws -> String {
        guard let v = positional(i) else { throw CommandError("missing \(what)", argument: .positional(i)) }
        return try Arguments.asString(v, what, .positional(i))
    }

    public func optionalString(_ i: Int, _ what: String) throws -> String? {
        guard let v = positional(i), !v.isNull else { return nil }
        return try Arguments.asString(v, what, .positional(i))
    }

    public func string(keyword name: String) throws -> String? {
        guard let v = keyword(name) else { return nil }
        return try Arguments.asString(v, "'\(name):'", .keyword(name))
    }

    public func requiredString(keyword name: String) throws -> String {
        guard let s = try string(keyword: name) else { throw CommandError("missing '\(name):'", argument: .keyword(name)) }
        return s
    }

    public func bool(keyword name: String, default d: Bool = false) throws -> Bool {
        guard let v = keyword(name) else { return d }
        switch v {
        case .bool(let b): return b
        case .string(let s) where s == "true" || s == "false": return s == "true"
        default: throw CommandError("'\(name):' must be true or false, not \(v.typeName)", argument: .keyword(name))
        }
    }

    public func int(keyword name: String) throws -> Int? {
        guard let v = keyword(name) else { return nil }
        switch v {
        case .int(let i): return i
        case .string(let s): if let i = Int(s) { return i }
        default: break
        }
        throw CommandError("'\(name):' must be an integer, not \(v.typeName)", argument: .keyword(name))
    }

    public func duration(keyword name: String) throws -> Double? {
        guard let v = keyword(name) else { return nil }
        var seconds: Double?
        switch v {
        case .duration(let d): seconds = d
        case .int(let i): seconds = Double(i)
        case .double(let d): seconds = d
        case .string(let s): seconds = parseDurationText(s)
        default: break
        }
        if let seconds {
            guard seconds.isFinite, abs(seconds) <= Value.maxDurationSeconds else {
                throw CommandError("'\(name):' is out of range", hint: "durations are at most \(Value.formatDuration(Value.maxDurationSeconds))", argument: .keyword(name))
            }
            return seconds
        }
        if case .string(let s) = v {
            throw CommandError("'\(name):' must be a duration such as 30s or 5m (at most \(Value.formatDuration(Value.maxDurationSeconds))), not '\(s)'",
                               argument: .keyword(name))
        }
        throw CommandError("'\(name):' must be a duration such as 30s or 5m, not \(v.typeName)", argument: .keyword(name))
    }

    public func requireInput(_ what: String) throws -> Value {
        guard let v = input else { throw CommandError("missing \(what): pipe it in or pass it as the first argument", argument: .input) }
        return v
    }

    static func asString(_ v: Value, _ what: String, _ ref: CommandError.ArgumentRef) throws -> String {
        switch v {
        case .string(let s): return s
        case .int, .double, .bool, .duration: return v.text
        default: throw CommandError("\(what) must be a string, not \(v.typeName)", argument: ref)
        }
    }
}

/// Parses "30s", "5m", "1h30m", "250ms" into seconds.
public func parseDurationText(_ s: String) -> Double? {
    var total = 0.0
    var num = ""
    var i = s.startIndex
    var any = false
    while i < s.endIndex {
        let c = s[i]
        if c.isNumber || c == "." { num.append(c); i = s.index(after: i); continue }
        var unit = ""
        while i < s.endIndex, s[i].isLetter { unit.append(s[i]); i = s.index(after: i) }
        guard let n = Double(num), let scale = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400][unit] else { return nil }
        total += n * scale
        num = ""
        any = true
    }
    if !num.isEmpty { guard let n = Double(num) else { return nil }; total += n; any = true }
    return any && total.isFinite && total <= Value.maxDurationSeconds ? total : nil
}

/// What a native command receives: its arguments, the run's context, and a
/// way to call functions and blocks it was given.
public struct Invocation: @unchecked Sendable {
    public let command: String
    public let arguments: Arguments
    public let context: CallContext
    let interpreter: Interpreter
    /// The calling frame's depth and owner (see `Frame`), for blocks the command calls.
    var depth = 0
    var owner = 0

    public var args: Arguments { arguments }

    /// Calls a block or function value with positional arguments.
    public func call(_ f: Value, _ args: [Value]) throws -> Value {
        guard case .function(let fn) = f else { throw CommandError("expected a block { … } or function, got \(f.typeName)") }
        return try interpreter.callFunction(fn, args, depth: depth, owner: owner)
    }

    /// Runs another native command by name with these arguments (a pasted shell line runs the
    /// primitive it maps onto, so its writes go through the same effects).
    public func run(_ name: String, _ arguments: Arguments) throws -> Value {
        guard let c = interpreter.registry.command(name) else { throw CommandError("unknown command '\(name)'") }
        var a = arguments
        a.keywords = Dictionary(arguments.keywords.map { (canonicalName($0.key), $0.value) }, uniquingKeysWith: { _, b in b })
        return try c.run(Invocation(command: name, arguments: a, context: context, interpreter: interpreter))
    }

    /// The registry this run uses (for `help`).
    public var registry: CommandRegistry { interpreter.registry }

    /// Writes a value to stdout in a format (`yaml`, `json`, `table`, `name`, `wide`).
    public func show(_ v: Value, format: String) throws {
        context.output.write(try Formatter.format(v, as: format))
    }
}
