import OrderedCollections
import SGKData

// A small ordered JSON reader/writer for AWS payloads, used until SGKData's
// JSONCodec lands on main.
enum MiniJSON {
    struct ParseError: Error, Sendable { var message: String }

    static func parse(_ text: String) throws(ParseError) -> JSON {
        var p = Parser(b: Array(text.utf8))
        p.ws()
        let v = try p.value(depth: 0)
        p.ws()
        guard p.i == p.b.count else { throw ParseError(message: "trailing characters at \(p.i)") }
        return v
    }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSON {
        try parse(String(decoding: bytes, as: UTF8.self))
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0
        mutating func ws() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func peek() -> UInt8? { i < b.count ? b[i] : nil }
        mutating func lit(_ s: String, _ v: JSON) throws(ParseError) -> JSON {
            let u = Array(s.utf8)
            guard i + u.count <= b.count, Array(b[i..<(i + u.count)]) == u else { throw ParseError(message: "bad literal at \(i)") }
            i += u.count
            return v
        }
        mutating func value(depth: Int) throws(ParseError) -> JSON {
            guard depth < 512 else { throw ParseError(message: "too deep") }
            guard let c = peek() else { throw ParseError(message: "unexpected end") }
            switch c {
            case UInt8(ascii: "{"):
                i += 1
                var o = OrderedDictionary<String, JSON>()
                ws()
                if peek() == UInt8(ascii: "}") { i += 1; return .object(o) }
                while true {
                    ws()
                    guard peek() == UInt8(ascii: "\"") else { throw ParseError(message: "expected key at \(i)") }
                    let k = try string()
                    ws()
                    guard peek() == UInt8(ascii: ":") else { throw ParseError(message: "expected : at \(i)") }
                    i += 1
                    ws()
                    o[k] = try value(depth: depth + 1)
                    ws()
                    if peek() == UInt8(ascii: ",") { i += 1; continue }
                    if peek() == UInt8(ascii: "}") { i += 1; return .object(o) }
                    throw ParseError(message: "expected , or } at \(i)")
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [JSON] = []
                ws()
                if peek() == UInt8(ascii: "]") { i += 1; return .array(a) }
                while true {
                    ws()
                    a.append(try value(depth: depth + 1))
                    ws()
                    if peek() == UInt8(ascii: ",") { i += 1; continue }
                    if peek() == UInt8(ascii: "]") { i += 1; return .array(a) }
                    throw ParseError(message: "expected , or ] at \(i)")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try lit("true", .bool(true))
            case UInt8(ascii: "f"): return try lit("false", .bool(false))
            case UInt8(ascii: "n"): return try lit("null", .null)
            default: return try number()
            }
        }
        mutating func number() throws(ParseError) -> JSON {
            let start = i
            var isDouble = false
            while let c = peek(), (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isDouble = true }
                i += 1
            }
            let s = String(decoding: b[start..<i], as: UTF8.self)
            if !isDouble, let v = Int(s) { return .int(v) }
            if let d = Double(s), !s.isEmpty { return .double(d) }
            throw ParseError(message: "bad number at \(start)")
        }
        mutating func hex4() throws(ParseError) -> UInt32 {
            guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16) else {
                throw ParseError(message: "bad \\u escape at \(i)")
            }
            i += 4
            return v
        }
        mutating func string() throws(ParseError) -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek() else { throw ParseError(message: "unterminated string") }
                i += 1
                if c == UInt8(ascii: "\"") { break }
                if c != UInt8(ascii: "\\") { out.append(c); continue }
                guard let e = peek() else { throw ParseError(message: "unterminated escape") }
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800, v < 0xDC00, peek() == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo &- 0xDC00)
                    }
                    let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: out.append(e)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    static func serialize(_ v: JSON) -> String {
        var out = ""
        write(v, &out)
        return out
    }

    private static func write(_ v: JSON, _ out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? String(d) : "null"
        case .string(let s): quote(s, &out)
        case .array(let a):
            out += "["
            for (n, e) in a.enumerated() { if n > 0 { out += "," }; write(e, &out) }
            out += "]"
        case .object(let o):
            out += "{"
            for (n, (k, e)) in o.enumerated() { if n > 0 { out += "," }; quote(k, &out); out += ":"; write(e, &out) }
            out += "}"
        }
    }

    private static func quote(_ s: String, _ out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
