import Foundation
import SGKLanguage
import SGKData

/// What Tab offers at a cursor position.
public struct Completion: Equatable, Sendable {
    /// The partial word before the cursor that the candidates replace.
    public var word: String
    /// Every full word that fits, sorted (`role`, `trust:`, `$c.identity.oidc`).
    public var candidates: [String]
    /// The longest prefix shared by the candidates.
    public var commonPrefix: String
    /// Text to insert at the cursor: the rest of the common prefix, plus a
    /// space (or `/` after a folder) when exactly one candidate fits.
    public var insertion: String

    public init(word: String, candidates: [String], commonPrefix: String, insertion: String) {
        self.word = word; self.candidates = candidates; self.commonPrefix = commonPrefix; self.insertion = insertion
    }

    public static func none(_ word: String) -> Completion { Completion(word: word, candidates: [], commonPrefix: word, insertion: "") }
}

/// A directory entry for path completion.
public struct PathEntry: Sendable {
    public var name: String
    public var isDirectory: Bool
    public init(name: String, isDirectory: Bool) { self.name = name; self.isDirectory = isDirectory }
}

/// Tab completion computed from the command registry and the session's
/// state. Pure: no terminal, no libedit; file listing is injected.
public struct Completer {
    public var registry: CommandRegistry
    public var variables: [(String, Value)]
    public var functions: [String]
    public var modules: [String: [String]]
    /// Keyword parameters of user functions (`fn trust(provider, ns: "default")` → `ns`).
    public var functionKeywords: [String: [String]]
    public var listDirectory: (String) -> [PathEntry]?
    public var homeDirectory: String

    public static let metaCommands = [":help", ":vars", ":load", ":dry-run", ":explain", ":format", ":reset", ":quit"]
    public static let statementKeywords = ["let", "if", "for", "while", "fn", "try", "use", "return", "fail", "param"]

    public init(registry: CommandRegistry, variables: [(String, Value)] = [], functions: [String] = [],
                modules: [String: [String]] = [:], functionKeywords: [String: [String]] = [:], homeDirectory: String = NSHomeDirectory(),
                listDirectory: @escaping (String) -> [PathEntry]? = Completer.listFiles) {
        self.registry = registry
        self.variables = variables
        self.functions = functions
        self.modules = modules
        self.functionKeywords = functionKeywords
        self.homeDirectory = homeDirectory
        self.listDirectory = listDirectory
    }

    /// A completer over a session's current state.
    public init(session: Session, functionKeywords: [String: [String]] = [:]) {
        var mods: [String: [String]] = [:]
        var keywords = functionKeywords
        for m in session.moduleNames {
            mods[m] = session.moduleFunctions(m)
            // `irsa trust provider: …`: a module function's parameters complete as keywords.
            for f in session.moduleFunctions(m) { keywords["\(m) \(f)"] = session.moduleFunctionParameters(m, f).map { $0.replacingAll("_", with: "-") } }
        }
        // `~/` is the session's $HOME, as `read "~/…"` takes it.
        let home = session.context.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        self.init(registry: session.registry, variables: session.variables, functions: session.functionNames, modules: mods,
                  functionKeywords: keywords, homeDirectory: home)
    }

