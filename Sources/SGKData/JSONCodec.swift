import OrderedCollections

/// Ordered JSON reader and writer (RFC 8259).
///
/// The reader is hand-written over UTF-8 bytes and is iterative (an explicit
/// stack, no recursion), so hostile nesting cannot overflow the call stack;
/// nesting deeper than `maxDepth` is rejected with "nesting too deep".
///
/// Number rules: a literal without fraction or exponent that fits in `Int` is
/// `.int`; any other number (`1.0`, `1e3`, `1E-2`, or an integer too large for
/// `Int`) is `.double`; a number beyond the range of a double (`1e999`) is an
/// error, never infinity. A duplicate object key is an error naming the key, at the
/// position of its second occurrence (as a YAML mapping's duplicate key is).
public enum JSONCodec {
    /// The deepest array/object nesting the reader accepts.
    public static let maxDepth = 1_000

    /// Parses one JSON value from `text`. Trailing non-whitespace is an error.
    public static func parse(_ text: String) throws(DataParseError) -> JSON {
        var text = text
        let result: Result<JSON, DataParseError> = text.withUTF8 { buf in
            parseResult(buf)
        }
        return try result.get()
    }

    /// Parses one JSON value from UTF-8 bytes (a leading UTF-8 BOM is skipped).
    /// Invalid UTF-8 is reported as a `DataParseError`.
    public static func parse(bytes: [UInt8]) throws(DataParseError) -> JSON {
        let result: Result<JSON, DataParseError> = bytes.withUnsafeBufferPointer { buf in
            parseResult(buf)
        }
        return try result.get()
    }

    /// Serializes `value`. Compact: `{"a":1,"b":[true,null]}`. Pretty: two-space
    /// indentation, `"key": value`, empty containers inline as `{}` / `[]`.
    public static func serialize(_ value: JSON, pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        var writer = JSONWriter(out: out, pretty: pretty)
        writer.write(value, indent: 0)
        out = writer.out
        return String(decoding: out, as: UTF8.self)
    }

    static func parseResult(_ buf: UnsafeBufferPointer<UInt8>) -> Result<JSON, DataParseError> {
        var reader = JSONReader(buf)
        do {
            return .success(try reader.parseDocument())
        } catch {
            return .failure(error.dataParseError(in: buf))
        }
    }
}

// MARK: - Reader

/// An error found at a byte offset; turned into line:column only when thrown out.
struct JSONReaderError: Error {
    var offset: Int
    var message: String

    func dataParseError(in buf: UnsafeBufferPointer<UInt8>) -> DataParseError {
        let (line, column) = lineColumn(of: offset, in: buf)
        return DataParseError(format: "JSON", message: message, line: line, column: column)
    }
}

/// 1-based line and column (column counted in Unicode scalars) of a byte offset.
func lineColumn(of offset: Int, in buf: UnsafeBufferPointer<UInt8>) -> (Int, Int) {
    let stop = min(max(offset, 0), buf.count)
    var line = 1
    var column = 1
    var i = 0
    while i < stop {
        let c = buf[i]
        if c == 0x0A {
            line += 1
            column = 1
        } else if c & 0xC0 != 0x80 {
            column += 1
        }
        i += 1
    }
    return (line, column)
}

private enum Byte {
    static let quote: UInt8 = 0x22       // "
    static let backslash: UInt8 = 0x5C   // \
    static let slash: UInt8 = 0x2F       // /
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let lbracket: UInt8 = 0x5B
    static let rbracket: UInt8 = 0x5D
    static let lbrace: UInt8 = 0x7B
    static let rbrace: UInt8 = 0x7D
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let e: UInt8 = 0x65
    static let E: UInt8 = 0x45
}

/// Powers of ten exactly representable as Double (for the fast float path).
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

struct JSONReader {
    private let buf: UnsafeBufferPointer<UInt8>
    private var i: Int = 0
    private let end: Int
    private var scratch: [UInt8] = []
    /// Where the key `parseKey` last read starts.
    private var keyOffset = 0

    init(_ buf: UnsafeBufferPointer<UInt8>) {
        self.buf = buf
        self.end = buf.count
        if end >= 3, buf[0] == 0xEF, buf[1] == 0xBB, buf[2] == 0xBF { i = 3 }
    }

