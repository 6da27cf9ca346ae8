/// A native command: its signature and its body.
public struct NativeCommand: Sendable {
    public var signature: CommandSignature
    public var run: @Sendable (Invocation) throws -> Value
    public init(_ signature: CommandSignature, _ run: @escaping @Sendable (Invocation) throws -> Value) {
        self.signature = signature
        self.run = run
    }
}

/// A library of commands: one declarative table.
public protocol CommandLibrary {
    static var commands: [NativeCommand] { get }
}

/// All native commands by name; multi-word names (`role create`) are first-class.
public struct CommandRegistry: Sendable {
    public private(set) var commands: [String: NativeCommand] = [:]
    /// Every proper prefix of a command name (`role`, `kubectl config`).
    public private(set) var prefixes: Set<String> = []
    /// Flags that take a value, by command prefix: lets `kubectl -n ns get` skip `ns`.
    private var valueFlagsByPrefix: [String: Set<String>] = [:]

    public init() {}

    public mutating func register(_ c: NativeCommand) {
        let name = c.signature.name
        commands[name] = c
        let words = c.signature.words
        var valueFlags = Set<String>()
        for p in c.signature.positionals { valueFlags.formUnion(p.flags) }
        for k in c.signature.keywords where !k.isSwitch { valueFlags.formUnion(k.flags) }
        valueFlags.formUnion(["-o", "--output"])
        for n in 1...words.count {
            let prefix = words.prefix(n).joined(separator: " ")
            if n < words.count { prefixes.insert(prefix) }
            valueFlagsByPrefix[prefix, default: []].formUnion(valueFlags)
        }
    }

    public mutating func register<L: CommandLibrary>(_ library: L.Type) {
        for c in L.commands { register(c) }
    }

    public func command(_ name: String) -> NativeCommand? { commands[name] }

    /// Whether a flag seen after the words `prefix` takes the next item as its value.
    public func flagTakesValue(_ flag: String, afterPrefix prefix: String) -> Bool {
        valueFlagsByPrefix[prefix]?.contains(flag) ?? false
    }

    /// Sub-commands directly under a prefix (`role` → create, get, …).
    public func subcommands(of prefix: String) -> [String] {
        let n = prefix.split(separator: " ").count
        var out = Set<String>()
        for name in commands.keys where name.hasPrefix(prefix + " ") {
            let w = name.split(separator: " ").map(String.init)
            if w.count > n { out.insert(w[n]) }
        }
        return out.sorted()
    }

    /// First words of every command.
    public var topLevelWords: [String] {
        Set(commands.keys.compactMap { $0.split(separator: " ").first.map(String.init) }).sorted()
    }
}