    public static func listFiles(_ dir: String) -> [PathEntry]? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        return names.map { n in
            var isDir: ObjCBool = false
            let full = dir.hasSuffix("/") ? dir + n : dir + "/" + n
            _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDir)
            return PathEntry(name: n, isDirectory: isDir.boolValue)
        }
    }

    /// Candidates for the word before `cursor` (a UTF-8 offset into `line`).
    public func complete(_ line: String, cursor: Int) -> Completion {
        let utf8 = Array(line.utf8)
        let end = max(0, min(cursor, utf8.count))
        let before = String(decoding: utf8[0..<end], as: UTF8.self)
        let (words, partial) = Completer.segment(before)
        return finish(partial, candidates(words: words, partial: partial, whole: before))
    }

    typealias Candidate = (text: String, terminator: String)

    func finish(_ partial: String, _ found: [Candidate]) -> Completion {
        var seen = Set<String>()
        var list: [Candidate] = []
        for c in found where c.text.hasPrefix(partial) && seen.insert(c.text).inserted { list.append(c) }
        list.sort { $0.text < $1.text }
        guard let first = list.first else { return .none(partial) }
        var prefix = first.text
        for c in list.dropFirst() { prefix = Completer.commonPrefix(prefix, c.text) }
        var insertion = String(prefix.dropFirst(partial.count))
        if list.count == 1 { insertion += first.terminator }
        return Completion(word: partial, candidates: list.map(\.text), commonPrefix: prefix, insertion: insertion)
    }

    static func commonPrefix(_ a: String, _ b: String) -> String {
        var out = ""
        for (x, y) in zip(a, b) { if x == y { out.append(x) } else { break } }
        return out
    }

    func candidates(words: [String], partial: String, whole: String) -> [Candidate] {
        // Meta commands.
        let trimmed = whole.drop { $0 == " " || $0 == "\t" }
        if trimmed.hasPrefix(":") {
            if words.isEmpty { return Completer.metaCommands.map { ($0, " ") } }
            switch words[0] {
            case ":help": return commandCandidates(Array(words.dropFirst()), partial: partial, keywords: false)
            case ":load": return paths(partial)
            case ":format": return DisplayFormat.allCases.map { ($0.rawValue, "") }
            case ":dry-run", ":explain": return [("on", ""), ("off", "")]
            default: return []
            }
        }
        if partial.hasPrefix("$") { return variableCandidates(partial) }
        if partial.hasPrefix("\"") || partial.hasPrefix("'") { return [] }
        return commandCandidates(words, partial: partial, keywords: true)
    }

    func commandCandidates(_ words: [String], partial: String, keywords: Bool) -> [Candidate] {
        if words.isEmpty {
            var out: [Candidate] = registry.topLevelWords.map { ($0, " ") }
            out += functions.map { ($0, " ") }
            out += modules.keys.map { ($0, " ") }
            if keywords { out += Completer.statementKeywords.map { ($0, " ") } }
            return out
        }
        if words.count == 1, let fns = modules[words[0]] { return fns.map { ($0, " ") } }
        var out: [Candidate] = []
        let joined = words.joined(separator: " ")
        if registry.prefixes.contains(joined) {
            out += registry.subcommands(of: joined).map { ($0, " ") }
        }
        guard keywords else { return out }
        // The longest run of leading words that names a command.
        var sig: CommandSignature?
        var k = words.count
        while k > 0 {
            if let c = registry.command(words.prefix(k).joined(separator: " ")) { sig = c.signature; break }
            k -= 1
        }
        guard let sig else {
            // A user function: its keyword parameters.
            if let kws = functionKeywords[words[0]], functions.contains(words[0]) {
                let used = Set(words.dropFirst().filter { $0.hasSuffix(":") }.map { canonicalName(String($0.dropLast())) })
                out += kws.filter { !used.contains(canonicalName($0)) }.map { ($0 + ":", " ") }
            } else if words.count >= 2, let kws = functionKeywords["\(words[0]) \(words[1])"], modules[words[0]]?.contains(words[1]) == true {
                let used = Set(words.dropFirst(2).filter { $0.hasSuffix(":") }.map { canonicalName(String($0.dropLast())) })
                out += kws.filter { !used.contains(canonicalName($0)) }.map { ($0 + ":", " ") }
            }
            return out
        }
        let args = Array(words.dropFirst(k))
        let prev = args.last ?? ""
        if prev.hasSuffix(":"), let kw = sig.keywords.first(where: { canonicalName($0.name) == canonicalName(String(prev.dropLast())) }) {
            return kw.isPath ? paths(partial) : (kw.isSwitch ? [("true", " "), ("false", " ")] : [])
        }
        let pathFlags = Set(sig.positionals.filter(\.isPath).flatMap(\.flags) + sig.keywords.filter(\.isPath).flatMap(\.flags))
        if pathFlags.contains(prev) { return paths(partial) }
        if partial.hasPrefix("-") {
            return (sig.positionals.flatMap(\.flags) + sig.keywords.flatMap(\.flags)).map { ($0, " ") }
        }
        let used = Set(args.filter { $0.hasSuffix(":") }.map { canonicalName(String($0.dropLast())) })
        out += sig.keywords.filter { !used.contains(canonicalName($0.name)) }.map { ($0.name + ":", " ") }
        if sig.positionals.contains(where: \.isPath) { out += paths(partial) }
        return out
    }

    func variableCandidates(_ partial: String) -> [Candidate] {
        let body = String(partial.dropFirst())
        var parts = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.popLast() else { return [] }
        if parts.isEmpty {
            return variables.map { ("$" + $0.0, "") }
        }
        guard let head = parts.first, let root = variables.first(where: { $0.0 == Completer.name(of: head) })?.1,
              var value = Completer.index(root, Completer.indexes(of: head)) else { return [] }
        for p in parts.dropFirst() {
            guard let m = value.mapValue, let next = m[Completer.name(of: p)],
                  let v = Completer.index(next, Completer.indexes(of: p)) else { return [] }
            value = v
        }
        guard let m = value.mapValue else { return [] }
        let base = "$" + parts.joined(separator: ".") + "."
        _ = last
        return m.keys.filter(Completer.isBareKey).map { (base + $0, "") }
    }

    static func name(of segment: String) -> String {
        segment.firstIndex(of: "[").map { String(segment[..<$0]) } ?? segment
    }

    static func indexes(of segment: String) -> [Int] {
        var out: [Int] = []
        var rest = Substring(segment)
        while let open = rest.firstIndex(of: "["), let close = rest[open...].firstIndex(of: "]") {
            if let i = Int(rest[rest.index(after: open)..<close]) { out.append(i) } else { return [] }
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    static func index(_ v: Value, _ idx: [Int]) -> Value? {
        var cur = v
        for i in idx {
            guard let l = cur.listValue else { return nil }
            let j = i < 0 ? l.count + i : i
            guard j >= 0, j < l.count else { return nil }
            cur = l[j]
        }
        return cur
    }

    static func isBareKey(_ k: String) -> Bool {
        guard let f = k.unicodeScalars.first, f == "_" || f.properties.isAlphabetic else { return false }
        return k.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    func paths(_ partial: String) -> [Candidate] {
        var dir = ""
        if let slash = partial.lastIndex(of: "/") { dir = String(partial[...slash]) }
        let base = String(partial.dropFirst(dir.count))
        var listed = dir.isEmpty ? "." : dir
        if listed.hasPrefix("~/") { listed = homeDirectory + listed.dropFirst(1) } else if listed == "~" { listed = homeDirectory }
        guard let entries = listDirectory(listed) else { return [] }
        return entries.filter { base.hasPrefix(".") || !$0.name.hasPrefix(".") }
            .map { (dir + $0.name, $0.isDirectory ? "/" : " ") }
    }

    /// Splits the text before the cursor into the words of the command being
    /// typed (after the last `|`, `;`, `(`, `{`, `let x =` …) and the partial word.
    static func segment(_ text: String) -> (words: [String], partial: String) {
        var words: [String] = []
        var word = ""
        var quote: Character?
        var escaped = false
        func flush() {
            guard !word.isEmpty else { return }
            if word == "=", words.count == 1 || (words.count == 2 && words[0] == "let") { words = [] } else { words.append(word) }
            word = ""
        }
        for ch in text {
            if let q = quote {
                word.append(ch)
                if escaped { escaped = false } else if ch == "\\" && q == "\"" { escaped = true } else if ch == q { quote = nil }
                continue
            }
            switch ch {
            case "\"", "'": quote = ch; word.append(ch)
            case " ", "\t": flush()
            case "\n", "|", ";", "(", ")", "{", "}": flush(); words = []
            default: word.append(ch)
            }
        }
        if quote != nil { return (words, word) }
        // Statement keywords in front of a command: `if`, `while`, `for x in`, `return`.
        while let f = words.first {
            if ["if", "while", "return", "else", "not", "try", "and", "or"].contains(f) { words.removeFirst(); continue }
            if f == "for", words.count >= 3, words[2] == "in" { words.removeFirst(3); continue }
            break
        }
        return (words, word)
    }
}