    @inline(__always)
    private func byte(_ at: Int) -> UInt8 {
        // Callers check `at < end`; an out-of-range read yields 0, never a trap.
        at < end ? buf[at] : 0
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end {
            let c = buf[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 {
                i += 1
            } else {
                return
            }
        }
    }

    private func fail(_ message: String, at offset: Int? = nil) -> JSONReaderError {
        JSONReaderError(offset: offset ?? i, message: message)
    }

    private func describeCurrent() -> String {
        guard i < end else { return "end of input" }
        let c = buf[i]
        if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + String(c, radix: 16, uppercase: true)
    }

    private enum Container { case array, object }

    mutating func parseDocument() throws(JSONReaderError) -> JSON {
        // Open containers, and where each one's pending elements start in `values`.
        // Elements (and object keys) wait on shared stacks so every finished
        // container is built once at its exact size.
        var kinds: [Container] = []
        var starts: [Int] = []
        var values: [JSON] = []
        var keys: [String] = []
        var keyOffsets: [Int] = []  // where each key in `keys` starts, for a duplicate's error
        values.reserveCapacity(64)
        keys.reserveCapacity(64)
        keyOffsets.reserveCapacity(64)

        while true {
            // Parse the start of a value.
            skipWhitespace()
            guard i < end else {
                throw fail(kinds.isEmpty && i == 0 ? "empty input: expected a JSON value" : "unexpected end of input: expected a value")
            }
            var value: JSON
            let c = buf[i]
            switch c {
            case Byte.lbrace, Byte.lbracket:
                if kinds.count >= JSONCodec.maxDepth {
                    throw fail("nesting too deep (more than \(JSONCodec.maxDepth) levels)")
                }
                i += 1
                skipWhitespace()
                if c == Byte.lbracket {
                    if byte(i) == Byte.rbracket {
                        i += 1
                        value = .array([])
                    } else {
                        kinds.append(.array)
                        starts.append(values.count)
                        continue
                    }
                } else {
                    if byte(i) == Byte.rbrace {
                        i += 1
                        value = .object([:])
                    } else {
                        keys.append(try parseKey(first: true))
                        keyOffsets.append(keyOffset)
                        kinds.append(.object)
                        starts.append(values.count)
                        continue
                    }
                }
            case Byte.quote:
                value = .string(try parseString())
            case Byte.minus, Byte.zero...Byte.nine:
                value = try parseNumber()
            case 0x74: // t
                try expectLiteral("true")
                value = .bool(true)
            case 0x66: // f
                try expectLiteral("false")
                value = .bool(false)
            case 0x6E: // n
                try expectLiteral("null")
                value = .null
            default:
                throw fail("unexpected \(describeCurrent()): expected a value")
            }

            // Attach the finished value to its container(s).
            attach: while true {
                guard let top = kinds.last, let start = starts.last else {
                    skipWhitespace()
                    if i < end {
                        throw fail("unexpected \(describeCurrent()) after the JSON value")
                    }
                    return value
                }
                values.append(value)
                skipWhitespace()
                let d = byte(i)
                switch top {
                case .array:
                    if i < end && d == Byte.comma {
                        i += 1
                        break attach
                    } else if i < end && d == Byte.rbracket {
                        i += 1
                        value = .array(Array(values[start...]))
                        values.removeSubrange(start...)
                        kinds.removeLast()
                        starts.removeLast()
                    } else {
                        throw fail(i < end ? "expected ',' or ']' after array element" : "unexpected end of input: expected ',' or ']' after array element")
                    }
                case .object:
                    if i < end && d == Byte.comma {
                        i += 1
                        keys.append(try parseKey(first: false))
                        keyOffsets.append(keyOffset)
                        break attach
                    } else if i < end && d == Byte.rbrace {
                        i += 1
                        let keyStart = keys.count - (values.count - start)
                        value = .object(try JSONReader.makeObject(keys: keys[keyStart...], values: values[start...], offsets: keyOffsets[keyStart...]))
                        keys.removeSubrange(keyStart...)
                        keyOffsets.removeSubrange(keyStart...)
                        values.removeSubrange(start...)
                        kinds.removeLast()
                        starts.removeLast()
                    } else {
                        throw fail(i < end ? "expected ',' or '}' after object member" : "unexpected end of input: expected ',' or '}' after object member")
                    }
                }
            }
        }
    }

    /// Builds an object; a duplicate key is an error at its second occurrence.
    static func makeObject(keys: ArraySlice<String>, values: ArraySlice<JSON>, offsets: ArraySlice<Int>) throws(JSONReaderError) -> OrderedDictionary<String, JSON> {
        let n = keys.count
        if n <= 16 {
            var unique = true
            var a = keys.startIndex
            outer: while a < keys.endIndex {
                var b = a + 1
                while b < keys.endIndex {
                    if keys[a] == keys[b] { unique = false; break outer }
                    b += 1
                }
                a += 1
            }
            if unique {
                return OrderedDictionary(uncheckedUniqueKeys: keys, values: values)
            }
        }
        var object = OrderedDictionary<String, JSON>(minimumCapacity: n)
        for (k, (v, offset)) in zip(keys, zip(values, offsets)) {
            guard object.updateValue(v, forKey: k) == nil else {
                throw JSONReaderError(offset: offset, message: "duplicate object key '\(k)'")
            }
        }
        return object
    }

    /// Parses `"key" :` (leading whitespace allowed), leaving `i` after the colon.
    private mutating func parseKey(first: Bool) throws(JSONReaderError) -> String {
        skipWhitespace()
        keyOffset = i
        guard i < end, buf[i] == Byte.quote else {
            if i >= end { throw fail("unexpected end of input: expected a string key") }
            if !first && buf[i] == Byte.rbrace { throw fail("trailing comma before '}'") }
            throw fail("expected a string key, found \(describeCurrent())")
        }
        let key = try parseString()
        skipWhitespace()
        guard i < end, buf[i] == Byte.colon else {
            throw fail(i < end ? "expected ':' after object key" : "unexpected end of input: expected ':' after object key")
        }
        i += 1
        return key
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONReaderError) {
        let n = word.utf8CodeUnitCount
        let start = i
        let ok = word.withUTF8Buffer { w -> Bool in
            guard end - start >= n else { return false }
            for k in 0..<n where buf[start + k] != w[k] { return false }
            return true
        }
        guard ok else { throw fail("invalid literal (expected '\(word)')") }
        i += n
    }

    // MARK: Numbers

    private mutating func parseNumber() throws(JSONReaderError) -> JSON {
        let start = i
        var negative = false
        if buf[i] == Byte.minus {
            negative = true
            i += 1
        }
        // Integer part.
        guard i < end, buf[i] >= Byte.zero, buf[i] <= Byte.nine else {
            throw fail("invalid number: expected a digit after '-'")
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0   // digits accumulated into mantissa (excluding leading zeros)
        var droppedDigits = 0       // integer digits that did not fit in mantissa
        var overflow = false
        if buf[i] == Byte.zero {
            i += 1
            if i < end, buf[i] >= Byte.zero, buf[i] <= Byte.nine {
                throw fail("invalid number: leading zeros are not allowed", at: start)
            }
        } else {
            while i < end {
                let d = buf[i] &- Byte.zero
                if d > 9 { break }
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    significantDigits += 1
                } else {
                    overflow = true
                    droppedDigits += 1
                }
                i += 1
            }
        }
        var isFloat = false
        var fractionDigits = 0
        if i < end, buf[i] == Byte.dot {
            isFloat = true
            i += 1
            guard i < end, buf[i] >= Byte.zero, buf[i] <= Byte.nine else {
                throw fail("invalid number: expected a digit after '.'")
            }
            while i < end {
                let d = buf[i] &- Byte.zero
                if d > 9 { break }
                if significantDigits < 19 {
                    if mantissa != 0 || d != 0 { significantDigits += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    fractionDigits += 1
                } else {
                    overflow = true
                }
                i += 1
            }
        }
        var exponent = 0
        if i < end, buf[i] == Byte.e || buf[i] == Byte.E {
            isFloat = true
            i += 1
            var expNegative = false
            if i < end, buf[i] == Byte.plus || buf[i] == Byte.minus {
                expNegative = buf[i] == Byte.minus
                i += 1
            }
            guard i < end, buf[i] >= Byte.zero, buf[i] <= Byte.nine else {
                throw fail("invalid number: expected a digit in the exponent")
            }
            while i < end {
                let d = buf[i] &- Byte.zero
                if d > 9 { break }
                if exponent < 100_000 { exponent = exponent * 10 + Int(d) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }

        if !isFloat && !overflow {
            if negative {
                if mantissa <= UInt64(Int.max) { return .int(-Int(mantissa)) }
                if mantissa == UInt64(Int.max) + 1 { return .int(Int.min) }
            } else if mantissa <= UInt64(Int.max) {
                return .int(Int(mantissa))
            }
        }
        // Fast exact path (Clinger): small mantissa and small power of ten.
        if !overflow && mantissa <= (1 << 53) {
            let e10 = exponent - fractionDigits + droppedDigits
            if e10 >= -22 && e10 <= 22 {
                var d = Double(mantissa)
                if e10 >= 0 { d *= exactPowersOfTen[e10] } else { d /= exactPowersOfTen[-e10] }
                return .double(negative ? -d : d)
            }
        }
        // Correctly rounded slow path through the standard library.
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
        guard let d = Double(text) else {
            throw fail("invalid number", at: start)
        }
        guard d.isFinite else {
            let shown = text.count > 40 ? text.prefix(37) + "…" : text
            throw fail("number '\(shown)' is out of range (doubles reach about 1.8e308)", at: start)
        }
        return .double(d)
    }

    // MARK: Strings

    /// Parses a string starting at the opening quote; leaves `i` after the closing quote.
    private mutating func parseString() throws(JSONReaderError) -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: plain ASCII without escapes.
        while i < end {
            let c = buf[i]
            if c == Byte.quote {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == Byte.backslash || c < 0x20 || c >= 0x80 { break }
            i += 1
        }
        return try parseStringSlow(open: open, start: start)
    }

    private mutating func parseStringSlow(open: Int, start: Int) throws(JSONReaderError) -> String {
        var usingScratch = false
        var segmentStart = start
        while true {
            guard i < end else { throw fail("unterminated string", at: open) }
            let c = buf[i]
            if c == Byte.quote {
                let segment = UnsafeBufferPointer(rebasing: buf[segmentStart..<i])
                i += 1
                if !usingScratch {
                    return String(decoding: segment, as: UTF8.self)
                }
                scratch.append(contentsOf: segment)
                return String(decoding: scratch, as: UTF8.self)
            } else if c == Byte.backslash {
                if !usingScratch {
                    usingScratch = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[segmentStart..<i]))
                try parseEscape()
                segmentStart = i
            } else if c < 0x20 {
                throw fail(c == 0x0A ? "unterminated string (raw newline in string)" : "unescaped control character in string")
            } else if c < 0x80 {
                i += 1
            } else {
                guard let n = validUTF8SequenceLength(at: i) else {
                    throw fail("invalid UTF-8 in string")
                }
                i += n
            }
        }
    }

    /// Length of the well-formed UTF-8 sequence starting at `at`, or nil (Unicode Table 3-7).
    private func validUTF8SequenceLength(at p: Int) -> Int? {
        let b0 = buf[p]
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            let q = p + k
            return q < end && buf[q] >= lo && buf[q] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) ? 2 : nil
        case 0xE0:
            return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) && cont(2) ? 3 : nil
        case 0xED:
            return cont(1, 0x80, 0x9F) && cont(2) ? 3 : nil
        case 0xF0:
            return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : nil
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : nil
        case 0xF4:
            return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : nil
        default:
            return nil
        }
    }

