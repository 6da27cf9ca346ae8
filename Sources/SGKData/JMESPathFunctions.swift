import OrderedCollections

/// A function argument: a value, or an expression reference (`&expr`).
enum JMESArgument {
    case value(JSON)
    case expref(JMESNode)
}

/// The types a parameter accepts (the specification's signatures).
enum JMESParamType: Sendable {
    case any, number, string, boolean, array, object, expref, arrayNumber, arrayString

    var name: String {
        switch self {
        case .any: return "any value"
        case .number: return "a number"
        case .string: return "a string"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .object: return "an object"
        case .expref: return "an expression reference (&expr)"
        case .arrayNumber: return "an array of numbers"
        case .arrayString: return "an array of strings"
        }
    }

    func accepts(_ a: JMESArgument) -> Bool {
        guard case .value(let v) = a else { return self == .expref }
        switch (self, v) {
        case (.any, _): return true
        case (.number, .int), (.number, .double): return true
        case (.string, .string), (.boolean, .bool), (.array, .array), (.object, .object): return true
        case (.arrayNumber, .array(let a)):
            return a.allSatisfy { if case .int = $0 { return true }; if case .double = $0 { return true }; return false }
        case (.arrayString, .array(let a)):
            return a.allSatisfy { if case .string = $0 { return true }; return false }
        default: return false
        }
    }
}

/// The built-in functions of the specification.
enum JMESFunction: String, CaseIterable, Sendable {
    case abs, avg, ceil, contains, ends_with, floor, join, keys, length, map, max, max_by, merge, min
    case min_by, not_null, reverse, sort, sort_by, starts_with, sum, to_array, to_string, to_number, type, values

    /// Each parameter's accepted types; the last one repeats when `variadic`.
    var parameters: [[JMESParamType]] {
        switch self {
        case .abs, .ceil, .floor: return [[.number]]
        case .avg, .sum: return [[.arrayNumber]]
        case .contains: return [[.array, .string], [.any]]
        case .ends_with, .starts_with: return [[.string], [.string]]
        case .join: return [[.string], [.arrayString]]
        case .keys, .values: return [[.object]]
        case .length: return [[.string, .array, .object]]
        case .map: return [[.expref], [.array]]
        case .max, .min, .sort: return [[.arrayNumber, .arrayString]]
        case .max_by, .min_by, .sort_by: return [[.array], [.expref]]
        case .merge: return [[.object]]
        case .not_null: return [[.any]]
        case .reverse: return [[.string, .array]]
        case .to_array, .to_string, .to_number, .type: return [[.any]]
        }
    }

    var variadic: Bool { self == .merge || self == .not_null }

    var usage: String {
        let names: [String]
        switch self {
        case .abs, .ceil, .floor: names = ["number"]
        case .avg, .sum: names = ["array of numbers"]
        case .contains: names = ["array|string", "value"]
        case .ends_with, .starts_with: names = ["string", "string"]
        case .join: names = ["separator", "array of strings"]
        case .keys, .values: names = ["object"]
        case .length: names = ["string|array|object"]
        case .map: names = ["&expr", "array"]
        case .max, .min, .sort: names = ["array of numbers or strings"]
        case .max_by, .min_by, .sort_by: names = ["array", "&expr"]
        case .merge: names = ["object", "…"]
        case .not_null: names = ["value", "…"]
        case .reverse: names = ["string|array"]
        case .to_array, .to_string, .to_number, .type: names = ["value"]
        }
        return "\(rawValue)(\(names.joined(separator: ", ")))"
    }

    static func suggestion(for name: String) -> String? {
        let lower = name.lowercased().replacingAll("-", with: "_")
        if let f = JMESFunction(rawValue: lower) { return f.rawValue }
        let aliases = ["len": "length", "count": "length", "size": "length", "startswith": "starts_with",
                       "endswith": "ends_with", "tostring": "to_string", "tonumber": "to_number", "toarray": "to_array",
                       "str": "to_string", "string": "to_string", "int": "to_number", "number": "to_number",
                       "sortby": "sort_by", "maxby": "max_by", "minby": "min_by", "notnull": "not_null", "coalesce": "not_null",
                       "concat": "join", "has": "contains", "includes": "contains", "typeof": "type", "mean": "avg", "average": "avg"]
        if let a = aliases[lower.replacingAll("_", with: "")] ?? aliases[lower] { return a }
        // The closest name within two edits.
        var best: (String, Int)?
        for f in allCases {
            let d = editDistance(Array(lower.unicodeScalars), Array(f.rawValue.unicodeScalars))
            if d <= 2, d < (best?.1 ?? Int.max) { best = (f.rawValue, d) }
        }
        return best?.0
    }

