import OrderedCollections

/// Evaluates a parsed JMESPath expression over a `JSON` tree.
struct JMESInterpreter {
    let expression: String

    func visit(_ node: JMESNode, _ value: JSON) throws(JMESPathError) -> JSON {
        switch node {
        case .identity:
            return value
        case .field(let name):
            if case .object(let o) = value { return o[name] ?? .null }
            return .null
        case .literal(let j):
            return j
        case .subexpression(let left, let right):
            return try visit(right, try visit(left, value))
        case .indexExpression(let left, let right):
            return try visit(right, try visit(left, value))
        case .index(let i):
            guard case .array(let a) = value else { return .null }
            let k = i < 0 ? a.count + i : i
            return a.indices.contains(k) ? a[k] : .null
        case .slice(let start, let stop, let step):
            guard case .array(let a) = value else { return .null }
            return .array(try slice(a, start, stop, step))
        case .projection(let left, let right):
            guard case .array(let a) = try visit(left, value) else { return .null }
            var out: [JSON] = []
            out.reserveCapacity(a.count)
            for element in a {
                let r = try visit(right, element)
                if r != .null { out.append(r) }
            }
            return .array(out)
        case .valueProjection(let left, let right):
            guard case .object(let o) = try visit(left, value) else { return .null }
            var out: [JSON] = []
            out.reserveCapacity(o.count)
            for element in o.values {
                let r = try visit(right, element)
                if r != .null { out.append(r) }
            }
            return .array(out)
        case .filterProjection(let left, let right, let condition):
            guard case .array(let a) = try visit(left, value) else { return .null }
            var out: [JSON] = []
            for element in a where JMESInterpreter.isTruthy(try visit(condition, element)) {
                let r = try visit(right, element)
                if r != .null { out.append(r) }
            }
            return .array(out)
        case .flatten(let child):
            guard case .array(let a) = try visit(child, value) else { return .null }
            var out: [JSON] = []
            out.reserveCapacity(a.count)
            for element in a {
                if case .array(let inner) = element { out.append(contentsOf: inner) } else { out.append(element) }
            }
            return .array(out)
        case .comparator(let op, let left, let right):
            let l = try visit(left, value)
            let r = try visit(right, value)
            switch op {
            case .eq: return .bool(JMESInterpreter.equal(l, r))
            case .ne: return .bool(!JMESInterpreter.equal(l, r))
            default:
                // Ordering is defined on numbers only; anything else compares to null.
                guard let c = JMESInterpreter.compareNumbers(l, r) else { return .null }
                switch op {
                case .lt: return .bool(c < 0)
                case .le: return .bool(c <= 0)
                case .gt: return .bool(c > 0)
                default: return .bool(c >= 0)
                }
            }
        case .or(let left, let right):
            let l = try visit(left, value)
            return JMESInterpreter.isTruthy(l) ? l : try visit(right, value)
        case .and(let left, let right):
            let l = try visit(left, value)
            return JMESInterpreter.isTruthy(l) ? try visit(right, value) : l
        case .not(let child):
            return .bool(!JMESInterpreter.isTruthy(try visit(child, value)))
        case .pipe(let left, let right):
            return try visit(right, try visit(left, value))
        case .multiSelectList(let items):
            if value == .null { return .null }
            var out: [JSON] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try visit(item, value)) }
            return .array(out)
        case .multiSelectHash(let pairs):
            if value == .null { return .null }
            var out = OrderedDictionary<String, JSON>(minimumCapacity: pairs.count)
            for (key, item) in pairs { out[key] = try visit(item, value) }
            return .object(out)
        case .function(let f, let args, let column):
            var values: [JMESArgument] = []
            values.reserveCapacity(args.count)
            for a in args {
                if case .expref(let e) = a {
                    values.append(.expref(e))
                } else {
                    values.append(.value(try visit(a, value)))
                }
            }
            return try f.call(values, interpreter: self, column: column)
        case .expref:
            throw JMESPathError(.invalidType, "an expression reference (&…) can only be an argument of a function such as sort_by or map", expression: expression)
        }
    }

    private func slice(_ a: [JSON], _ start: Int?, _ stop: Int?, _ step: Int?) throws(JMESPathError) -> [JSON] {
        let step = step ?? 1
        guard step != 0 else {
            throw JMESPathError(.invalidValue, "a slice's step cannot be 0", expression: expression)
        }
        let n = a.count
        func bound(_ v: Int?, _ defaultValue: Int) -> Int {
            guard let v else { return defaultValue }
            if v < 0 {
                let r = v + n  // n >= 0: no overflow
                return r < 0 ? (step < 0 ? -1 : 0) : r
            }
            return v >= n ? (step < 0 ? n - 1 : n) : v
        }
        let first = bound(start, step < 0 ? n - 1 : 0)
        let last = bound(stop, step < 0 ? -1 : n)
        var out: [JSON] = []
        var i = first
        if step > 0 {
            while i < last {
                out.append(a[i])
                let (next, overflow) = i.addingReportingOverflow(step)
                if overflow { break }
                i = next
            }
        } else {
            while i > last {
                out.append(a[i])
                let (next, overflow) = i.addingReportingOverflow(step)
                if overflow { break }
                i = next
            }
        }
        return out
    }

    // MARK: Values

    /// False, null, "", [] and {} are false; everything else (0 included) is true.
    static func isTruthy(_ v: JSON) -> Bool {
        switch v {
        case .null: return false
        case .bool(let b): return b
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .int, .double: return true
        }
    }

    /// Deep equality: numbers as numbers (1 == 1.0), strings by code points, objects
    /// regardless of key order.
    static func equal(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            return compareNumbers(a, b) == 0
        case (.string(let x), .string(let y)):
            return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where !equal(p, q) { return false }
            return true
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// -1, 0 or 1 when both are numbers; nil otherwise. Ints compare exactly; an int and a
    /// double compare as numbers.
    static func compareNumbers(_ a: JSON, _ b: JSON) -> Int? {
        switch (a, b) {
        case (.int(let x), .int(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .double(let y)):
            return compareIntDouble(x, y)
        case (.double(let x), .int(let y)):
            return compareIntDouble(y, x).map { -$0 }
        case (.double(let x), .double(let y)):
            if x.isNaN || y.isNaN { return nil }
            return x < y ? -1 : (x == y ? 0 : 1)
        default:
            return nil
        }
    }

    private static func compareIntDouble(_ x: Int, _ y: Double) -> Int? {
        if y.isNaN { return nil }
        if y >= 9.223372036854775807e18 { return -1 }
        if y < -9.223372036854775808e18 { return 1 }
        let t = y.rounded(.down)
        let ti = Int(t)
        if x != ti { return x < ti ? -1 : 1 }
        return t == y ? 0 : -1
    }

    /// Code-point order of strings (as Python and the reference implementation compare).
    static func compareStrings(_ a: String, _ b: String) -> Int {
        var i = a.unicodeScalars.makeIterator()
        var j = b.unicodeScalars.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?):
                if x != y { return x.value < y.value ? -1 : 1 }
            }
        }
    }

    /// The JMESPath type name of a value.
    static func typeName(_ v: JSON) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
