import SGKData

/// `sgk <command> [arguments ...]`: the shell's arguments as one line of sgk source.
public enum ShellWords {
    /// The arguments joined as one command line, each becoming exactly one word, string, flag or keyword.
    public static func source(_ args: [String]) -> String { args.map(word).joined(separator: " ") }

    /// Turns one shell argument of `sgk <command> [arguments ...]` into exactly one sgk word, string,
    /// flag or keyword (or a flag and its quoted value): never into code. Only a plain keyword name
    /// (`region:`) or flag (`-o`, `--timeout`, `--output=json`) passes as written; anything else is quoted.
    static func word(_ a: String) -> String {
        func isName(_ s: Substring) -> Bool {
            guard let f = s.first, f.isASCII, f.isLetter || f == "_" else { return false }
            return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        }
        func isPlain(_ s: Substring) -> Bool {
            guard let f = s.first, f.isLetter || f.isNumber || f == "_" else { return false }
            return s.allSatisfy { $0.isLetter || $0.isNumber || "_-./:@=+,%".contains($0) }
        }
        if a.hasSuffix(":"), isName(a.dropLast()) { return a }
        if a.hasPrefix("-") {
            if a.dropFirst().first?.isNumber == true, isPlain(a.dropFirst()) { return a }   // -5, -1.5, -30s
            let dashes = a.hasPrefix("--") ? 2 : 1
            let body = a.dropFirst(dashes)
            if let eq = body.firstIndex(of: "=") {
                let name = body[..<eq], value = body[body.index(after: eq)...]
                if isName(name) {
                    let flag = String(a.prefix(dashes)) + name
                    return isPlain(value) ? a : flag + " " + quoted(String(value))
                }
            } else if isName(body) {
                return a
            }
        }
        return isPlain(a[...]) ? a : quoted(a)
    }

    /// A string literal of `a`: `Value.quote`, with `$` escaped too (the text must not interpolate).
    static func quoted(_ a: String) -> String { Value.quote(a).replacingAll("$", with: "\\$") }
}
