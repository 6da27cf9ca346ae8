/// Produces the token at a byte offset of a source file.
struct Lexer {
    static let punctuation = Set("()[]{},|:=<>+-*/%.!".utf8)
    static let durationScales: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400]
    static let twoCharPunctuation: Set<String> = ["==", "!=", "<=", ">=", "=~", ".."]
    let file: SourceFile
    let b: [UInt8]

    init(_ file: SourceFile) { self.file = file; self.b = file.bytes }

    @inline(__always) func at(_ i: Int) -> UInt8 { i < b.count && i >= 0 ? b[i] : 0 }

    static func isIdentStart(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isIdentChar(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    /// Characters a bare word may hold inside (not at its end for `.`, `:`, `,`).
    static func isWordChar(_ c: UInt8) -> Bool {
        if isIdentChar(c) || c >= 0x80 { return true }
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "@"),
             UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: "%"), UInt8(ascii: "~"),
             UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "^"), UInt8(ascii: "?"), UInt8(ascii: "&"):
            return true
        default: return false
        }
    }

    /// Skips blanks, comments and `\`-newline; returns the new offset and whether anything was skipped.
    func skipSpace(_ pos: Int) -> Int {
        var i = pos
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 13 { i += 1; continue }
            if c == UInt8(ascii: "#") {
                while i < b.count && b[i] != 10 { i += 1 }
                continue
            }
            if c == UInt8(ascii: "\\") && at(i + 1) == 10 { i += 2; continue }
            if c == UInt8(ascii: "\\") && at(i + 1) == 13 && at(i + 2) == 10 { i += 3; continue }
            break
        }
        return i
    }

    func error(_ msg: String, _ s: Int, _ e: Int, hint: String? = nil, incomplete: Bool = false) -> Diagnostic {
        Diagnostic(msg, file: file, range: SourceRange(s, e), hint: hint, incomplete: incomplete)
    }

    func lex(at pos: Int, mode: LexMode) throws(Diagnostic) -> Token {
        let i = skipSpace(pos)
        let space = i > pos || pos == 0
        guard i < b.count else { return Token(kind: .eof, range: SourceRange(b.count, b.count), spaceBefore: space) }
        let c = b[i]
        func tok(_ k: Token.Kind, _ end: Int) -> Token { Token(kind: k, range: SourceRange(i, end), spaceBefore: space) }

        if c == 10 || c == UInt8(ascii: ";") { return tok(.newline, i + 1) }
        if c == UInt8(ascii: "$") {
            var j = i + 1
            guard Lexer.isIdentStart(at(j)) else {
                throw error("expected a variable name after '$'", i, i + 1, hint: "variables are written $name")
            }
            while Lexer.isIdentChar(at(j)) { j += 1 }
            return tok(.variable(String(decoding: b[(i + 1)..<j], as: UTF8.self)), j)
        }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return try lexString(i, space: space) }
        if Lexer.isDigit(c) { return try lexNumber(i, space: space, mode: mode) }
        if mode == .command {
            if c == UInt8(ascii: "-") {
                let n = at(i + 1)
                if Lexer.isIdentStart(n) || (n == UInt8(ascii: "-") && Lexer.isIdentStart(at(i + 2))) {
                    return lexFlag(i, space: space)
                }
                if Lexer.isDigit(n) {
                    var t: Token
                    do { t = try lexNumber(i + 1, space: space, mode: mode) } catch { var e = error; e.range.start = i; throw e }
                    t.range.start = i
                    switch t.kind {
                    case .int(let v): t.kind = .int(-v)
                    case .double(let v): t.kind = .double(-v)
                    case .duration(let v): t.kind = .duration(-v)
                    case .word(let w): t.kind = .word("-" + w)
                    default: break
                    }
                    return t
                }
            }
            if Lexer.isIdentStart(c) || c >= 0x80 || c == UInt8(ascii: ".") || c == UInt8(ascii: "/") || c == UInt8(ascii: "~")
                || c == UInt8(ascii: "*") || c == UInt8(ascii: "@") {
                // `..` and `.` alone stay punctuation only in expressions; in commands `./x` is a word.
                return lexWord(i, space: space)
            }
        } else if Lexer.isIdentStart(c) || c >= 0x80 {
            var j = i
            while Lexer.isIdentChar(at(j)) || at(j) >= 0x80 || (at(j) == UInt8(ascii: "-") && Lexer.isIdentStart(at(j + 1)) && j > i) { j += 1 }
            // Keyword names in map literals and calls may hold dashes: `service-account:`.
            return tok(.word(String(decoding: b[i..<j], as: UTF8.self)), j)
        }
        // `~/x` and `@file` are words (paths, arguments) in any mode: the parser may look ahead in
        // expression mode before it reads a command's arguments.
        if c == UInt8(ascii: "~") || c == UInt8(ascii: "@") { return lexWord(i, space: space) }
        // Punctuation, longest first.
        let n = at(i + 1)
        if n == UInt8(ascii: "=") || n == UInt8(ascii: "~") || n == UInt8(ascii: ".") {
            let two = String(decoding: b[i...(i + 1)], as: UTF8.self)
            if Lexer.twoCharPunctuation.contains(two) { return tok(.punct(two), i + 2) }
        }
        if Lexer.punctuation.contains(c) { return tok(.punct(String(UnicodeScalar(c))), i + 1) }
        if c == UInt8(ascii: "\\") && i + 1 == b.count {
            // `\` ends the input: the REPL reads the next line to join to it.
            throw error("unexpected end of input after '\\'", i, i + 1, hint: "a '\\' at the end of a line joins it to the next", incomplete: true)
        }
        if c >= 0x80 || c < 32 {
            throw error("unexpected character", i, i + 1)
        }
        throw error("unexpected character '\(String(UnicodeScalar(c)))'", i, i + 1)
    }

    func lexFlag(_ i: Int, space: Bool) -> Token {
        var j = i
        while at(j) == UInt8(ascii: "-") { j += 1 }
        while Lexer.isIdentChar(at(j)) || at(j) == UInt8(ascii: "-") || at(j) == UInt8(ascii: ".") { j += 1 }
        let name = String(decoding: b[i..<j], as: UTF8.self)
        if at(j) == UInt8(ascii: "=") {
            var k = j + 1
            while Lexer.isWordChar(at(k)) { k += 1 }
            let v = String(decoding: b[(j + 1)..<k], as: UTF8.self)
            return Token(kind: .flag(name: name, value: v), range: SourceRange(i, k), spaceBefore: space)
        }
        return Token(kind: .flag(name: name, value: nil), range: SourceRange(i, j), spaceBefore: space)
    }

    func lexWord(_ i: Int, space: Bool) -> Token {
        var j = i
        while j < b.count && Lexer.isWordChar(b[j]) {
            let c = b[j]
            // A trailing `:` (keyword), `,` or `.` is not part of the word.
            if c == UInt8(ascii: ":") || c == UInt8(ascii: ",") || c == UInt8(ascii: ".") {
                if !Lexer.isWordChar(at(j + 1)) || (c == UInt8(ascii: ":") && at(j + 1) == UInt8(ascii: ":") && !Lexer.isWordChar(at(j + 2))) { break }
                if c == UInt8(ascii: "=") { break }
            }
            j += 1
        }
        if j == i { j = i + 1 }
        return Token(kind: .word(String(decoding: b[i..<j], as: UTF8.self)), range: SourceRange(i, j), spaceBefore: space)
    }

    func lexNumber(_ i: Int, space: Bool, mode: LexMode) throws(Diagnostic) -> Token {
        var j = i
        while Lexer.isDigit(at(j)) || at(j) == UInt8(ascii: "_") { j += 1 }
        var isDouble = false
        if at(j) == UInt8(ascii: "."), Lexer.isDigit(at(j + 1)) {
            isDouble = true
            j += 1
            while Lexer.isDigit(at(j)) { j += 1 }
        }
        if (at(j) == UInt8(ascii: "e") || at(j) == UInt8(ascii: "E")),
           Lexer.isDigit(at(j + 1)) || ((at(j + 1) == UInt8(ascii: "-") || at(j + 1) == UInt8(ascii: "+")) && Lexer.isDigit(at(j + 2))) {
            isDouble = true
            j += 2
            while Lexer.isDigit(at(j)) { j += 1 }
        }
        let text = String(decoding: b[i..<j].lazy.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        // Duration suffixes.
        var unit = j
        while Lexer.isIdentStart(at(unit)) { unit += 1 }
        let suffix = unit == j ? "" : String(decoding: b[j..<unit], as: UTF8.self)
        let scale: Double? = unit == j ? nil : Lexer.durationScales[suffix]
        if let scale, !Lexer.isWordChar(at(unit)) || at(unit) == UInt8(ascii: ",") || mode == .expression {
            guard let v = Double(text) else { throw error("invalid number '\(text)'", i, j) }
            guard (v * scale).isFinite, v * scale <= Value.maxDurationSeconds else {
                throw error("duration '\(text)\(suffix)' is too long", i, unit, hint: "durations are at most \(Value.formatDuration(Value.maxDurationSeconds))")
            }
            return Token(kind: .duration(v * scale), range: SourceRange(i, unit), spaceBefore: space)
        }
        // In a command, `10.0.0.1` or `3d4` are words, not numbers.
        if mode == .command, Lexer.isWordChar(at(j)), at(j) != UInt8(ascii: ","),
           !(at(j) == UInt8(ascii: ".") && at(j + 1) == UInt8(ascii: ".")) {
            var t = lexWord(i, space: space)
            t.range.start = i
            return t
        }
        if !isDouble, let v = Int(text) {
            return Token(kind: .int(v), range: SourceRange(i, j), spaceBefore: space)
        }
        guard let d = Double(text) else { throw error("invalid number '\(text)'", i, j) }
        if !isDouble && Int(text) == nil {
            throw error("integer literal '\(text)' is too large", i, j, hint: "integers are 64-bit; write \(text).0 for a double")
        }
        // `1e999` would silently be infinity.
        guard d.isFinite else {
            throw error("number '\(text)' is out of range", i, j, hint: "doubles are at most about 1.8e308")
        }
        return Token(kind: .double(d), range: SourceRange(i, j), spaceBefore: space)
    }

    /// Strings: "…" (escapes, `${…}`), '…' (raw), """…""" (multi-line, indentation stripped).
    func lexString(_ i: Int, space: Bool) throws(Diagnostic) -> Token {
        let q = b[i]
        if q == UInt8(ascii: "\""), at(i + 1) == q, at(i + 2) == q { return try lexTripleString(i, space: space) }
        var j = i + 1
        var parts: [StringPart] = []
        var buf: [UInt8] = []
        func flush() { if !buf.isEmpty { parts.append(.text(String(decoding: buf, as: UTF8.self))); buf.removeAll() } }
        if q == UInt8(ascii: "'") {
            while j < b.count && b[j] != q {
                if b[j] == 10 { throw error("unterminated string", i, j, hint: "a '…' string ends on its line; use \"\"\"…\"\"\" for several lines", incomplete: false) }
                j += 1
            }
            guard j < b.count else { throw error("unterminated string", i, j, hint: "a '…' string ends on its line; use \"\"\"…\"\"\" for several lines") }
            return Token(kind: .string([.text(String(decoding: b[(i + 1)..<j], as: UTF8.self))], raw: true), range: SourceRange(i, j + 1), spaceBefore: space)
        }
        while true {
            guard j < b.count else { throw error("unterminated string", i, j, hint: "a \"…\" string ends on its line; use \"\"\"…\"\"\" for several lines") }
            let c = b[j]
            if c == q { break }
            if c == 10 { throw error("unterminated string", i, j, hint: "a \"…\" string ends on its line; use \"\"\"…\"\"\" for several lines") }
            if c == UInt8(ascii: "\\") {
                try escape(&j, into: &buf)
                continue
            }
            if c == UInt8(ascii: "$"), at(j + 1) == UInt8(ascii: "{") {
                flush()
                let r = try interpolation(&j)
                parts.append(.interpolation(r))
                continue
            }
            // Copy a run of ordinary bytes at once.
            var k = j + 1
            while k < b.count {
                let d = b[k]
                if d == q || d == 10 || d == UInt8(ascii: "\\") || d == UInt8(ascii: "$") { break }
                k += 1
            }
            buf.append(contentsOf: b[j..<k])
            j = k
        }
        flush()
        return Token(kind: .string(parts, raw: false), range: SourceRange(i, j + 1), spaceBefore: space)
    }

    func escape(_ j: inout Int, into buf: inout [UInt8]) throws(Diagnostic) {
        let e = at(j + 1)
        switch e {
        case UInt8(ascii: "n"): buf.append(10)
        case UInt8(ascii: "t"): buf.append(9)
        case UInt8(ascii: "r"): buf.append(13)
        case UInt8(ascii: "0"): buf.append(0)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "$"): buf.append(e)
        case UInt8(ascii: "u"):
            guard at(j + 2) == UInt8(ascii: "{") else { throw error("expected '{' after \\u", j, j + 2, hint: "write \\u{1F600}") }
            var k = j + 3
            while k < b.count && b[k] != UInt8(ascii: "}") && k - j < 12 { k += 1 }
            let hex = String(decoding: b[(j + 3)..<min(k, b.count)], as: UTF8.self)
            guard at(k) == UInt8(ascii: "}"), let v = UInt32(hex, radix: 16), let sc = Unicode.Scalar(v) else {
                throw error("invalid unicode escape", j, min(k + 1, b.count))
            }
            buf.append(contentsOf: Array(String(Character(sc)).utf8))
            j = k + 1
            return
        default:
            throw error("invalid escape '\\\(String(UnicodeScalar(e)))'", j, j + 2, hint: "valid escapes: \\n \\t \\r \\0 \\\\ \\\" \\' \\$ \\u{…}; use '…' for raw text")
        }
        j += 2
    }

    /// Scans `${ … }` (nesting braces and strings) and returns the inner range.
    func interpolation(_ j: inout Int) throws(Diagnostic) -> SourceRange {
        let start = j
        var k = j + 2
        var depth = 1
        while k < b.count {
            let c = b[k]
            if c == UInt8(ascii: "{") { depth += 1 }
            else if c == UInt8(ascii: "}") { depth -= 1; if depth == 0 { break } }
            else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                let q = c
                k += 1
                while k < b.count && b[k] != q && b[k] != 10 { if b[k] == UInt8(ascii: "\\") { k += 1 }; k += 1 }
            } else if c == 10 { break }
            k += 1
        }
        guard k < b.count, b[k] == UInt8(ascii: "}") else {
            // `${…}` ends on its line, like the string around it: more input cannot complete it.
            throw error("unterminated '${' in string", start, min(k, b.count), hint: "close it with '}' on the same line")
        }
        j = k + 1
        return SourceRange(start + 2, k)
    }

    func lexTripleString(_ i: Int, space: Bool) throws(Diagnostic) -> Token {
        var j = i + 3
        // Collect raw lines with parts, then strip the common indentation.
        var parts: [StringPart] = []
        var buf: [UInt8] = []
        func flush() { if !buf.isEmpty { parts.append(.text(String(decoding: buf, as: UTF8.self))); buf.removeAll() } }
        while true {
            guard j < b.count else { throw error("unterminated \"\"\" string", i, j, incomplete: true) }
            let c = b[j]
            if c == UInt8(ascii: "\""), at(j + 1) == c, at(j + 2) == c { break }
            if c == UInt8(ascii: "\\") { try escape(&j, into: &buf); continue }
            if c == UInt8(ascii: "$"), at(j + 1) == UInt8(ascii: "{") {
                flush()
                parts.append(.interpolation(try interpolation(&j)))
                continue
            }
            buf.append(c)
            j += 1
        }
        flush()
        return Token(kind: .string(Lexer.dedent(parts), raw: false), range: SourceRange(i, j + 3), spaceBefore: space)
    }

    /// Drops the first line break and a last blank line; removes the common indentation of the text lines.
    static func dedent(_ parts: [StringPart]) -> [StringPart] {
        // Work on the text with placeholders for interpolations.
        var text = ""
        var holes: [SourceRange] = []
        for p in parts {
            switch p {
            case .text(let t): text += t
            case .interpolation(let r): text += "\u{0}\(holes.count)\u{0}"; holes.append(r)
            }
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let f = lines.first, f.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { lines.removeFirst() }
        if let l = lines.last, l.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        let indents = lines.filter { !$0.allSatisfy { $0 == " " || $0 == "\t" } }.map { $0.prefix { $0 == " " || $0 == "\t" }.count }
        let common = indents.min() ?? 0
        let body = lines.map { String($0.dropFirst(min(common, $0.prefix { $0 == " " || $0 == "\t" }.count))) }.joined(separator: "\n")
        // Split the placeholders back out.
        var out: [StringPart] = []
        let pieces = body.split(separator: "\u{0}", omittingEmptySubsequences: false)
        for (n, piece) in pieces.enumerated() {
            if n % 2 == 1, let idx = Int(piece), idx < holes.count { out.append(.interpolation(holes[idx])) }
            else if !piece.isEmpty { out.append(.text(String(piece))) }
        }
        return out
    }
}
