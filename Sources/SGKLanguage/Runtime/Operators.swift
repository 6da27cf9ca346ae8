import OrderedCollections

/// Semantics of the binary operators.
enum Operators {
    static func binary(_ op: BinaryOp, _ x: Value, _ y: Value, file: SourceFile?, range: SourceRange) throws -> Value {
        func fail(_ msg: String, hint: String? = nil) -> RuntimeError { RuntimeError(msg, hint: hint, file: file, range: range) }
        func overflow() -> RuntimeError { fail("integer overflow in \(x.text) \(op.rawValue) \(y.text)") }
        /// A duration result; one beyond any clock (or not a number) is an error, not a value.
        func duration(_ d: Double) throws -> Value {
            guard d.isFinite, abs(d) <= Value.maxDurationSeconds else {
                throw fail("duration out of range in \(x.text) \(op.rawValue) \(y.text)", hint: "durations are at most \(Value.formatDuration(Value.maxDurationSeconds))")
            }
            return .duration(d)
        }
        switch op {
        case .add:
            switch (x, y) {
            case (.int(let a), .int(let b)):
                let (s, o) = a.addingReportingOverflow(b); if o { throw overflow() }; return .int(s)
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.list(let a), .list(let b)): return .list(a + b)
            case (.map(var a), .map(let b)):
                for (k, v) in b { a[k] = v }
                return .map(a)
            case (.duration(let a), .duration(let b)): return try duration(a + b)
            default:
                if let (a, b) = doubles(x, y) { return .double(a + b) }
                if case .string = x { throw fail("cannot add \(y.aTypeName) to a string", hint: "use interpolation: \"…${…}\"") }
                throw fail("cannot add \(x.typeName) and \(y.typeName)")
            }
        case .sub:
            switch (x, y) {
            case (.int(let a), .int(let b)):
                let (s, o) = a.subtractingReportingOverflow(b); if o { throw overflow() }; return .int(s)
            case (.duration(let a), .duration(let b)): return try duration(a - b)
            default:
                if let (a, b) = doubles(x, y) { return .double(a - b) }
                throw fail("cannot subtract \(y.typeName) from \(x.typeName)")
            }
        case .mul:
            switch (x, y) {
            case (.int(let a), .int(let b)):
                let (s, o) = a.multipliedReportingOverflow(by: b); if o { throw overflow() }; return .int(s)
            case (.duration(let a), .int(let b)), (.int(let b), .duration(let a)): return try duration(a * Double(b))
            case (.duration(let a), .double(let b)), (.double(let b), .duration(let a)): return try duration(a * b)
            case (.string(let s), .int(let n)):
                guard n >= 0, n <= 10_000_000 / max(1, s.utf8.count) else { throw fail("cannot repeat a string \(n) times") }
                return .string(String(repeating: s, count: n))
            default:
                if let (a, b) = doubles(x, y) { return .double(a * b) }
                throw fail("cannot multiply \(x.typeName) by \(y.typeName)")
            }
        case .div:
            switch (x, y) {
            case (.int(let a), .int(let b)):
                if b == 0 { throw fail("division by zero") }
                let (q, o) = a.dividedReportingOverflow(by: b); if o { throw overflow() }
                if q.multipliedReportingOverflow(by: b) == (a, false) { return .int(q) }
                return .double(Double(a) / Double(b))
            case (.duration(let a), .int(let b)):
                if b == 0 { throw fail("division by zero") }
                return try duration(a / Double(b))
            case (.duration(let a), .duration(let b)):
                if b == 0 { throw fail("division by zero") }
                return .double(a / b)
            default:
                if let (a, b) = doubles(x, y) {
                    if b == 0 { throw fail("division by zero") }
                    return .double(a / b)
                }
                throw fail("cannot divide \(x.typeName) by \(y.typeName)")
            }
        case .mod:
            switch (x, y) {
            case (.int(let a), .int(let b)):
                if b == 0 { throw fail("division by zero") }
                let (r, o) = a.remainderReportingOverflow(dividingBy: b); if o { throw overflow() }
                return .int(r)
            default:
                if let (a, b) = doubles(x, y) {
                    if b == 0 { throw fail("division by zero") }
                    return .double(a.truncatingRemainder(dividingBy: b))
                }
                throw fail("cannot take \(x.typeName) modulo \(y.typeName)")
            }
        case .eq: return .bool(x == y)
        case .ne: return .bool(x != y)
        case .lt, .le, .gt, .ge:
            guard let c = compare(x, y) else {
                throw fail("cannot compare \(x.typeName) with \(y.typeName)")
            }
            switch op {
            case .lt: return .bool(c < 0)
            case .le: return .bool(c <= 0)
            case .gt: return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case .in, .notIn:
            let r: Bool
            switch y {
            case .list(let l): r = l.contains(x)
            case .map(let m):
                guard case .string(let k) = x else { throw fail("map keys are strings; cannot look up \(x.aTypeName)") }
                r = m[k] != nil
            case .string(let s):
                guard case .string(let sub) = x else { throw fail("'in' on a string needs a string on the left, not \(x.aTypeName)") }
                r = sub.isEmpty || s.contains(sub)   // the empty string is in every string, as `contains` says
            case .null: r = false
            default: throw fail("'in' needs a list, map or string on the right, not \(y.aTypeName)")
            }
            return .bool(op == .in ? r : !r)
        case .range:
            guard case .int(let a) = x, case .int(let b) = y else { throw fail("a range needs integer bounds, not \(x.typeName) and \(y.typeName)") }
            if a > b { return .list([]) }
            let (span, o) = b.subtractingReportingOverflow(a)
            guard !o, span < 50_000_000 else { throw fail("range \(a)..\(b) is too large to build as a list") }
            return .list((a...b).map(Value.int))
        case .and: return x.isTruthy ? y : x
        case .or: return x.isTruthy ? x : y
        case .match: throw fail("internal: '=~' is compiled separately")
        }
    }

    static func doubles(_ x: Value, _ y: Value) -> (Double, Double)? {
        switch (x, y) {
        case (.double(let a), .double(let b)): return (a, b)
        case (.int(let a), .double(let b)): return (Double(a), b)
        case (.double(let a), .int(let b)): return (a, Double(b))
        default: return nil
        }
    }

    /// Ordering of comparable values (numbers, strings, durations, bools; lists lexicographically).
    static func compare(_ x: Value, _ y: Value) -> Int? {
        switch (x, y) {
        case (.int(let a), .int(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.string(let a), .string(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.duration(let a), .duration(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.bool(let a), .bool(let b)): return a == b ? 0 : (a ? 1 : -1)
        case (.list(let a), .list(let b)):
            for (p, q) in zip(a, b) { guard let c = compare(p, q) else { return nil }; if c != 0 { return c } }
            return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
        case (.null, .null): return 0
        default:
            if let (a, b) = doubles(x, y) { return a < b ? -1 : (a > b ? 1 : 0) }
            return nil
        }
    }
}
