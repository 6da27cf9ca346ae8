import Foundation
import OrderedCollections
import SGKData

/// Reading, changing and shaping values: get, set, where, each, count, first,
/// last, sort, keys, values, contains, merge, unique, type, to-int, to-string.
public enum DataCommands: CommandLibrary {
    public static var commands: [NativeCommand] {
        [get, set, whereCommand, each, count, first, last, sort, keys, values, contains, merge, unique, type, toInt, toString]
    }

    static let pathSummary = "dot-separated keys, [n] indexes (negative from the end), \"quoted\" keys with dots, or a list of segments"

    static let get = NativeCommand(CommandSignature(
        "get", positionals: [.init("path", pathSummary)],
        keywords: [.init("default", "returned instead of an error when the path is missing")],
        input: .subject,
        summary: "Read the value at a path: get metadata.name, get spec.containers[0].image.",
        example: "$sa | get 'metadata.annotations.\"eks.amazonaws.com/role-arn\"' default: \"\"")) { inv in
        let v = try inv.subject("a value to read from")
        guard let pv = inv.args.positional(0) else { throw CommandError("missing PATH", argument: .positional(0)) }
        let path = try ValuePath(pv, argument: .positional(0))
        switch path.lookup(v) {
        case .success(let r): return r
        case .failure(let miss):
            if let d = inv.args.keywords["default"] { return d }
            throw CommandError(miss.message, hint: (miss.hint.map { $0 + "; " } ?? "") + "add default: VALUE to allow a missing path", argument: .positional(0))
        }
    }

    static let set = NativeCommand(CommandSignature(
        "set", positionals: [.init("path", pathSummary), .init("value", "the new value")],
        input: .subject,
        summary: "Return a copy with the value at a path replaced; missing maps on the way are created.",
        example: "$doc | set metadata.labels.app sagemaker")) { inv in
        var v = try inv.subject("a value to change")
        guard let pv = inv.args.positional(0) else { throw CommandError("missing PATH", argument: .positional(0)) }
        let path = try ValuePath(pv, argument: .positional(0))
        let newValue = inv.args.positional(1) ?? .null
        do {
            try path.assign(&v, newValue)
        } catch let miss as ValuePath.Miss {
            throw CommandError(miss.message, hint: miss.hint, argument: .positional(0))
        }
        return v
    }

    /// The block argument at position `i`.
    static func block(_ inv: Invocation, _ i: Int, _ what: String) throws -> Value {
        guard let b = inv.args.positional(i) else { throw CommandError("missing \(what)", argument: .positional(i)) }
        guard case .function = b else {
            throw CommandError("\(what) must be a block { … } or a function, not \(describeType(b))",
                               hint: "e.g. where { $it.kind == \"ServiceAccount\" }", argument: .positional(i))
        }
        return b
    }

    static func entry(_ k: String, _ v: Value) -> Value {
        var m = OrderedDictionary<String, Value>(minimumCapacity: 2)
        m["key"] = .string(k)
        m["value"] = v
        return .map(m)
    }

    static let whereCommand = NativeCommand(CommandSignature(
        "where", positionals: [.init("condition", "a block; $it is the item (for a map: {key, value})")],
        input: .subject,
        summary: "Keep the items of a list (or entries of a map) for which the block is true.",
        example: "$docs | where { $it.kind == \"ServiceAccount\" }")) { inv in
        let subject = try inv.subject("a list or map")
        let b = try block(inv, 0, "the condition")
        switch subject {
        case .list(let l):
            var out: [Value] = []
            out.reserveCapacity(l.count)
            for (i, item) in l.enumerated() {
                try inv.checkCancelled(i)
                if try inv.call(b, [item]).isTruthy { out.append(item) }
            }
            return .list(out)
        case .map(let m):
            var out = OrderedDictionary<String, Value>()
            for (i, (k, v)) in m.enumerated() {
                try inv.checkCancelled(i)
                if try inv.call(b, [entry(k, v)]).isTruthy { out[k] = v }
            }
            return .map(out)
        case .null:
            return .list([])
        default:
            throw CommandError("needs a list or map as input, got \(describeType(subject))", argument: .input)
        }
    }

