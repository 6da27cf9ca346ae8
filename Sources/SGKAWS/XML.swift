/// A minimal XML element tree, enough for IAM/STS query-protocol responses.
public struct XMLNode: Sendable, Hashable {
    /// Local name (namespace prefix dropped).
    public var name: String
    /// Child elements in document order.
    public var children: [XMLNode]
    /// Concatenated character data directly inside this element, entities decoded.
    public var text: String

    /// First child element with this name.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    /// All child elements with this name.
    public func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// Follows a path of child names.
    public func at(_ path: String...) -> XMLNode? {
        var cur: XMLNode? = self
        for p in path { cur = cur?.child(p) }
        return cur
    }
    /// Text of the child found by following `path`, or nil.
    public func string(_ path: String...) -> String? {
        var cur: XMLNode? = self
        for p in path { cur = cur?.child(p) }
        return cur?.text
    }
    /// First descendant (depth-first) with this name.
    public func find(_ name: String) -> XMLNode? {
        for c in children {
            if c.name == name { return c }
            if let f = c.find(name) { return f }
        }
        return nil
    }
}

/// Errors from the XML reader.
public struct XMLParseError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "XML: \(message)" }
}

/// A small, strict-enough XML reader (no DTDs); returns the root element.
public enum XMLReader {
    public static func parse(_ text: String) throws(XMLParseError) -> XMLNode {
        var p = Parser(bytes: Array(text.utf8))
        return try p.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func peek(_ off: Int = 0) -> UInt8? { i + off < bytes.count ? bytes[i + off] : nil }

        func startsWith(_ s: String) -> Bool {
            let u = Array(s.utf8)
            guard i + u.count <= bytes.count else { return false }
            return Array(bytes[i..<(i + u.count)]) == u
        }

        mutating func skip(until s: String) throws(XMLParseError) {
            while i < bytes.count {
                if startsWith(s) { i += s.utf8.count; return }
                i += 1
            }
            throw XMLParseError(message: "unterminated construct, expected \(s)")
        }

        mutating func skipMisc() throws(XMLParseError) {
            while i < bytes.count {
                if let c = peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1; continue }
                if startsWith("<?") { try skip(until: "?>"); continue }
                if startsWith("<!--") { try skip(until: "-->"); continue }
                if startsWith("<!") { try skip(until: ">"); continue }
                break
            }
        }

        mutating func document() throws(XMLParseError) -> XMLNode {
            if startsWith("\u{FEFF}") { i += 3 }
            try skipMisc()
            guard peek() == UInt8(ascii: "<") else { throw XMLParseError(message: "no root element") }
            return try element()
        }

        mutating func name() -> String {
            let start = i
            while let c = peek(), !(c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == UInt8(ascii: ">")
                || c == UInt8(ascii: "/") || c == UInt8(ascii: "=")) { i += 1 }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
            return full
        }

        mutating func element() throws(XMLParseError) -> XMLNode {
            i += 1  // <
            let n = name()
            guard !n.isEmpty else { throw XMLParseError(message: "empty element name") }
            // attributes: skipped
            while let c = peek(), c != UInt8(ascii: ">") {
                if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: ">") {
                    i += 2
                    return XMLNode(name: n, children: [], text: "")
                }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    i += 1
                    while let d = peek(), d != c { i += 1 }
                }
                i += 1
            }
            guard peek() == UInt8(ascii: ">") else { throw XMLParseError(message: "unterminated tag <\(n)") }
            i += 1
            var children: [XMLNode] = []
            var text: [UInt8] = []
            while true {
                guard let c = peek() else { throw XMLParseError(message: "missing </\(n)>") }
                if c == UInt8(ascii: "<") {
                    if startsWith("</") {
                        i += 2
                        _ = name()
                        while let d = peek(), d != UInt8(ascii: ">") { i += 1 }
                        i += 1
                        return XMLNode(name: n, children: children, text: XMLReader.decodeEntities(text))
                    } else if startsWith("<![CDATA[") {
                        i += 9
                        let start = i
                        try skip(until: "]]>")
                        text.append(contentsOf: Array(bytes[start..<(i - 3)]).map { $0 == UInt8(ascii: "&") ? 0x01 : $0 })
                    } else if startsWith("<!--") || startsWith("<?") {
                        try skipMisc()
                    } else {
                        children.append(try element())
                    }
                } else {
                    text.append(c)
                    i += 1
                }
            }
        }
    }

    /// Decodes `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and numeric references.
    static func decodeEntities(_ raw: [UInt8]) -> String {
        let s = String(decoding: raw, as: UTF8.self)
        guard s.contains("&") || s.contains("\u{01}") else { return s }
        var out = ""
        var idx = s.startIndex
        while idx < s.endIndex {
            let ch = s[idx]
            if ch == "\u{01}" { out.append("&"); idx = s.index(after: idx); continue }
            if ch == "&", let semi = s[idx...].firstIndex(of: ";"), s.distance(from: idx, to: semi) <= 10 {
                let ent = s[s.index(after: idx)..<semi]
                var rep: String?
                switch ent {
                case "amp": rep = "&"
                case "lt": rep = "<"
                case "gt": rep = ">"
                case "quot": rep = "\""
                case "apos": rep = "'"
                default:
                    if ent.hasPrefix("#x") || ent.hasPrefix("#X"), let v = UInt32(ent.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
                        rep = String(Character(u))
                    } else if ent.hasPrefix("#"), let v = UInt32(ent.dropFirst()), let u = Unicode.Scalar(v) {
                        rep = String(Character(u))
                    }
                }
                if let rep {
                    out += rep
                    idx = s.index(after: semi)
                    continue
                }
            }
            out.append(ch)
            idx = s.index(after: idx)
        }
        return out
    }
}
