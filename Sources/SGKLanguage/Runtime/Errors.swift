/// An error raised by a native command. The interpreter adds the location,
/// the command's name and the sgk call stack.
public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// A machine-readable code (an AWS or Kubernetes error code), shown before the message.
    public var code: String?
    public var hint: String?
    /// Extra data for `catch` (e.g. `status`, `requestId`).
    public var data: [String: Value]
    /// Which argument was wrong, when known: a positional index or a keyword name.
    public var argument: ArgumentRef?

    public enum ArgumentRef: Sendable { case positional(Int), keyword(String), input }

    public init(_ message: String, code: String? = nil, hint: String? = nil, data: [String: Value] = [:], argument: ArgumentRef? = nil) {
        self.message = message; self.code = code; self.hint = hint; self.data = data; self.argument = argument
    }
    public var description: String { code.map { "\($0): \(message)" } ?? message }
}

/// Errors from client libraries that know how to present themselves (AWS, Kubernetes).
public protocol UserFacingError: Error {
    var errorCode: String? { get }
    var errorMessage: String { get }
    var errorHint: String? { get }
    var errorData: [String: Value] { get }
}

public struct StackEntry: Sendable {
    public var function: String
    public var file: SourceFile?
    public var range: SourceRange
}

/// A runtime error with its position and the sgk call stack.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var code: String?
    public var hint: String?
    public var file: SourceFile?
    public var range: SourceRange
    public var stack: [StackEntry]
    public var data: [String: Value]
    /// Raised by `fail`: the value given.
    public var failValue: Value?
    /// Set when the run was cancelled (Ctrl-C).
    public var cancelled: Bool

    public init(_ message: String, code: String? = nil, hint: String? = nil, file: SourceFile?, range: SourceRange,
                data: [String: Value] = [:], cancelled: Bool = false) {
        self.message = message; self.code = code; self.hint = hint; self.file = file; self.range = range
        self.stack = []; self.data = data; self.failValue = nil; self.cancelled = cancelled
    }

    public var diagnostic: Diagnostic {
        Diagnostic(message, file: file, range: range, hint: hint)
    }

    public var description: String { render(color: false) }

    public func render(color: Bool) -> String {
        var out = diagnostic.render(color: color)
        // Consecutive identical frames (recursion) are shown once with a count.
        var i = 0
        while i < stack.count {
            let e = stack[i]
            var n = 1
            while i + n < stack.count, stack[i + n].function == e.function, stack[i + n].range == e.range { n += 1 }
            if let f = e.file {
                let loc = f.location(of: e.range.start)
                out += "\n  in \(e.function) called at \(f.name):\(loc.line):\(loc.column)"
            } else {
                out += "\n  in \(e.function)"
            }
            if n > 1 { out += " (\(n) times)" }
            i += n
        }
        return out
    }

    /// The map a `catch err` block sees.
    public var asValue: Value {
        var m: [(String, Value)] = [("message", .string(message))]
        m.append(("code", code.map(Value.string) ?? .null))
        if let file {
            let loc = file.location(of: range.start)
            m.append(("file", .string(file.name)))
            m.append(("line", .int(loc.line)))
            m.append(("column", .int(loc.column)))
        }
        m.append(("hint", hint.map(Value.string) ?? .null))
        if let failValue { m.append(("value", failValue)) }
        m.append(("stack", .list(stack.map { .string($0.function) })))
        for (k, v) in data.sorted(by: { $0.key < $1.key }) where !m.contains(where: { $0.0 == k }) { m.append((k, v)) }
        var od = OrderedDictionaryBuilder()
        for (k, v) in m { od.set(k, v) }
        return .map(od.dict)
    }
}

import OrderedCollections
struct OrderedDictionaryBuilder {
    var dict = OrderedDictionary<String, Value>()
    mutating func set(_ k: String, _ v: Value) { dict[k] = v }
}
