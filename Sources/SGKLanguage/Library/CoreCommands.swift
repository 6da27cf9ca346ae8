import Foundation
import OrderedCollections

/// The core data commands that need no cloud: output, environment, data shaping.
public enum CoreCommands: CommandLibrary {
    public static var commands: [NativeCommand] {
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
            NativeCommand(CommandSignature("type", positionals: [.init("value", optional: true, "the value (or pipe it in)")], input: .subject,
                                           summary: "The type of a value: null, bool, int, double, string, duration, list, map or function.",
                                           example: "type $provider   # \"map\"")) { inv in
                .string((inv.args.input ?? .null).typeName)
            },
        ]
    }
}
