import OrderedCollections
import SGKData

/// An sgk value. Small scalars are stored inline; lists and maps are
/// copy-on-write Swift collections, so reading never copies.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// Seconds.
    case duration(Double)
    case list([Value])
    case map(OrderedDictionary<String, Value>)
    case function(Function)

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .duration: return "duration"
        case .list: return "list"
        case .map: return "map"
        case .function: return "function"
        }
    }

    /// The type name with its article, for messages: "an int", "a string".
    public var aTypeName: String { self.typeName == "int" ? "an int" : "a \(typeName)" }

    public var isNull: Bool { if case .null = self { return true }; return false }
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var listValue: [Value]? { if case .list(let l) = self { return l }; return nil }
    public var mapValue: OrderedDictionary<String, Value>? { if case .map(let m) = self { return m }; return nil }
    public var intValue: Int? { if case .int(let i) = self { return i }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }

    /// Truthiness: null, false, 0, 0.0, "", [], {} and a zero duration are false.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .duration(let d): return d != 0
        case .list(let l): return !l.isEmpty
        case .map(let m): return !m.isEmpty
        case .function: return true
        }
    }

    public subscript(key: String) -> Value? {
        if case .map(let m) = self { return m[key] }
        return nil
    }

    public static func map(_ pairs: KeyValuePairs<String, Value>) -> Value {
        var m = OrderedDictionary<String, Value>()
        for (k, v) in pairs { m[k] = v }
        return .map(m)
    }
}

/// A closure: a user `fn`, a `{ … }` block, or a native function.
public final class Function: @unchecked Sendable {
    public let name: String
    let params: [CompiledParam]
    let slotCount: Int
    let body: CompiledBody
    let captured: Frame?
    let file: SourceFile?
    let isBlock: Bool
    /// The parameter count and the first two parameters' slots, for direct calls.
    let arity: Int
    let slot0: Int
    let slot1: Int

    init(name: String, params: [CompiledParam], slotCount: Int, body: CompiledBody, captured: Frame?, file: SourceFile?, isBlock: Bool) {
        self.name = name
        self.params = params
        self.arity = params.count
        self.slot0 = params.count > 0 ? params[0].slot : -1
        self.slot1 = params.count > 1 ? params[1].slot : -1
        self.slotCount = slotCount
        self.body = body
        self.captured = captured
        self.file = file
        self.isBlock = isBlock
    }
}

// MARK: equality and ordering

extension Value: Equatable {
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.int(let x), .double(let y)): return Double(x) == y
        case (.double(let x), .int(let y)): return x == Double(y)
        case (.string(let x), .string(let y)): return x == y
        case (.duration(let x), .duration(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x { guard let w = y[k], w == v else { return false } }
            return true
        case (.function(let x), .function(let y)): return x === y
        default: return false
        }
    }
}

// MARK: conversion to and from JSON trees

extension Value {
    public init(json: JSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init(json:)))
        case .object(let o):
            var m = OrderedDictionary<String, Value>(minimumCapacity: o.count)
            for (k, v) in o { m[k] = Value(json: v) }
            self = .map(m)
        }
    }

    /// The JSON tree of a value; durations become Go-style strings ("30s"), functions null.
    public var json: JSON {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .duration(let d): return .string(Value.formatDuration(d))
        case .list(let l): return .array(l.map(\.json))
        case .map(let m):
            var o = OrderedDictionary<String, JSON>(minimumCapacity: m.count)
            for (k, v) in m { o[k] = v.json }
            return .object(o)
        case .function: return .null
        }
    }

    /// The longest duration (36,500 days, about a century): literals, arithmetic, parameters and
    /// timeouts beyond it are errors, so every duration converts to nanoseconds and formats exactly.
    public static let maxDurationSeconds: Double = 36_500 * 86_400

    public static func formatDuration(_ seconds: Double) -> String {
        if seconds == 0 { return "0s" }
        // Never made by the language (see maxDurationSeconds); shown plainly rather than trapping.
        guard seconds.isFinite, abs(seconds) < 1e15 else { return formatNumber(seconds) + "s" }
        let neg = seconds < 0
        var s = abs(seconds)
        var out = neg ? "-" : ""
        if s < 1 { return out + formatNumber(s * 1000) + "ms" }
        let h = Int(s / 3600)
        if h > 0 { out += "\(h)h"; s -= Double(h) * 3600 }
        let m = Int(s / 60)
        if m > 0 { out += "\(m)m"; s -= Double(m) * 60 }
        if s > 0.0000001 || out.isEmpty || out == "-" { out += formatNumber(s) + "s" }
        return out
    }

    public static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return String(d)
    }
}