    private static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.count > 64 || b.count > 64 { return Int.max }
        if a.isEmpty || b.isEmpty { return Swift.max(a.count, b.count) }
        var previous: [Int] = Array(0...b.count)
        for i in 1...a.count {
            var row: [Int] = Array(repeating: 0, count: b.count + 1)
            row[0] = i
            for j in 1...b.count {
                let substitution: Int = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                let deletion: Int = previous[j] + 1
                let insertion: Int = row[j - 1] + 1
                row[j] = Swift.min(substitution, deletion, insertion)
            }
            previous = row
        }
        return previous[b.count]
    }

    func checkArity(_ count: Int, expression: String, column: Int) throws(JMESPathError) {
        let n = parameters.count
        let ok = variadic ? count >= n : count == n
        guard !ok else { return }
        let expected = variadic ? "at least \(n) argument\(n == 1 ? "" : "s")" : "\(n) argument\(n == 1 ? "" : "s")"
        throw JMESPathError(.invalidArity, "\(rawValue)() takes \(expected), got \(count): \(usage)", expression: expression, column: column)
    }

    // MARK: Calls

    func call(_ args: [JMESArgument], interpreter: JMESInterpreter, column: Int) throws(JMESPathError) -> JSON {
        let expression = interpreter.expression
        func typeError(_ message: String) -> JMESPathError {
            JMESPathError(.invalidType, "\(rawValue)(): \(message)", expression: expression, column: column)
        }
        try checkArity(args.count, expression: expression, column: column)
        for (i, a) in args.enumerated() {
            let allowed = parameters[Swift.min(i, parameters.count - 1)]
            guard allowed.contains(where: { $0.accepts(a) }) else {
                let want = allowed.map(\.name).joined(separator: " or ")
                throw typeError("argument \(i + 1) must be \(want), got \(JMESFunction.describe(a))")
            }
        }
        func value(_ i: Int) -> JSON {
            if case .value(let v) = args[i] { return v }
            return .null
        }
        func expref(_ i: Int) -> JMESNode {
            if case .expref(let e) = args[i] { return e }
            return .identity
        }
        func array(_ i: Int) -> [JSON] { value(i).arrayValue ?? [] }
        func string(_ i: Int) -> String { value(i).stringValue ?? "" }

        switch self {
        case .abs:
            switch value(0) {
            case .int(let n): return n == Int.min ? .double(-Double(n)) : .int(Swift.abs(n))
            case .double(let d): return .double(Swift.abs(d))
            default: return .null
            }
        case .avg:
            let a = array(0)
            if a.isEmpty { return .null }
            return .double(JMESFunction.doubleSum(a) / Double(a.count))
        case .ceil, .floor:
            switch value(0) {
            case .int(let n): return .int(n)
            case .double(let d):
                let r = self == .ceil ? d.rounded(.up) : d.rounded(.down)
                return Swift.abs(r) < 9.0e15 ? .int(Int(r)) : .double(r)
            default: return .null
            }
        case .contains:
            switch value(0) {
            case .array(let a):
                let search = value(1)
                return .bool(a.contains { JMESInterpreter.equal($0, search) })
            case .string(let s):
                guard case .string(let t) = value(1) else { return .bool(false) }
                return .bool(JMESFunction.scalarsContain(Array(s.unicodeScalars), Array(t.unicodeScalars)))
            default: return .null
            }
        case .ends_with:
            return .bool(Array(string(0).unicodeScalars).reversed().starts(with: Array(string(1).unicodeScalars).reversed()))
        case .starts_with:
            return .bool(string(0).unicodeScalars.starts(with: string(1).unicodeScalars))
        case .join:
            return .string(array(1).compactMap(\.stringValue).joined(separator: string(0)))
        case .keys:
            return .array((value(0).objectValue ?? [:]).keys.map { .string($0) })
        case .values:
            return .array(Array((value(0).objectValue ?? [:]).values))
        case .length:
            switch value(0) {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            default: return .null
            }
        case .map:
            let e = expref(0)
            var out: [JSON] = []
            out.reserveCapacity(array(1).count)
            for element in array(1) { out.append(try interpreter.visit(e, element)) }
            return .array(out)
        case .max, .min:
            let a = array(0)
            guard var best = a.first else { return .null }
            for v in a.dropFirst() {
                let c = JMESFunction.compare(v, best)
                if self == .max ? c > 0 : c < 0 { best = v }
            }
            return best
        case .max_by, .min_by:
            let a = array(0)
            if a.isEmpty { return .null }
            let keys = try sortKeys(a, expref(1), interpreter: interpreter, column: column)
            var best = 0
            for i in 1..<a.count {
                let c = JMESFunction.compare(keys[i], keys[best])
                if self == .max_by ? c > 0 : c < 0 { best = i }
            }
            return a[best]
        case .merge:
            var out = OrderedDictionary<String, JSON>()
            for i in args.indices {
                for (k, v) in value(i).objectValue ?? [:] { out[k] = v }
            }
            return .object(out)
        case .not_null:
            for i in args.indices where value(i) != .null { return value(i) }
            return .null
        case .reverse:
            switch value(0) {
            case .string(let s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            case .array(let a): return .array(a.reversed())
            default: return .null
            }
        case .sort:
            let a = array(0)
            return .array(JMESFunction.stableOrder(a).map { a[$0] })
        case .sort_by:
            let a = array(0)
            if a.isEmpty { return .array([]) }
            let keys = try sortKeys(a, expref(1), interpreter: interpreter, column: column)
            return .array(JMESFunction.stableOrder(keys).map { a[$0] })
        case .sum:
            var total = 0
            var exact = true
            for v in array(0) {
                guard case .int(let n) = v else { exact = false; break }
                let (t, overflow) = total.addingReportingOverflow(n)
                if overflow { exact = false; break }
                total = t
            }
            return exact ? .int(total) : .double(JMESFunction.doubleSum(array(0)))
        case .to_array:
            if case .array = value(0) { return value(0) }
            return .array([value(0)])
        case .to_string:
            if case .string = value(0) { return value(0) }
            return .string(JSONCodec.serialize(value(0)))
        case .to_number:
            switch value(0) {
            case .int, .double: return value(0)
            case .string(let s): return JMESFunction.number(from: s)
            default: return .null
            }
        case .type:
            return .string(JMESInterpreter.typeName(value(0)))
        }
    }

    /// The keys `&expr` gives for each element: all numbers or all strings.
    private func sortKeys(_ a: [JSON], _ e: JMESNode, interpreter: JMESInterpreter, column: Int) throws(JMESPathError) -> [JSON] {
        var keys: [JSON] = []
        keys.reserveCapacity(a.count)
        var kind: String?
        for (i, element) in a.enumerated() {
            let k = try interpreter.visit(e, element)
            let t = JMESInterpreter.typeName(k)
            guard t == "number" || t == "string" else {
                throw JMESPathError(.invalidType, "\(rawValue)(): the expression must give a number or a string for every element, got \(JMESFunction.describe(.value(k))) for element \(i)",
                                    expression: interpreter.expression, column: column)
            }
            if let kind, kind != t {
                throw JMESPathError(.invalidType, "\(rawValue)(): the expression must give only numbers or only strings, got a \(kind) and then a \(t) (element \(i))",
                                    expression: interpreter.expression, column: column)
            }
            kind = t
            keys.append(k)
        }
        return keys
    }

    // MARK: Helpers

    /// Numbers by value, strings by code point (callers pass two of the same kind).
    static func compare(_ a: JSON, _ b: JSON) -> Int {
        if case .string(let x) = a, case .string(let y) = b { return JMESInterpreter.compareStrings(x, y) }
        return JMESInterpreter.compareNumbers(a, b) ?? 0
    }

    /// Indices of `keys` in ascending order; equal keys keep their order.
    static func stableOrder(_ keys: [JSON]) -> [Int] {
        var order = Array(keys.indices)
        order.sort { i, j in
            let c = compare(keys[i], keys[j])
            return c != 0 ? c < 0 : i < j
        }
        return order
    }

    static func doubleSum(_ a: [JSON]) -> Double {
        var total = 0.0
        for v in a {
            switch v {
            case .int(let n): total += Double(n)
            case .double(let d): total += d
            default: break
            }
        }
        return total
    }

    static func scalarsContain(_ s: [Unicode.Scalar], _ t: [Unicode.Scalar]) -> Bool {
        if t.isEmpty { return true }
        if t.count > s.count { return false }
        for i in 0...(s.count - t.count) where s[i] == t[0] && s[i..<(i + t.count)].elementsEqual(t) {
            return true
        }
        return false
    }

    /// A string's number: JSON number syntax (an int stays an int), or a decimal such as
    /// ".5" or "+1"; anything else, and infinities, give null.
    static func number(from s: String) -> JSON {
        let trimmed = s.trimmingASCIIWhitespace()
        if let j = try? JSONCodec.parse(trimmed) {
            switch j {
            case .int, .double: return j
            default: return .null
            }
        }
        let allowed = trimmed.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || $0 == "." || $0 == "+" || $0 == "-" || $0 == "e" || $0 == "E" }
        if allowed, !trimmed.isEmpty, let d = Double(trimmed), d.isFinite {
            if let i = Int(trimmed) { return .int(i) }
            return .double(d)
        }
        return .null
    }

    static func describe(_ a: JMESArgument) -> String {
        guard case .value(let v) = a else { return "an expression reference" }
        let text = JSONCodec.serialize(v)
        let shown = text.count <= 40 && SecretText.mayShow(text) ? " (\(text))" : ""
        switch v {
        case .null: return "null"
        case .bool: return "a boolean\(shown)"
        case .int, .double: return "a number\(shown)"
        case .string: return "a string\(shown)"
        case .array(let l):
            let kinds = Set(l.map(JMESInterpreter.typeName))
            return "an array\(kinds.count > 1 ? " mixing \(kinds.sorted().joined(separator: ", "))" : "")\(shown)"
        case .object: return "an object\(shown)"
        }
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> String {
        let s = unicodeScalars
        guard let first = s.firstIndex(where: { !($0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r") }) else { return "" }
        guard let last = s.lastIndex(where: { !($0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r") }) else { return "" }
        return String(s[first...last])
    }
}
