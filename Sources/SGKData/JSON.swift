import OrderedCollections

/// An ordered JSON/YAML tree: key order and scalar types are kept exactly
/// (a quoted `"8443"` stays a string, `8443` is an int, `8443.0` a double).
/// Shared by the language (which maps it onto its values) and the cloud
/// clients (which must not know the language).
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(OrderedDictionary<String, JSON>)
}

extension JSON {
    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public subscript(index: Int) -> JSON? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: OrderedDictionary<String, JSON>? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Follows a path of object keys, returning nil where a key is missing.
    public func at(_ keys: String...) -> JSON? {
        var cur: JSON? = self
        for k in keys { cur = cur?[k] }
        return cur
    }
}
