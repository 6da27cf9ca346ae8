import Foundation
import SGKData

/// Shell lines pasted from documentation (`aws iam get-role --role-name R --output text`,
/// `export CLUSTER_NAME=demo`): a statement that starts with a registered head word, with
/// `export`, or with `NAME=value` is read with the shell's rules up to the end of its line, and
/// runs as the core command `shell-line`, which hands the words to the head's form table.
///
/// The core knows nothing of the heads: libraries register them (`ShellLine.register`) with the
/// handler that maps a line onto their commands. Shell variables are the session's environment:
/// `export NAME=value` and `NAME=value` set it, `$NAME` / `${NAME}` in a shell line read it, and
/// sgk code reads it with `env NAME`.
public enum ShellLine {
    /// What a head's handler gives back: the text the CLI would print on stdout (nil: nothing).
    public struct Output: Sendable {
        public var text: String?
        public init(text: String?) { self.text = text }
    }

    /// A head's handler: the expanded words of the line (the head first) → what it printed.
    public typealias Handler = @Sendable (_ words: [String], _ invocation: Invocation) throws -> Output

    struct Head: Sendable {
        var name: String
        /// Second words that keep the sgk meaning (`aws whoami` is sgk's command, not a pasted line).
        var except: Set<String>
        var handler: Handler
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var heads: [String: Head] = ["echo": Head(name: "echo", except: [], handler: echo)]

    /// `echo [-n] WORDS…`: the words joined by spaces (`echo $CLUSTER_NAME`).
    static let echo: Handler = { words, _ in
        var w = Array(words.dropFirst())
        let newline = w.first != "-n"
        if !newline { w.removeFirst() }
        return Output(text: w.joined(separator: " ") + (newline ? "\n" : ""))
    }

    /// Registers a head word (`aws`, `eksctl`) and the handler of its lines. `except` lists second
    /// words that keep their sgk meaning.
    public static func register(head: String, except: Set<String> = [], handler: @escaping Handler) {
        lock.lock(); defer { lock.unlock() }
        heads[head] = Head(name: head, except: except, handler: handler)
    }

    static func head(_ name: String) -> Head? {
        lock.lock(); defer { lock.unlock() }
        return heads[name]
    }

    /// `NAME=value` (a shell assignment): the name is an identifier.
    static func isAssignment(_ w: String) -> Bool {
        guard let eq = w.firstIndex(of: "="), eq != w.startIndex else { return false }
        let name = w[..<eq]
        guard let f = name.utf8.first, Lexer.isIdentStart(f) else { return false }
        return name.utf8.allSatisfy(Lexer.isIdentChar)
    }

    /// Whether a statement starting with `first` (then `second`) is a shell line.
    static func starts(_ first: String, _ second: String?) -> Bool {
        if first == "export" || isAssignment(first) { return true }
        guard let h = head(first) else { return false }
        if let second, h.except.contains(second) { return false }
        return true
    }

    // MARK: words

    /// One part of a shell word: text, or a variable read from the environment.
    enum Part { case text(String), variable(String) }

