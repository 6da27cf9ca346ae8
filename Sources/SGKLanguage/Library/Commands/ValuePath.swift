import OrderedCollections
import SGKData

/// A path into a value, as `get` and `set` take it: `metadata.name`,
/// `spec.containers[0].image`, `items[-1]`,
/// `metadata.annotations."eks.amazonaws.com/role-arn"`, or a list of
/// segments (`["metadata", "annotations", "eks.amazonaws.com/role-arn"]`).
struct ValuePath: CustomStringConvertible {
    enum Segment: Equatable {
        case key(String)
        case index(Int)
    }

    var segments: [Segment]

    init(_ segments: [Segment]) { self.segments = segments }

    /// Parses a path from text or a list of segments.
    init(_ v: Value, argument: CommandError.ArgumentRef) throws {
        switch v {
        case .string(let s): self = try ValuePath.parse(s, argument: argument)
        case .int(let i): self.segments = [.index(i)]
        case .list(let l):
            var segs: [Segment] = []
            segs.reserveCapacity(l.count)
            for (i, e) in l.enumerated() {
                switch e {
                case .string(let s): segs.append(.key(s))
                case .int(let n): segs.append(.index(n))
                default:
                    throw CommandError("path segment [\(i)] must be a string (a key) or an int (an index), not \(e.typeName)", argument: argument)
                }
            }
            self.segments = segs
        default:
            throw CommandError("a path must be text such as 'metadata.name' or a list of segments, not \(v.typeName)", argument: argument)
        }
    }

    static func parse(_ s: String, argument: CommandError.ArgumentRef) throws -> ValuePath {
        var segs: [Segment] = []
        let chars = Array(s.unicodeScalars)
        var i = 0
        var expectSegment = true   // at the start, or after '.'
        func fail(_ m: String) -> CommandError {
            CommandError("invalid path '\(s)': \(m)", hint: "paths look like metadata.name, items[0], 'metadata.annotations.\"eks.amazonaws.com/role-arn\"'", argument: argument)
        }
        if s.isEmpty || s == "." { return ValuePath([]) }
        if chars.first == "." { i = 1 }   // a leading '.' as in jq/yq is allowed
        while i < chars.count {
            let c = chars[i]
            if c == "[" {
                // [n], [-n] or ["key"]
                i += 1
                if i < chars.count, chars[i] == "\"" || chars[i] == "'" {
                    let (key, next) = try quoted(chars, i, fail)
                    i = next
                    guard i < chars.count, chars[i] == "]" else { throw fail("expected ']' after the quoted key") }
                    segs.append(.key(key))
                } else {
                    var num = ""
                    while i < chars.count, chars[i] != "]" { num.unicodeScalars.append(chars[i]); i += 1 }
                    guard i < chars.count else { throw fail("missing ']'") }
                    guard let n = Int(num.trimmingCharacters(in: .whitespaces)) else { throw fail("'[\(num)]' is not an index (write [0], [-1] or [\"key\"])") }
                    segs.append(.index(n))
                }
                i += 1   // past ']'
                expectSegment = false
                continue
            }
            if c == "." {
                if expectSegment { throw fail("empty segment") }
                expectSegment = true
                i += 1
                if i >= chars.count { throw fail("ends with '.'") }
                continue
            }
            if !expectSegment { throw fail("expected '.' or '[' before '\(c)'") }
            if c == "\"" || c == "'" {
                let (key, next) = try quoted(chars, i, fail)
                segs.append(.key(key))
                i = next
            } else {
                var key = ""
                while i < chars.count, chars[i] != ".", chars[i] != "[" { key.unicodeScalars.append(chars[i]); i += 1 }
                segs.append(.key(key))
            }
            expectSegment = false
        }
        return ValuePath(segs)
    }