    static let each = NativeCommand(CommandSignature(
        "each", positionals: [.init("block", "a block; $it is the item (for a map: {key, value})")],
        input: .subject,
        summary: "Call the block on every item of a list (or entry of a map) and return the list of results.",
        example: "$docs | each { $it.metadata.name }")) { inv in
        let subject = try inv.subject("a list or map")
        let b = try block(inv, 0, "the block")
        var out: [Value] = []
        switch subject {
        case .list(let l):
            out.reserveCapacity(l.count)
            for (i, item) in l.enumerated() {
                try inv.checkCancelled(i)
                out.append(try inv.call(b, [item]))
            }
        case .map(let m):
            out.reserveCapacity(m.count)
            for (i, (k, v)) in m.enumerated() {
                try inv.checkCancelled(i)
                out.append(try inv.call(b, [entry(k, v)]))
            }
        case .null:
            break
        default:
            throw CommandError("needs a list or map as input, got \(describeType(subject))", argument: .input)
        }
        return .list(out)
    }

    static let count = NativeCommand(CommandSignature(
        "count", positionals: [.init("condition", optional: true, "a block: count only the items for which it is true")],
        input: .subject,
        summary: "The number of items of a list, entries of a map or characters of a string.",
        example: "kubectl get crd | where { $it.metadata.name =~ \"sagemaker\" } | count")) { inv in
        let subject = try inv.subject("a list, map or string")
        if inv.args.positional(0) != nil {
            let b = try block(inv, 0, "the condition")
            var n = 0
            switch subject {
            case .list(let l):
                for (i, item) in l.enumerated() { try inv.checkCancelled(i); if try inv.call(b, [item]).isTruthy { n += 1 } }
            case .map(let m):
                for (k, v) in m where try inv.call(b, [entry(k, v)]).isTruthy { n += 1 }
            default:
                throw CommandError("counting with a condition needs a list or map, got \(describeType(subject))", argument: .input)
            }
            return .int(n)
        }
        switch subject {
        case .list(let l): return .int(l.count)
        case .map(let m): return .int(m.count)
        case .string(let s): return .int(s.count)
        case .null: return .int(0)
        default: throw CommandError("needs a list, map or string, got \(describeType(subject))", argument: .input)
        }
    }

    static func takeCount(_ inv: Invocation) throws -> Int? {
        guard let v = inv.args.positional(0), !v.isNull else { return nil }
        guard case .int(let n) = v else { throw CommandError("N must be an integer, not \(describeType(v))", argument: .positional(0)) }
        guard n >= 0 else { throw CommandError("N must not be negative (got \(n))", argument: .positional(0)) }
        return n
    }

    static func firstOrLast(_ inv: Invocation, fromEnd: Bool) throws -> Value {
        let subject = try inv.subject("a list or string")
        let n = try takeCount(inv)
        switch subject {
        case .list(let l):
            if let n { return .list(Array(fromEnd ? l.suffix(n) : l.prefix(n))) }
            guard let e = fromEnd ? l.last : l.first else {
                throw CommandError("the list is empty", hint: "\(fromEnd ? "last" : "first") 1 gives an empty list instead of an error", argument: .input)
            }
            return e
        case .string(let s):
            if let n { return .string(String(fromEnd ? s.suffix(n) : s.prefix(n))) }
            guard let c = fromEnd ? s.last : s.first else { throw CommandError("the string is empty", argument: .input) }
            return .string(String(c))
        default:
            throw CommandError("needs a list or string, got \(describeType(subject))", argument: .input)
        }
    }

    static let first = NativeCommand(CommandSignature(
        "first", positionals: [.init("n", optional: true, "how many (then a list is returned)")],
        input: .subject,
        summary: "The first item of a list (or character of a string); with N, the first N as a list.",
        example: "$docs | first 3")) { inv in try firstOrLast(inv, fromEnd: false) }

    static let last = NativeCommand(CommandSignature(
        "last", positionals: [.init("n", optional: true, "how many (then a list is returned)")],
        input: .subject,
        summary: "The last item of a list (or character of a string); with N, the last N as a list.",
        example: "$issuer | split \"/\" | last")) { inv in try firstOrLast(inv, fromEnd: true) }

    /// Sort classes: values of different classes cannot be ordered.
    static func sortClass(_ v: Value) -> String? {
        switch v {
        case .int, .double: return "number"
        case .string: return "string"
        case .bool: return "bool"
        case .duration: return "duration"
        case .list: return "list"
        case .null: return "null"
        case .map, .function: return nil
        }
    }

