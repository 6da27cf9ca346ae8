import SGKData

/// What a command accepts. One declarative table per library of commands
/// drives the resolver, the binder, `help` and REPL completion.
public struct CommandSignature: Sendable {
    public struct Positional: Sendable {
        public var name: String
        public var optional: Bool
        public var variadic: Bool
        /// CLI-style spellings that also bind it (`-f` / `--filename` for `kubectl apply`).
        public var flags: [String]
        public var summary: String
        /// The argument names a file (REPL completion offers paths).
        public var isPath: Bool
        public init(_ name: String, optional: Bool = false, variadic: Bool = false, flags: [String] = [], isPath: Bool = false, _ summary: String = "") {
            self.name = name; self.optional = optional; self.variadic = variadic; self.flags = flags; self.summary = summary; self.isPath = isPath
        }
    }

    public struct Keyword: Sendable {
        public var name: String
        public var required: Bool
        /// A switch takes no value: `-A`, `--wait`, or `all-namespaces: true`.
        public var isSwitch: Bool
        public var flags: [String]
        public var summary: String
        public var isPath: Bool
        public init(_ name: String, required: Bool = false, isSwitch: Bool = false, flags: [String] = [], isPath: Bool = false, _ summary: String = "") {
            self.name = name; self.required = required; self.isSwitch = isSwitch; self.flags = flags; self.summary = summary; self.isPath = isPath
        }
    }

    /// How a command uses the value piped into it.
    public enum Input: Sendable {
        /// It ignores pipeline input.
        case none
        /// Its subject: piped in, or else the first positional argument.
        case subject
    }

    public var words: [String]
    public var positionals: [Positional]
    public var keywords: [Keyword]
    public var input: Input
    /// Keywords that, when given, stand in for the subject (`kubectl apply -k DIR` needs no manifest).
    public var subjectKeywords: [String] = []
    public var summary: String
    public var example: String?
    /// The command changes AWS or Kubernetes state (goes through the Effects seam).
    public var isWrite: Bool

    public var name: String { words.joined(separator: " ") }

    public init(_ name: String, positionals: [Positional] = [], keywords: [Keyword] = [], input: Input = .none,
                summary: String, example: String? = nil, isWrite: Bool = false) {
        self.words = name.split(separator: " ").map(String.init)
        self.positionals = positionals
        self.keywords = keywords
        self.input = input
        self.summary = summary
        self.example = example
        self.isWrite = isWrite
    }

    /// The usage line, e.g. `role create NAME trust: VALUE [description: VALUE]`.
    public var usage: String {
        var parts = [name]
        if input == .subject { parts.append("[INPUT]") }
        for p in positionals {
            var s = p.name.uppercased()
            if p.variadic { s += "…" }
            parts.append(p.optional || p.variadic ? "[\(s)]" : s)
        }
        for k in keywords {
            let s = k.isSwitch ? "\(k.name): true" : "\(k.name): VALUE"
            parts.append(k.required ? s : "[\(s)]")
        }
        return parts.joined(separator: " ")
    }

    func keyword(named n: String) -> Keyword? {
        let c = canonicalName(n)
        return keywords.first { canonicalName($0.name) == c }
    }
}

/// Keyword and parameter names match with `-` and `_` as the same character.
@inline(__always) public func canonicalName(_ s: String) -> String {
    s.utf8.contains(UInt8(ascii: "-")) ? s.replacingAll("-", with: "_") : s
}