    /// At a backslash: decodes one escape into `scratch`.
    private mutating func parseEscape() throws(JSONReaderError) {
        let escapeStart = i
        i += 1
        guard i < end else { throw fail("unterminated string", at: escapeStart) }
        let c = buf[i]
        i += 1
        switch c {
        case Byte.quote: scratch.append(Byte.quote)
        case Byte.backslash: scratch.append(Byte.backslash)
        case Byte.slash: scratch.append(Byte.slash)
        case 0x62: scratch.append(0x08) // b
        case 0x66: scratch.append(0x0C) // f
        case 0x6E: scratch.append(0x0A) // n
        case 0x72: scratch.append(0x0D) // r
        case 0x74: scratch.append(0x09) // t
        case 0x75: // u
            var scalar = try parseHex4(escapeStart: escapeStart)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard byte(i) == Byte.backslash, byte(i + 1) == 0x75 else {
                    throw fail("invalid \\u escape: unpaired high surrogate", at: escapeStart)
                }
                let lowStart = i
                i += 2
                let low = try parseHex4(escapeStart: lowStart)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw fail("invalid \\u escape: high surrogate not followed by a low surrogate", at: escapeStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw fail("invalid \\u escape: unpaired low surrogate", at: escapeStart)
            }
            appendUTF8(scalar)
        default:
            throw fail("invalid escape '\\\(c >= 0x21 && c < 0x7F ? String(Character(Unicode.Scalar(c))) : "?")' in string", at: escapeStart)
        }
    }