    static let sort = NativeCommand(CommandSignature(
        "sort",
        keywords: [.init("by", "a block giving the sort key ($it is the item), or a path such as metadata.name"),
                   .init("reverse", isSwitch: true, flags: ["-r", "--reverse"], "largest first")],
        input: .subject,
        summary: "Sort a list (stable): numbers, strings, bools or durations; by: a key block or path.",
        example: "$docs | sort by: metadata.name")) { inv in
        let l = try inv.subjectList("a list")
        let reverse = try inv.args.bool(keyword: "reverse")
        var keys: [Value]
        if let by = inv.args.keyword("by") {
            keys = []
            keys.reserveCapacity(l.count)
            if case .function = by {
                for (i, item) in l.enumerated() { try inv.checkCancelled(i); keys.append(try inv.call(by, [item])) }
            } else {
                let path = try ValuePath(by, argument: .keyword("by"))
                for (i, item) in l.enumerated() {
                    switch path.lookup(item) {
                    case .success(let k): keys.append(k)
                    case .failure(let miss):
                        throw CommandError("item [\(i)]: \(miss.message)", hint: miss.hint, argument: .keyword("by"))
                    }
                }
            }
        } else {
            keys = l
        }
        // One class of keys only.
        var cls: (String, Int)?
        for (i, k) in keys.enumerated() {
            let what = inv.args.has("by") ? "the key of item [\(i)]" : "item [\(i)]"
            guard let c = sortClass(k) else {
                throw CommandError("cannot sort: \(what) is \(k.aTypeName)", hint: "sort maps with by: a path or block, e.g. sort by: metadata.name", argument: inv.args.has("by") ? .keyword("by") : .input)
            }
            if let (c0, i0) = cls, c0 != c {
                let w0 = inv.args.has("by") ? "the key of item [\(i0)]" : "item [\(i0)]"
                throw CommandError("cannot sort mixed types: \(w0) is \(keys[i0].aTypeName), \(what) is \(k.aTypeName)",
                                   hint: "make the keys one type, e.g. by: { $it | to-string }", argument: inv.args.has("by") ? .keyword("by") : .input)
            }
            if cls == nil { cls = (c, i) }
        }
        var order = Array(keys.indices)
        var failed = false
        // NaN has no place among numbers: it sorts last (first with reverse), so that the order is total.
        func isNaN(_ v: Value) -> Bool { if case .double(let d) = v { return d.isNaN }; return false }
        order.sort { a, b in
            let na = isNaN(keys[a]), nb = isNaN(keys[b])
            if na || nb {
                if na == nb { return a < b }
                return reverse ? na : nb
            }
            let c = Operators.compare(keys[a], keys[b]) ?? { failed = true; return 0 }()
            if c != 0 { return reverse ? c > 0 : c < 0 }
            return a < b   // stable
        }
        if failed { throw CommandError("cannot compare the items of this list", argument: .input) }
        var out: [Value] = []
        out.reserveCapacity(l.count)
        for i in order { out.append(l[i]) }
        return .list(out)
    }

    static func subjectMap(_ inv: Invocation) throws -> OrderedDictionary<String, Value> {
        let v = try inv.subject("a map")
        guard case .map(let m) = v else { throw CommandError("needs a map as input, got \(describeType(v))", argument: .input) }
        return m
    }

    static let keys = NativeCommand(CommandSignature(
        "keys", input: .subject,
        summary: "The keys of a map, in order.",
        example: "$doc.metadata | keys")) { inv in
        .list(try subjectMap(inv).keys.map(Value.string))
    }

    static let values = NativeCommand(CommandSignature(
        "values", input: .subject,
        summary: "The values of a map, in key order.",
        example: "$doc.metadata.labels | values")) { inv in
        .list(Array(try subjectMap(inv).values))
    }

    static let contains = NativeCommand(CommandSignature(
        "contains", positionals: [.init("item", "a substring, a list element, or a map key")],
        input: .subject,
        summary: "Whether a string contains a substring, a list an element, or a map a key.",
        example: "$role.Arn | contains \":role/\"")) { inv in
        let subject = try inv.subject("a string, list or map")
        guard let x = inv.args.positional(0) else { throw CommandError("missing ITEM", argument: .positional(0)) }
        switch subject {
        case .string(let s):
            guard case .string(let sub) = x else {
                throw CommandError("looking in a string needs a string, not \(describeType(x))", argument: .positional(0))
            }
            return .bool(sub.isEmpty || s.contains(sub))
        case .list(let l): return .bool(l.contains(x))
        case .map(let m):
            guard case .string(let k) = x else { throw CommandError("map keys are strings; got \(describeType(x))", argument: .positional(0)) }
            return .bool(m[k] != nil)
        case .null: return .bool(false)
        default: throw CommandError("needs a string, list or map as input, got \(describeType(subject))", argument: .input)
        }
    }

