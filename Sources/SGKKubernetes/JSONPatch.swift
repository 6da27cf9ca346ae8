import OrderedCollections
import SGKData

/// RFC 6902 JSON Patch over the ordered JSON tree: add, remove, replace, move, copy, test.
/// Paths are RFC 6901 JSON pointers (`~1` is `/`, `~0` is `~`; `-` appends to a list).
public enum JSONPatch {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Applies every operation of `ops` (a list of `{op, path, value?, from?}` maps) in order.
    public static func apply(_ ops: JSON, to doc: JSON) throws(Failure) -> JSON {
        guard case .array(let list) = ops else { throw Failure(message: "a JSON patch must be a list of operations") }
        var cur = doc
        for (i, op) in list.enumerated() {
            guard case .object(let o) = op, let name = o["op"]?.stringValue else {
                throw Failure(message: "JSON patch operation \(i + 1) has no \"op\"")
            }
            guard let path = o["path"]?.stringValue else {
                throw Failure(message: "JSON patch operation \(i + 1) (\(name)) has no \"path\"")
            }
            let tokens = try pointer(path)
            switch name {
            case "add":
                guard let v = o["value"] else { throw Failure(message: "JSON patch add \(path) has no \"value\"") }
                cur = try set(cur, tokens[...], v, path: path, mode: .add)
            case "replace":
                guard let v = o["value"] else { throw Failure(message: "JSON patch replace \(path) has no \"value\"") }
                cur = try set(cur, tokens[...], v, path: path, mode: .replace)
            case "remove":
                cur = try set(cur, tokens[...], .null, path: path, mode: .remove)
            case "move", "copy":
                guard let from = o["from"]?.stringValue else { throw Failure(message: "JSON patch \(name) \(path) has no \"from\"") }
                let ft = try pointer(from)
                guard let v = get(cur, ft[...]) else { throw Failure(message: "JSON patch \(name): no value at \(from)") }
                if name == "move" { cur = try set(cur, ft[...], .null, path: from, mode: .remove) }
                cur = try set(cur, tokens[...], v, path: path, mode: .add)
            case "test":
                guard get(cur, tokens[...]) == (o["value"] ?? .null) else {
                    throw Failure(message: "JSON patch test failed at \(path)")
                }
            default:
                throw Failure(message: "JSON patch operation \"\(name)\" is not one of add, remove, replace, move, copy, test")
            }
        }
        return cur
    }

    static func pointer(_ path: String) throws(Failure) -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw Failure(message: "JSON patch path \"\(path)\" does not start with /") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ doc: JSON, _ tokens: ArraySlice<String>) -> JSON? {
        guard let t = tokens.first else { return doc }
        switch doc {
        case .object(let o): return o[t].flatMap { get($0, tokens.dropFirst()) }
        case .array(let a):
            guard let i = Int(t), a.indices.contains(i) else { return nil }
            return get(a[i], tokens.dropFirst())
        default: return nil
        }
    }

    enum Mode { case add, replace, remove }

    static func set(_ doc: JSON, _ tokens: ArraySlice<String>, _ value: JSON, path: String, mode: Mode) throws(Failure) -> JSON {
        guard let t = tokens.first else {
            if mode == .remove { throw Failure(message: "JSON patch cannot remove the whole document") }
            return value
        }
        let last = tokens.count == 1
        switch doc {
        case .object(var o):
            if last {
                switch mode {
                case .add: o[t] = value
                case .replace:
                    guard o[t] != nil else { throw Failure(message: "JSON patch replace: no value at \(path)") }
                    o[t] = value
                case .remove:
                    guard o[t] != nil else { throw Failure(message: "JSON patch remove: no value at \(path)") }
                    o[t] = nil
                }
                return .object(o)
            }
            guard let child = o[t] else { throw Failure(message: "JSON patch \(mode): no value at \(path) (missing \"\(t)\")") }
            o[t] = try set(child, tokens.dropFirst(), value, path: path, mode: mode)
            return .object(o)
        case .array(var a):
            if last, mode == .add, t == "-" { a.append(value); return .array(a) }
            guard let i = Int(t), i >= 0, i < a.count || (last && mode == .add && i == a.count) else {
                throw Failure(message: "JSON patch \(mode): index \"\(t)\" out of range at \(path)")
            }
            if last {
                switch mode {
                case .add: a.insert(value, at: i)
                case .replace: a[i] = value
                case .remove: a.remove(at: i)
                }
                return .array(a)
            }
            a[i] = try set(a[i], tokens.dropFirst(), value, path: path, mode: mode)
            return .array(a)
        default:
            throw Failure(message: "JSON patch \(mode): \(path) goes through a value that is neither a map nor a list")
        }
    }
}