    private mutating func parseHex4(escapeStart: Int) throws(JSONReaderError) -> UInt32 {
        guard end - i >= 4 else { throw fail("invalid \\u escape: expected 4 hex digits", at: escapeStart) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("invalid \\u escape: expected 4 hex digits", at: escapeStart)
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func appendUTF8(_ v: UInt32) {
        if v < 0x80 {
            scratch.append(UInt8(v))
        } else if v < 0x800 {
            scratch.append(UInt8(0xC0 | (v >> 6)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            scratch.append(UInt8(0xE0 | (v >> 12)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            scratch.append(UInt8(0xF0 | (v >> 18)))
            scratch.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}

// MARK: - Writer

struct JSONWriter {
    var out: [UInt8]
    let pretty: Bool

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func write(_ value: JSON, indent: Int) {
        switch value {
        case .null:
            out.append(contentsOf: "null".utf8)
        case .bool(let b):
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let n):
            writeInt(n)
        case .double(let d):
            out.append(contentsOf: JSONWriter.formatDouble(d).utf8)
        case .string(let s):
            writeString(s)
        case .array(let a):
            if a.isEmpty {
                out.append(Byte.lbracket); out.append(Byte.rbracket)
                return
            }
            out.append(Byte.lbracket)
            var first = true
            for element in a {
                if !first { out.append(Byte.comma) }
                first = false
                if pretty { newline(indent + 1) }
                write(element, indent: indent + 1)
            }
            if pretty { newline(indent) }
            out.append(Byte.rbracket)
        case .object(let o):
            if o.isEmpty {
                out.append(Byte.lbrace); out.append(Byte.rbrace)
                return
            }
            out.append(Byte.lbrace)
            var first = true
            for (k, v) in o {
                if !first { out.append(Byte.comma) }
                first = false
                if pretty { newline(indent + 1) }
                writeString(k)
                out.append(Byte.colon)
                if pretty { out.append(0x20) }
                write(v, indent: indent + 1)
            }
            if pretty { newline(indent) }
            out.append(Byte.rbrace)
        }
    }

    private mutating func newline(_ level: Int) {
        out.append(0x0A)
        for _ in 0..<(level * 2) { out.append(0x20) }
    }

    private mutating func writeInt(_ n: Int) {
        if n >= 0 && n < 10 {
            out.append(Byte.zero + UInt8(n))
            return
        }
        if n < 0 { out.append(Byte.minus) }
        var magnitude = n.magnitude
        let first = out.count
        repeat {
            out.append(Byte.zero + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[first..<out.count].reverse()
    }

    /// Shortest round-trip text; integral values keep a `.0`; non-finite → `null`.
    static func formatDouble(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        return d.description  // e.g. "1.5", "100.0", "1e+20", "5e-324"
    }

    mutating func writeString(_ s: String) {
        out.append(Byte.quote)
        var s = s
        s.withUTF8 { u in
            var runStart = 0
            var k = 0
            let n = u.count
            while k < n {
                let c = u[k]
                if c >= 0x20 && c != Byte.quote && c != Byte.backslash {
                    k += 1
                    continue
                }
                if runStart < k { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<k])) }
                out.append(Byte.backslash)
                switch c {
                case Byte.quote: out.append(Byte.quote)
                case Byte.backslash: out.append(Byte.backslash)
                case 0x0A: out.append(0x6E)
                case 0x0D: out.append(0x72)
                case 0x09: out.append(0x74)
                case 0x08: out.append(0x62)
                case 0x0C: out.append(0x66)
                default:
                    out.append(0x75); out.append(Byte.zero); out.append(Byte.zero)
                    out.append(JSONWriter.hex[Int(c >> 4)])
                    out.append(JSONWriter.hex[Int(c & 0xF)])
                }
                k += 1
                runStart = k
            }
            if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<n])) }
        }
        out.append(Byte.quote)
    }
}
