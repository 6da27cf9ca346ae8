/// A token with its byte range. Lexing is positional and mode-dependent
/// (command arguments allow bare words such as `installer.yaml` and flags
/// such as `-f`; expressions do not), so the parser asks for tokens by offset.
public struct Token: Sendable {
    public enum Kind: Sendable, Equatable {
        case eof
        case newline                 // a newline or `;`
        case word(String)            // identifiers, keywords, command words, bare arguments
        case variable(String)        // `$name`
        case flag(name: String, value: String?)   // `-f`, `--name`, `--dry-run=server`
        case int(Int)
        case double(Double)
        case duration(Double)        // seconds
        case string([StringPart], raw: Bool)
        case punct(String)           // ( ) [ ] { } , | : = == != < <= > >= =~ + - * / % .. . !
    }
    public var kind: Kind
    public var range: SourceRange
    /// Whitespace (or a comment) came right before this token.
    public var spaceBefore: Bool

    public func isPunct(_ p: String) -> Bool { if case .punct(let q) = kind { return q == p }; return false }
    public func isWord(_ w: String) -> Bool { if case .word(let q) = kind { return q == w }; return false }
    public var word: String? { if case .word(let w) = kind { return w }; return nil }
}

public enum StringPart: Sendable, Equatable {
    case text(String)
    /// `${…}`: the byte range of the expression inside the braces.
    case interpolation(SourceRange)
}

public enum LexMode: Sendable { case expression, command }
