import Foundation
import OrderedCollections

/// The core commands that need no cloud: output, environment, data shaping,
/// files, processes. `commands` gathers every core table.
public enum CoreCommands: CommandLibrary {
    public static var commands: [NativeCommand] {
        basics + [shellLine] + DataCommands.commands + [JMESQuery.query] + TextCommands.commands + IOCommands.commands + ManifestCommands.commands
    }

    /// A line pasted from the docs (see `ShellLine`): the parser makes it a call of this command.
    static let shellLine = NativeCommand(CommandSignature("shell-line", positionals: [.init("segments", "the line's words, by `|` segment")],
                                                          keywords: [.init("print", isSwitch: true, "print the output (a statement) instead of returning it")],
                                                          summary: "Run a pasted shell line (aws …, eksctl …, export NAME=value; | grep, wc, cut, head, tail, sort): written as the line itself.",
                                                          example: "aws iam get-role --role-name R --query Role.Arn --output text")) { inv in
        guard case .list(let segs)? = inv.args.positional(0) else { throw CommandError("shell-line: expected the line's words") }
        let segments = segs.map { s -> [String] in if case .list(let ws) = s { return ws.map(\.text) } else { return [s.text] } }
        do { return try ShellLine.run(segments, prints: try inv.args.bool(keyword: "print"), inv) }
        catch let e as ShellLine.Failure { throw e }
        catch { throw ShellLine.Failure(line: segments.first.map(ShellLine.name) ?? "shell-line", error: error) }
    }

    static var basics: [NativeCommand] {
        [
            NativeCommand(CommandSignature("print", positionals: [.init("values", variadic: true, "what to print")], input: .none,
                                           summary: "Print values to stdout: strings as they are, lists and maps as YAML.",
                                           example: "print \"role: ${role.Arn}\"")) { inv in
                var vals = inv.args.positional
                if vals.isEmpty, let i = inv.args.input { vals = [i] }
                let text = vals.map { v -> String in
                    switch v {
                    case .list, .map: return SGKDataBridge.emitYAML(v).trimmingCharacters(in: .newlines)
                    default: return v.text
                    }
                }.joined(separator: " ")
                inv.context.output.write(text + "\n")
                return .null
            },
            NativeCommand(CommandSignature("env", positionals: [.init("name", "the variable's name"), .init("default", optional: true, "returned when it is unset")],
                                           summary: "Read an environment variable (null, or the default, when unset).",
                                           example: "let region = env AWS_REGION us-west-2")) { inv in
                let name = try inv.args.string(0, "the variable name")
                if let v = inv.context.environment[name] { return .string(v) }
                return inv.args.positional(1) ?? .null
            },
            NativeCommand(CommandSignature("assert", positionals: [.init("condition", "a value that must be true (truthy)"), .init("message", optional: true, "the error message when it is not")],
                                           summary: "Fail with MESSAGE (or \"assertion failed\") unless CONDITION is true.",
                                           example: "assert ($crds > 0) \"no SageMaker CRDs installed\"")) { inv in
                guard let c = inv.args.positional(0) else { throw CommandError("missing CONDITION", argument: .positional(0)) }
                if c.isTruthy { return .null }
                if let m = inv.args.positional(1), !m.isNull {
                    throw CommandError(m.text, argument: .positional(0))
                }
                throw CommandError("assertion failed (the condition is \(c.description))", argument: .positional(0))
            },
            NativeCommand(CommandSignature("help", positionals: [.init("command", variadic: true, "a command, e.g. get or role create")],
                                           summary: "List the commands, or show how to call one.",
                                           example: "help yaml parse")) { inv in
                inv.context.output.write(try Help.text(for: inv.args.positional.map(\.text), registry: inv.registry))
                return .null
            },
        ]
    }
}

/// The text `help` prints.
enum Help {
    static func text(for words: [String], registry: CommandRegistry) throws -> String {
        let query = words.flatMap { $0.split(separator: " ").map(String.init) }
        if query.isEmpty { return overview(registry) }
        let name = query.joined(separator: " ")
        if let c = registry.command(name) { return detail(c.signature) }
        if registry.prefixes.contains(name) {
            var out = "\(name) commands:\n"
            let names = registry.commands.keys.filter { $0.hasPrefix(name + " ") }.sorted()
            let width = min((names.map(\.count).max() ?? 0) + 2, 32)
            for n in names {
                guard let c = registry.command(n) else { continue }
                out += "  " + n.padding(toLength: max(width, n.count + 1), withPad: " ", startingAt: 0) + c.signature.summary + "\n"
            }
            return out + "Run 'help \(name) COMMAND' for details.\n"
        }
        let s = Spell.suggest(name, among: Array(registry.commands.keys) + Array(registry.prefixes))
        throw CommandError("no command '\(name)'\(s.map { " (did you mean '\($0)'?)" } ?? "")", hint: "'help' lists every command", argument: .positional(0))
    }

    static func overview(_ registry: CommandRegistry) -> String {
        var groups: [String: [CommandSignature]] = [:]
        for (_, c) in registry.commands { groups[c.signature.words.first ?? "", default: []].append(c.signature) }
        let singles = groups.filter { $0.value.count == 1 && $0.value[0].words.count == 1 }
        let width = min((singles.keys.map(\.count).max() ?? 0) + 2, 24)
        var out = "Commands (help COMMAND shows its usage):\n"
        for k in singles.keys.sorted() {
            guard let sig = singles[k]?.first else { continue }
            out += "  " + k.padding(toLength: max(width, k.count + 1), withPad: " ", startingAt: 0) + sig.summary + "\n"
        }
        let grouped = groups.filter { singles[$0.key] == nil }
        for k in grouped.keys.sorted() {
            guard let sigs = grouped[k] else { continue }
            out += "\n\(k):\n"
            let names = sigs.map(\.name).sorted()
            let w = min((names.map(\.count).max() ?? 0) + 2, 32)
            for n in names {
                guard let sig = sigs.first(where: { $0.name == n }) else { continue }
                out += "  " + n.padding(toLength: max(w, n.count + 1), withPad: " ", startingAt: 0) + sig.summary + "\n"
            }
        }
        return out
    }

    static func detail(_ sig: CommandSignature) -> String {
        var out = "usage: \(sig.usage)\n\n\(sig.summary)\n"
        if sig.input == .subject {
            out += "\nIts subject is the piped-in value, or else the first argument.\n"
        }
        let documented = sig.positionals.filter { !$0.summary.isEmpty }
        if !documented.isEmpty {
            out += "\narguments:\n"
            for p in documented {
                let flags = p.flags.isEmpty ? "" : " (\(p.flags.joined(separator: ", ")))"
                out += "  \(p.name.uppercased())\(p.variadic ? "…" : "")\(flags)   \(p.summary)\n"
            }
        }
        if !sig.keywords.isEmpty {
            out += "\nkeywords:\n"
            for k in sig.keywords {
                let flags = k.flags.isEmpty ? "" : " (\(k.flags.joined(separator: ", ")))"
                out += "  \(k.name):\(k.isSwitch ? " true" : "")\(flags)\(k.required ? " (required)" : "")   \(k.summary)\n"
            }
        }
        if let ex = sig.example { out += "\nexample:\n  \(ex)\n" }
        return out
    }
}
