import OrderedCollections
import SGKData

/// Small helpers shared by the core command tables.
extension Invocation {
    /// The subject (piped in or the first positional), with a clear error when absent.
    func subject(_ what: String = "input") throws -> Value {
        try args.requireInput(what)
    }

    /// The subject as a list.
    func subjectList(_ what: String = "a list") throws -> [Value] {
        let v = try subject(what)
        guard case .list(let l) = v else {
            throw CommandError("needs \(what) as input, got \(describeType(v))", argument: .input)
        }
        return l
    }

    /// The subject as a string.
    func subjectString() throws -> String {
        let v = try subject("a string")
        switch v {
        case .string(let s): return s
        default: throw CommandError("needs a string as input, got \(describeType(v))", argument: .input)
        }
    }

    /// Stops long loops when the run is interrupted (Ctrl-C).
    @inline(__always) func checkCancelled(_ i: Int) throws {
        if i & 1023 == 1023, context.cancellation.isCancelled { throw CancellationError() }
    }
}

/// "a list", "a map", "null", "a string (\"abc\")".
func describeType(_ v: Value) -> String {
    switch v {
    case .null: return "null"
    case .int, .double, .bool: return "\(v.typeName == "int" ? "an" : "a") \(v.typeName) (\(v.text))"
    case .string(let s): return s.count <= 40 && SecretText.mayShow(s) ? "a string (\(Value.quote(s)))" : "a string"
    default: return "\(v.aTypeName)"
    }
}

/// A hashable stand-in for a value, equal exactly when the values are `==`
/// (an int and a whole double are the same number).
func canonicalKey(_ v: Value, into out: inout String) {
    switch v {
    case .null: out += "n;"
    case .bool(let b): out += b ? "t;" : "f;"
    case .int(let i): out += "i\(i);"
    case .double(let d):
        if d == d.rounded(), abs(d) < 9.0e18 { out += "i\(Int(d));" } else { out += "d\(d);" }
    case .string(let s): out += "s\(s.utf8.count):"; out += s
    case .duration(let d): out += "u\(d);"
    case .list(let l):
        out += "[\(l.count)"
        for e in l { canonicalKey(e, into: &out) }
        out += "]"
    case .map(let m):
        // Map equality ignores key order.
        out += "{\(m.count)"
        for k in m.keys.sorted() { out += "\(k.utf8.count):\(k)"; if let e = m[k] { canonicalKey(e, into: &out) } }
        out += "}"
    case .function(let f): out += "F\(ObjectIdentifier(f).hashValue);"
    }
}