    static func deepMerge(_ a: inout OrderedDictionary<String, Value>, _ b: OrderedDictionary<String, Value>) {
        for (k, v) in b {
            if case .map(let bm) = v, let idx = a.index(forKey: k), case .map(var am) = a.values[idx] {
                a.values[idx] = .null
                deepMerge(&am, bm)
                a.values[idx] = .map(am)
            } else {
                a[k] = v
            }
        }
    }

    static let merge = NativeCommand(CommandSignature(
        "merge", positionals: [.init("other", "a map whose keys win")],
        keywords: [.init("deep", isSwitch: true, flags: ["--deep"], "merge nested maps too instead of replacing them")],
        input: .subject,
        summary: "A copy of a map with another map's keys added or replaced (deep: true merges nested maps).",
        example: "$labels | merge {team: ml}")) { inv in
        var m = try subjectMap(inv)
        guard let o = inv.args.positional(0) else { throw CommandError("missing OTHER", argument: .positional(0)) }
        guard case .map(let other) = o else { throw CommandError("OTHER must be a map, not \(describeType(o))", argument: .positional(0)) }
        if try inv.args.bool(keyword: "deep") {
            deepMerge(&m, other)
        } else {
            for (k, v) in other { m[k] = v }
        }
        return .map(m)
    }

    static let unique = NativeCommand(CommandSignature(
        "unique", input: .subject,
        summary: "The list without repeated items, keeping the first of each, in order.",
        example: "$docs | each { $it.kind } | unique")) { inv in
        let l = try inv.subjectList("a list")
        var seen = Set<String>()
        seen.reserveCapacity(l.count)
        var out: [Value] = []
        var key = ""
        for item in l {
            key.removeAll(keepingCapacity: true)
            canonicalKey(item, into: &key)
            if seen.insert(key).inserted { out.append(item) }
        }
        return .list(out)
    }

    static let type = NativeCommand(CommandSignature(
        "type", input: .subject,
        summary: "The type of a value: null, bool, int, double, string, duration, list, map or function.",
        example: "$x | type")) { inv in
        .string(try inv.subject("a value").typeName)
    }

    static let toInt = NativeCommand(CommandSignature(
        "to-int", input: .subject,
        summary: "Convert to an integer: a string of digits, a double (truncated toward zero), a bool (0/1), a duration (whole seconds).",
        example: "\"8443\" | to-int")) { inv in
        let v = try inv.subject("a value")
        switch v {
        case .int: return v
        case .double(let d):
            guard d.isFinite, abs(d) < 9.2e18 else { throw CommandError("\(v.text) does not fit in an integer", argument: .input) }
            return .int(Int(d))
        case .duration(let d):
            guard d.isFinite, abs(d) < 9.2e18 else { throw CommandError("\(v.text) does not fit in an integer", argument: .input) }
            return .int(Int(d))
        case .bool(let b): return .int(b ? 1 : 0)
        case .string(let s):
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if let i = Int(t) { return .int(i) }
            if t.hasPrefix("0x") || t.hasPrefix("0X"), let i = Int(t.dropFirst(2), radix: 16) { return .int(i) }
            throw CommandError("cannot convert \(SecretText.mayShow(s) ? Value.quote(s) : "a string (not shown: it looks like a secret)") to an integer", argument: .input)
        default:
            throw CommandError("cannot convert \(describeType(v)) to an integer", argument: .input)
        }
    }

    static let toString = NativeCommand(CommandSignature(
        "to-string", input: .subject,
        summary: "Convert to a string: scalars as they print, lists and maps as compact JSON.",
        example: "8443 | to-string")) { inv in
        let v = try inv.subject("a value")
        switch v {
        case .string: return v
        case .list, .map: return .string(try SGKDataBridge.checkedJSON(v, pretty: false))
        default: return .string(v.text)
        }
    }
}