    /// The segments of a line (split at `|`), each a list of words; and where the line ends.
    static func lex(_ b: [UInt8], from start: Int, end: Int, file: SourceFile) throws(Diagnostic) -> (segments: [[(parts: [Part], range: SourceRange)]], end: Int) {
        var segments: [[(parts: [Part], range: SourceRange)]] = [[]]
        var i = start
        func at(_ k: Int) -> UInt8 { k < end ? b[k] : 0 }
        func err(_ m: String, _ s: Int, _ e: Int, hint: String? = nil, incomplete: Bool = false) -> Diagnostic {
            Diagnostic(m, file: file, range: SourceRange(s, max(e, s + 1) <= end ? max(e, s + 1) : e), hint: hint, incomplete: incomplete)
        }
        /// `$NAME`, `${NAME}` at `k` (the `$`): the name and the offset after it.
        func variable(_ k: Int) throws(Diagnostic) -> (String, Int)? {
            if at(k + 1) == UInt8(ascii: "{") {
                var j = k + 2
                while Lexer.isIdentChar(at(j)) { j += 1 }
                guard at(j) == UInt8(ascii: "}"), j > k + 2 else {
                    throw err("only ${NAME} is supported in a shell line", k, j + 1, hint: "sgk reads ${NAME} and $NAME from the environment; no ${…} operators")
                }
                return (String(decoding: b[(k + 2)..<j], as: UTF8.self), j + 1)
            }
            if at(k + 1) == UInt8(ascii: "(") {
                throw err("command substitution $(…) is not supported in a pasted line", k, k + 2,
                          hint: "run the inner command on its own line, or write it in sgk: let x = (…)")
            }
            guard Lexer.isIdentStart(at(k + 1)) else { return nil }
            var j = k + 1
            while Lexer.isIdentChar(at(j)) { j += 1 }
            return (String(decoding: b[(k + 1)..<j], as: UTF8.self), j)
        }
        while true {
            // Blanks and `\`-newline between words.
            while i < end {
                if b[i] == 32 || b[i] == 9 || b[i] == 13 { i += 1; continue }
                if b[i] == UInt8(ascii: "\\"), at(i + 1) == 10 { i += 2; continue }
                if b[i] == UInt8(ascii: "\\"), at(i + 1) == 13, at(i + 2) == 10 { i += 3; continue }
                break
            }
            if i >= end { break }
            if b[i] == UInt8(ascii: "\\"), i + 1 == end {
                throw err("unexpected end of input after '\\'", i, i + 1, hint: "a '\\' at the end of a line joins it to the next", incomplete: true)
            }
            let c = b[i]
            // `}` alone ends the line too: a pasted line inside a block (`try { aws … }`).
            if c == 10 || c == UInt8(ascii: ";") || c == UInt8(ascii: ")") || c == UInt8(ascii: "#") || c == UInt8(ascii: "}") { break }
            if c == UInt8(ascii: "|") {
                if at(i + 1) == UInt8(ascii: "|") { throw err("'||' is not supported in a pasted line", i, i + 2, hint: "use try { … } catch { … } in sgk") }
                guard !(segments.last?.isEmpty ?? true) else { throw err("expected a command before '|'", i, i + 1) }
                segments.append([])
                i += 1
                continue
            }
            if c == UInt8(ascii: "&") || c == UInt8(ascii: ">") || c == UInt8(ascii: "<") || c == UInt8(ascii: "`") {
                let what = c == UInt8(ascii: "&") ? (at(i + 1) == c ? "'&&'" : "'&'") : c == UInt8(ascii: "`") ? "command substitution `…`" : "redirection"
                throw err("\(what) is not supported in a pasted line", i, i + 1,
                          hint: c == UInt8(ascii: "<") ? "give the file: -f FILE, file://FILE" : "run one command per line")
            }
            // One word.
            let ws = i
            var parts: [Part] = []
            var text = ""
            func flush() { if !text.isEmpty { parts.append(.text(text)); text = "" } }
            var quoted = false
            while i < end {
                let c = b[i]
                if c == 32 || c == 9 || c == 13 || c == 10 || c == UInt8(ascii: ";") || c == UInt8(ascii: "|") || c == UInt8(ascii: ")")
                    || c == UInt8(ascii: "&") || c == UInt8(ascii: ">") || c == UInt8(ascii: "<") { break }
                if c == UInt8(ascii: "'") {
                    quoted = true
                    var j = i + 1
                    while j < end && b[j] != c { j += 1 }
                    guard j < end else { throw err("unterminated '…' string", i, j, hint: "close the quote on the same paste") }
                    text += String(decoding: b[(i + 1)..<j], as: UTF8.self)
                    i = j + 1
                    continue
                }
                if c == UInt8(ascii: "\"") {
                    quoted = true
                    var j = i + 1
                    while j < end && b[j] != c {
                        if b[j] == UInt8(ascii: "\\"), j + 1 < end, [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"), UInt8(ascii: "`")].contains(b[j + 1]) {
                            text += String(UnicodeScalar(b[j + 1])); j += 2; continue
                        }
                        if b[j] == UInt8(ascii: "\\"), at(j + 1) == 10 { j += 2; continue }
                        if b[j] == UInt8(ascii: "$"), case let (name, after)? = try variable(j) {
                            flush(); parts.append(.variable(name)); j = after; continue
                        }
                        if b[j] == UInt8(ascii: "`") { throw err("command substitution `…` is not supported in a pasted line", j, j + 1) }
                        // Copy one UTF-8 scalar's bytes at a time.
                        var k = j + 1
                        while k < end && b[k] & 0xC0 == 0x80 { k += 1 }
                        text += String(decoding: b[j..<k], as: UTF8.self)
                        j = k
                    }
                    guard j < end else { throw err("unterminated \"…\" string", i, j, hint: "close the quote on the same paste") }
                    i = j + 1
                    continue
                }
                if c == UInt8(ascii: "\\") {
                    if at(i + 1) == 10 { i += 2; continue }
                    if i + 1 < end { text += String(UnicodeScalar(b[i + 1])); i += 2; continue }
                    throw err("unexpected end of input after '\\'", i, i + 1, hint: "a '\\' at the end of a line joins it to the next", incomplete: true)
                }
                if c == UInt8(ascii: "$"), case let (name, after)? = try variable(i) {
                    flush(); parts.append(.variable(name)); i = after; continue
                }
                if c == UInt8(ascii: "~"), i == ws, at(i + 1) == UInt8(ascii: "/") || at(i + 1) == 32 || i + 1 == end {
                    flush(); parts.append(.variable("HOME")); i += 1; continue
                }
                var k = i + 1
                while k < end && b[k] & 0xC0 == 0x80 { k += 1 }
                text += String(decoding: b[i..<k], as: UTF8.self)
                i = k
            }
            flush()
            if parts.isEmpty && quoted { parts = [.text("")] }
            segments[segments.count - 1].append((parts, SourceRange(ws, i)))
        }
        if segments.count > 1, segments.last?.isEmpty == true {
            throw err("expected a command after '|'", i, i, incomplete: i >= end)
        }
        return (segments, i)
    }

    /// The line as a call of `shell-line`: each segment a list of string expressions, where a
    /// `$NAME` reads `env NAME ""`.
    static func call(_ segments: [[(parts: [Part], range: SourceRange)]], range: SourceRange, prints: Bool) -> CommandCall {
        func word(_ w: (parts: [Part], range: SourceRange)) -> Expr {
            .string(w.parts.map { p -> InterpolationPart in
                switch p {
                case .text(let t): return .text(t)
                case .variable(let n):
                    let env = CommandCall(items: [.word("env", w.range), .argument(.string([.text(n)], w.range)), .argument(.string([], w.range))], range: w.range)
                    return .expr(.pipeline(Pipeline(stages: [.command(env)], range: w.range)))
                }
            }, w.range)
        }
        let list = Expr.list(segments.map { seg in .list(seg.map(word), range) }, range)
        return CommandCall(items: [.word("shell-line", range), .argument(list), .keyword("print", range, .bool(prints, range))], range: range)
    }

    // MARK: running

    /// Runs a line: `export`/assignments set the environment; a head's handler runs the command;
    /// `| grep`, `| wc`, `| cut`, `| head`, `| tail`, `| sort` filter its text as the shell's would.
    static func run(_ segments: [[String]], prints: Bool, _ inv: Invocation) throws -> Value {
        guard let first = segments.first, let head = first.first else { return .null }
        var text: String?
        if head == "export" || isAssignment(head) {
            let words = head == "export" ? Array(first.dropFirst()) : first
            for w in words {
                if w.hasPrefix("-") { throw CommandError("\(w): options are not supported", hint: "export NAME=value") }
                guard let eq = w.firstIndex(of: "=") else {
                    // `export NAME` marks a shell variable for export: the environment already is.
                    guard isAssignment(w + "=") else { throw CommandError("export: '\(w)' is not a valid name", hint: "export NAME=value") }
                    continue
                }
                guard isAssignment(w) else { throw CommandError("'\(w)' is not a NAME=value assignment", hint: "names are letters, digits and _") }
                inv.context.environment[String(w[..<eq])] = String(w[w.index(after: eq)...])
            }
            if segments.count > 1 { throw CommandError("an assignment prints nothing to pipe") }
            return .null
        } else if let h = self.head(head) {
            do { text = try h.handler(first, inv).text } catch { throw Failure(line: name(first), error: error) }
        } else {
            throw CommandError("'\(head)' is not a shell line sgk runs")
        }
        for seg in segments.dropFirst() {
            do { text = try filter(seg, text ?? "") } catch { throw Failure(line: seg.first ?? "|", error: error) }
        }
        guard let text else { return .null }
        if prints {
            inv.context.output.write(text)
            return .null
        }
        // As $(…) gives it: without its last line break.
        return .string(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    /// An error of a pasted line, reported under the line's command (`aws iam get-role: …`), not `shell-line`.
    struct Failure: Error {
        var line: String
        var error: any Error
    }

    /// The head and the words that name the operation (`aws iam get-role`, `eksctl utils associate-iam-oidc-provider`).
    static func name(_ words: [String]) -> String {
        guard let h = words.first else { return "shell-line" }
        var out = [h]
        for w in words.dropFirst().prefix(2) {
            guard !w.hasPrefix("-"), w.utf8.allSatisfy({ Lexer.isIdentChar($0) || $0 == UInt8(ascii: "-") }) else { break }
            out.append(w)
        }
        return out.joined(separator: " ")
    }

    static func lines(_ text: String) -> [String] {
        var l = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    static func joined(_ l: [String]) -> String { l.isEmpty ? "" : l.joined(separator: "\n") + "\n" }

    /// A text filter after `|`, as coreutils' would behave on the common flags.
    static func filter(_ words: [String], _ text: String) throws -> String {
        guard let cmd = words.first else { return text }
        var args = Array(words.dropFirst())
        func unsupported(_ f: String) -> CommandError {
            CommandError("\(cmd) \(f) is not supported after '|' in a pasted line", hint: "sgk filters the text with grep [-i -v -c -w -E -F -q], wc [-l -w -c], cut -d D -f N, head/tail [-n N], sort [-r -u]")
        }
        switch cmd {
        case "grep", "egrep", "fgrep":
            var invert = false, ignoreCase = false, count = false, word = false, fixed = cmd == "fgrep", quiet = false
            var pattern: String?
            while let a = args.first {
                args.removeFirst()
                if a.hasPrefix("-"), a.count > 1, pattern == nil {
                    if a == "-e" { pattern = args.isEmpty ? nil : args.removeFirst(); continue }
                    for ch in a.dropFirst() {
                        switch ch {
                        case "v": invert = true
                        case "i": ignoreCase = true
                        case "c": count = true
                        case "w": word = true
                        case "E": break
                        case "F": fixed = true
                        case "q": quiet = true
                        default: throw unsupported("-\(ch)")
                        }
                    }
                } else if pattern == nil { pattern = a } else { throw unsupported("with a file argument ('\(a)')") }
            }
            guard let pattern else { throw CommandError("grep: no pattern", hint: "… | grep WORD") }
            var re = fixed ? NSRegularExpression.escapedPattern(for: pattern) : pattern
            if !fixed && cmd == "grep" {
                // Basic regular expressions: `\|`, `\(`, `\)` are the operators; `|`, `(`, `)`, `+`, `?` literals.
                var out = ""
                var it = re.makeIterator()
                while let ch = it.next() {
                    if ch == "\\", let n = it.next() {
                        if "|(){}+?".contains(n) { out.append(n) } else { out.append("\\"); out.append(n) }
                    } else if "|(){}+?".contains(ch) { out.append("\\"); out.append(ch) } else { out.append(ch) }
                }
                re = out
            }
            if word { re = "\\b(?:" + re + ")\\b" }
            let rx: NSRegularExpression
            do { rx = try NSRegularExpression(pattern: re, options: ignoreCase ? [.caseInsensitive] : []) } catch {
                throw CommandError("grep: invalid pattern '\(pattern)'")
            }
            let kept = lines(text).filter { l in (rx.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)) != nil) != invert }
            if quiet { return "" }
            return count ? "\(kept.count)\n" : joined(kept)
        case "wc":
            let l = lines(text)
            var out: [String] = []
            let flags = args.isEmpty ? ["-l", "-w", "-c"] : args
            for f in flags {
                switch f {
                case "-l": out.append(String(text.filter { $0 == "\n" }.count))
                case "-w": out.append(String(l.reduce(0) { $0 + $1.split(whereSeparator: { $0 == " " || $0 == "\t" }).count }))
                case "-c": out.append(String(text.utf8.count))
                default: throw unsupported(f)
                }
            }
            return out.joined(separator: " ") + "\n"
        case "head", "tail":
            var n = 10
            while let a = args.first {
                args.removeFirst()
                if a == "-n", let v = args.first.flatMap({ Int($0) }) { n = v; args.removeFirst() }
                else if a.hasPrefix("-n"), let v = Int(a.dropFirst(2)) { n = v }
                else if a.hasPrefix("-"), let v = Int(a.dropFirst()) { n = v }
                else { throw unsupported(a) }
            }
            let l = lines(text)
            return joined(cmd == "head" ? Array(l.prefix(n)) : Array(l.suffix(n)))
        case "sort":
            var reverse = false, unique = false
            for a in args {
                switch a { case "-r": reverse = true; case "-u": unique = true; case "-ru", "-ur": reverse = true; unique = true; default: throw unsupported(a) }
            }
            var l = lines(text).sorted()
            if unique { var seen = Set<String>(); l = l.filter { seen.insert($0).inserted } }
            return joined(reverse ? Array(l.reversed()) : l)
        case "cut":
            var delim = "\t"
            var fields: [Int] = []
            while let a = args.first {
                args.removeFirst()
                var v: String?
                let flag = a.count > 2 ? String(a.prefix(2)) : a
                if a.count > 2 { v = String(a.dropFirst(2)) } else if !args.isEmpty { v = args.removeFirst() }
                guard let v else { throw unsupported(a) }
                switch flag {
                case "-d": guard v.count == 1 else { throw CommandError("cut: the delimiter must be a single character") }; delim = v
                case "-f":
                    for r in v.split(separator: ",") {
                        let ends = r.split(separator: "-", omittingEmptySubsequences: false)
                        if ends.count == 2, let lo = Int(ends[0].isEmpty ? "1" : ends[0]), let hi = Int(ends[1].isEmpty ? "1000" : ends[1]), lo >= 1, hi >= lo {
                            fields += Array(lo...hi)
                        } else if let n = Int(r), n >= 1 { fields.append(n) } else { throw CommandError("cut: invalid field list '\(v)'") }
                    }
                default: throw unsupported(a)
                }
            }
            guard !fields.isEmpty else { throw CommandError("cut: give the fields, -f N", hint: "… | cut -d / -f 5") }
            return joined(lines(text).map { line in
                let cols = line.components(separatedBy: delim)
                if cols.count == 1 { return line }
                return fields.filter { $0 <= cols.count }.map { cols[$0 - 1] }.joined(separator: delim)
            })
        default:
            throw CommandError("not supported after '|' in a pasted line",
                               hint: "sgk filters a pasted line's text with grep, wc, cut, head, tail and sort; for more, use sgk: (… --output json | json parse) | where { … }")
        }
    }
}
