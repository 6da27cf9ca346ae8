// TEMPORARY: stand-ins for SGKData's JSONCodec / YAMLCodec (branch `data`),
// with the same signatures. Deleted when those land on main.
import Foundation
import OrderedCollections
import SGKData
import Yams

enum JSONCodec {
    static func parse(_ text: String) throws -> JSON { try parse(bytes: Array(text.utf8)) }

    static func parse(bytes: [UInt8]) throws -> JSON {
        var p = TinyJSONParser(b: bytes)
        p.ws()
        let v = try p.value()
        p.ws()
        guard p.i == bytes.count else { throw p.err("trailing characters") }
        return v
    }

    static func serialize(_ value: JSON, pretty: Bool = false) -> String {
        var out = ""
        write(value, into: &out, pretty: pretty, indent: 0)
        return out
    }

    private static func write(_ v: JSON, into out: inout String, pretty: Bool, indent: Int) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): quote(s, into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (n, e) in a.enumerated() {
                if n > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                write(e, into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            for (n, (k, e)) in o.enumerated() {
                if n > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: "  ", count: indent + 1) }
                quote(k, into: &out)
                out += pretty ? ": " : ":"
                write(e, into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { out += "\n" + String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
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
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

private struct TinyJSONParser {
    let b: [UInt8]
    var i = 0
    func err(_ m: String) -> DataParseError { DataParseError(format: "JSON", message: m, line: 1, column: i + 1) }
    mutating func ws() { while i < b.count, b[i] == 32 || b[i] == 10 || b[i] == 13 || b[i] == 9 { i += 1 } }
    mutating func lit(_ s: String, _ v: JSON) throws -> JSON {
        let u = Array(s.utf8)
        guard i + u.count <= b.count, Array(b[i..<i + u.count]) == u else { throw err("bad literal") }
        i += u.count
        return v
    }
    mutating func value() throws -> JSON {
        guard i < b.count else { throw err("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1; ws()
            var o = OrderedDictionary<String, JSON>()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw err("expected key") }
                let k = try string()
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw err("expected :") }
                i += 1; ws()
                o[k] = try value()
                ws()
                guard i < b.count else { throw err("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                throw err("expected , or }")
            }
        case UInt8(ascii: "["):
            i += 1; ws()
            var a: [JSON] = []
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                ws()
                a.append(try value())
                ws()
                guard i < b.count else { throw err("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                throw err("expected , or ]")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try lit("true", .bool(true))
        case UInt8(ascii: "f"): return try lit("false", .bool(false))
        case UInt8(ascii: "n"): return try lit("null", .null)
        default:
            let start = i
            var isDouble = false
            while i < b.count {
                let c = b[i]
                if (c >= 48 && c <= 57) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { i += 1; continue }
                if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { isDouble = true; i += 1; continue }
                break
            }
            let s = String(decoding: b[start..<i], as: UTF8.self)
            if !isDouble, let n = Int(s) { return .int(n) }
            if let d = Double(s) { return .double(d) }
            throw err("bad number")
        }
    }
    mutating func string() throws -> String {
        i += 1
        var bytes: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: bytes, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { break }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): bytes.append(10)
                case UInt8(ascii: "t"): bytes.append(9)
                case UInt8(ascii: "r"): bytes.append(13)
                case UInt8(ascii: "b"): bytes.append(8)
                case UInt8(ascii: "f"): bytes.append(12)
                case UInt8(ascii: "u"):
                    guard i + 4 <= b.count, var code = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else { throw err("bad escape") }
                    i += 4
                    if code >= 0xD800, code < 0xDC00, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"),
                       let lo = UInt32(String(decoding: b[i + 2..<i + 6], as: UTF8.self), radix: 16) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                    bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "?")).utf8))
                default: bytes.append(e)
                }
                continue
            }
            bytes.append(c)
            i += 1
        }
        throw err("unterminated string")
    }
}

enum YAMLCodec {
    static func parseDocuments(_ text: String) throws -> [JSON] {
        var out: [JSON] = []
        for node in try Yams.compose_all(yaml: text) { out.append(convert(node)) }
        return out
    }
    static func parse(_ text: String) throws -> JSON {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return convert(node)
    }
    private static func convert(_ node: Node) -> JSON {
        switch node {
        case .scalar(let s):
            if s.style != .plain { return .string(s.string) }
            let v = s.string
            switch v {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let i = Int(v) { return .int(i) }
                if v.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true, let d = Double(v) { return .double(d) }
                return .string(v)
            }
        case .mapping(let m):
            var o = OrderedDictionary<String, JSON>()
            for (k, v) in m { o[k.string ?? ""] = convert(v) }
            return .object(o)
        case .sequence(let q):
            return .array(q.map(convert))
        case .alias:
            return .null
        }
    }
    static func emit(_ value: JSON) -> String { JSONCodec.serialize(value, pretty: true) + "\n" }
}