// MARK: display

extension Value: CustomStringConvertible {
    /// The inline form the REPL shows: strings quoted, maps as `{key: value}`.
    public var description: String {
        var out = ""
        Value.writeInline(self, into: &out, depth: 0)
        return out
    }

    /// Text for `print` and `${…}`: strings as they are, other values inline.
    public var text: String {
        switch self {
        case .string(let s): return s
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return Value.formatDouble(d)
        case .duration(let d): return Value.formatDuration(d)
        default: return description
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int(d)) + ".0" }
        return String(d)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    static func isBareKey(_ k: String) -> Bool {
        guard let f = k.utf8.first, Lexer.isIdentStart(f) else { return false }
        return k.utf8.allSatisfy { Lexer.isIdentChar($0) || $0 == UInt8(ascii: "-") }
    }

    static func writeInline(_ v: Value, into out: inout String, depth: Int) {
        if depth > 64 { out += "…"; return }
        switch v {
        case .string(let s): out += quote(s)
        case .list(let l):
            out += "["
            for (i, e) in l.enumerated() {
                if i > 0 { out += ", " }
                writeInline(e, into: &out, depth: depth + 1)
            }
            out += "]"
        case .map(let m):
            out += "{"
            var first = true
            for (k, e) in m {
                if !first { out += ", " }
                first = false
                out += isBareKey(k) ? k : quote(k)
                out += ": "
                writeInline(e, into: &out, depth: depth + 1)
            }
            out += "}"
        case .function(let f): out += f.isBlock ? "<block>" : "<fn \(f.name)>"
        default: out += v.text
        }
    }
}

extension Value {
    /// `self = self + r` without copying when self is a uniquely held list, map
    /// or string of the same kind as r; returns false (unchanged) otherwise.
    /// The payload is taken out in its own statement, so no pattern-match
    /// temporary keeps a second reference while it is appended to.
    mutating func appendInPlace(_ r: Value) -> Bool {
        switch r {
        case .list(let b):
            guard var a = Value.takeList(&self) else { return false }
            a.append(contentsOf: b)
            self = .list(a)
        case .map(let b):
            guard var a = Value.takeMap(&self) else { return false }
            for (k, x) in b { a[k] = x }
            self = .map(a)
        case .string(let b):
            guard var a = Value.takeString(&self) else { return false }
            a += b
            self = .string(a)
        default:
            return false
        }
        return true
    }

    /// `self = self + [x]` in place when self is a list (false: unchanged).
    mutating func appendElement(_ x: Value) -> Bool {
        guard var a = Value.takeList(&self) else { return false }
        a.append(x)
        self = .list(a)
        return true
    }

    /// `self = self + {k: x}` in place when self is a map (false: unchanged).
    mutating func setEntry(_ k: String, _ x: Value) -> Bool {
        guard var a = Value.takeMap(&self) else { return false }
        a[k] = x
        self = .map(a)
        return true
    }

    static func takeList(_ v: inout Value) -> [Value]? {
        guard case .list(let a) = v else { return nil }
        v = .null
        return a
    }

    static func takeMap(_ v: inout Value) -> OrderedDictionary<String, Value>? {
        guard case .map(let a) = v else { return nil }
        v = .null
        return a
    }

    static func takeString(_ v: inout Value) -> String? {
        guard case .string(let a) = v else { return nil }
        v = .null
        return a
    }
}