    private static func quoted(_ chars: [Unicode.Scalar], _ start: Int, _ fail: (String) -> CommandError) throws -> (String, Int) {
        let q = chars[start]
        var i = start + 1
        var key = ""
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count { key.unicodeScalars.append(chars[i + 1]); i += 2; continue }
            if c == q { return (key, i + 1) }
            key.unicodeScalars.append(c)
            i += 1
        }
        throw fail("unterminated quoted segment")
    }

    /// The path as text, with keys that need it quoted.
    var description: String { ValuePath.render(segments[...]) }

    static func render(_ segs: ArraySlice<Segment>) -> String {
        var out = ""
        for s in segs {
            switch s {
            case .index(let n): out += "[\(n)]"
            case .key(let k):
                if !out.isEmpty { out += "." }
                if k.isEmpty || k.contains(".") || k.contains("[") || k.contains("\"") || k.contains("'") {
                    out += "\"" + k.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"") + "\""
                } else {
                    out += k
                }
            }
        }
        return out.isEmpty ? "." : out
    }

    /// A list index, negative from the end, when a segment can index a list:
    /// `[n]`, or a key made of digits (`items.0`).
    static func listIndex(_ seg: Segment, count: Int) -> Int? {
        let n: Int
        switch seg {
        case .index(let i): n = i
        case .key(let k):
            guard !k.isEmpty, k.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let i = Int(k) else { return nil }
            n = i
        }
        let j = n < 0 ? count + n : n
        return j
    }

    /// Why a lookup failed: the message names the path and what is there.
    struct Miss: Error {
        var message: String
        var hint: String?
    }

    /// The value at the path, or a `Miss` describing where it stopped.
    func lookup(_ root: Value) -> Result<Value, Miss> {
        var cur = root
        for (n, seg) in segments.enumerated() {
            let here = ValuePath.render(segments[..<n])
            let upTo = ValuePath.render(segments[...n])
            switch cur {
            case .map(let m):
                let key: String
                switch seg {
                case .key(let k): key = k
                case .index(let i):
                    return .failure(Miss(message: "'\(here)' is a map, not a list: cannot take index [\(i)]",
                                         hint: m.isEmpty ? "it is empty" : "keys there: \(ValuePath.keyList(m))"))
                }
                guard let v = m[key] else {
                    var hint = m.isEmpty ? "the map at '\(here)' is empty" : "keys there: \(ValuePath.keyList(m))"
                    if let s = Spell.suggest(key, among: m.keys) { hint = "did you mean '\(s)'? " + hint }
                    return .failure(Miss(message: "no key '\(key)' at '\(here)' (path '\(upTo)')", hint: hint))
                }
                cur = v
            case .list(let l):
                guard let j = ValuePath.listIndex(seg, count: l.count) else {
                    if case .key(let k) = seg {
                        return .failure(Miss(message: "'\(here)' is a list, not a map: cannot read key '\(k)'",
                                             hint: "index it with [0]…[\(max(l.count - 1, 0))], or use each/where to go through it"))
                    }
                    return .failure(Miss(message: "bad index at '\(here)'", hint: nil))
                }
                guard j >= 0, j < l.count else {
                    return .failure(Miss(message: "index \(ValuePath.render([seg][...]).replacingAll(".", with: "")) is out of range at '\(here)' (a list of \(l.count))", hint: nil))
                }
                cur = l[j]
            default:
                let what: String
                switch seg { case .key(let k): what = "key '\(k)'"; case .index(let i): what = "index [\(i)]" }
                return .failure(Miss(message: "'\(here)' is \(cur.isNull ? "null" : "\(cur.aTypeName)"): cannot read \(what) (path '\(upTo)')", hint: nil))
            }
        }
        return .success(cur)
    }

    static func keyList(_ m: OrderedDictionary<String, Value>) -> String {
        let keys = m.keys.prefix(20).map { k in k.contains(".") || k.contains(" ") || k.isEmpty ? "\"\(k)\"" : k }
        return keys.joined(separator: ", ") + (m.count > 20 ? ", … (\(m.count) keys)" : "")
    }

    /// Sets the value at the path in place, creating maps for missing keys (and nulls).
    /// On failure `root` may be left part-changed: callers work on their own copy.
    func assign(_ root: inout Value, _ newValue: Value) throws(Miss) {
        try ValuePath.assign(&root, segments[...], newValue, done: 0, path: self)
    }

    private static func assign(_ cur: inout Value, _ rest: ArraySlice<Segment>, _ newValue: Value, done: Int, path: ValuePath) throws(Miss) {
        guard let seg = rest.first else { cur = newValue; return }
        let here = render(path.segments[..<done])
        switch cur {
        case .null:
            if case .key = seg {
                var m = OrderedDictionary<String, Value>()
                var child = Value.null
                try assign(&child, rest.dropFirst(), newValue, done: done + 1, path: path)
                if case .key(let k) = seg { m[k] = child }
                cur = .map(m)
            } else {
                throw Miss(message: "'\(here)' does not exist: cannot set an index in it", hint: "create the list first, e.g. set \(here) []")
            }
        case .map(var m):
            guard case .key(let k) = seg else {
                if case .index(let i) = seg { throw Miss(message: "'\(here)' is a map, not a list: cannot set index [\(i)]", hint: nil) }
                return
            }
            cur = .null   // keep `m` uniquely referenced so the change is in place
            if let idx = m.index(forKey: k) {
                try assign(&m.values[idx], rest.dropFirst(), newValue, done: done + 1, path: path)
            } else {
                var child = Value.null
                try assign(&child, rest.dropFirst(), newValue, done: done + 1, path: path)
                m[k] = child
            }
            cur = .map(m)
        case .list(var l):
            guard let j = listIndex(seg, count: l.count) else {
                if case .key(let k) = seg { throw Miss(message: "'\(here)' is a list, not a map: cannot set key '\(k)'", hint: nil) }
                return
            }
            if j == l.count, rest.count == 1 {
                cur = .null
                l.append(newValue)
                cur = .list(l)
                return
            }
            guard j >= 0, j < l.count else {
                let given: String
                if case .index(let n) = seg { given = String(n) } else { given = String(j) }
                throw Miss(message: "index \(given) is out of range at '\(here)' (a list of \(l.count))", hint: "an index equal to the length appends")
            }
            cur = .null
            try assign(&l[j], rest.dropFirst(), newValue, done: done + 1, path: path)
            cur = .list(l)
        default:
            let what: String
            switch seg { case .key(let k): what = "key '\(k)'"; case .index(let i): what = "index [\(i)]" }
            throw Miss(message: "'\(here)' is \(cur.aTypeName): cannot set \(what) in it", hint: nil)
        }
    }
}
