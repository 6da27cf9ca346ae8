/// A positioned error or warning, rendered as `file:line:col: error: message`,
/// the source line, a caret under the range, and a hint where one helps.
public struct Diagnostic: Error, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }
    public var severity: Severity
    public var message: String
    public var file: SourceFile?
    public var range: SourceRange
    public var hint: String?
    /// True when the parser ran out of input (the REPL then asks for more).
    public var isIncompleteInput: Bool

    public init(_ message: String, file: SourceFile?, range: SourceRange, hint: String? = nil,
                severity: Severity = .error, incomplete: Bool = false) {
        self.message = message
        self.file = file
        self.range = range
        self.hint = hint
        self.severity = severity
        self.isIncompleteInput = incomplete
    }

    public var location: SourceLocation? { file?.location(of: range.start) }

    public var description: String { render(color: false) }

    public func render(color: Bool) -> String {
        let red = color ? "\u{1B}[1;31m" : "", bold = color ? "\u{1B}[1m" : "", green = color ? "\u{1B}[32m" : ""
        let cyan = color ? "\u{1B}[36m" : ""
        let reset = color ? "\u{1B}[0m" : ""
        let message = Diagnostic.visibleText(message), hint = hint.map(Diagnostic.visibleText)
        guard let file else {
            var s = "\(red)\(severity.rawValue):\(reset) \(bold)\(message)\(reset)"
            if let hint { s += "\n  \(cyan)hint:\(reset) \(hint)" }
            return s
        }
        let loc = file.location(of: range.start)
        var out = "\(bold)\(file.name):\(loc.line):\(loc.column):\(reset) \(red)\(severity.rawValue):\(reset) \(bold)\(message)\(reset)"
        // The line itself is shown for the user's own sources; a bundled module's or script's
        // (`<sgk>/…`) is sgk's own code, named by its position only.
        var line = file.name.hasPrefix("<sgk>/") ? "" : file.lineText(loc.line)
        if !line.isEmpty {
            let endLoc = file.location(of: range.end)
            var column = loc.column
            var width = 1
            if endLoc.line == loc.line { width = max(1, endLoc.column - loc.column) } else { width = max(1, line.count - (loc.column - 1)) }
            // Long lines are shown as a window around the caret.
            let maxWidth = 120
            if line.count > maxWidth {
                let chars = Array(line)
                let start = max(0, min(column - 1 - 40, chars.count - maxWidth))
                let end = min(chars.count, start + maxWidth)
                line = (start > 0 ? "…" : "") + String(chars[start..<end]) + (end < chars.count ? "…" : "")
                column = column - start + (start > 0 ? 1 : 0)
                // At least the caret: an error at the end of a long line is past the window's last character.
                width = max(1, min(width, maxWidth - (column - 1)))
            }
            // Control characters are shown escaped, never sent to the terminal; the caret
            // spans what each character is shown as, tabs kept so columns line up.
            let shown = line.map(Diagnostic.visible)
            out += "\n  " + shown.joined()
            var pad = ""
            for (i, piece) in shown.enumerated() where i < column - 1 {
                pad += piece == "\t" ? "\t" : String(repeating: " ", count: piece.count)
            }
            var caret = 0
            for i in (column - 1)..<(column - 1 + width) { caret += i >= 0 && i < shown.count ? shown[i].count : 1 }
            out += "\n  " + pad + green + "^" + String(repeating: "~", count: max(0, caret - 1)) + reset
        }
        if let hint { out += "\n  \(cyan)hint:\(reset) \(hint)" }
        return out
    }
}

extension Diagnostic {
    /// How a character of an echoed source line is shown. Control characters — C0 but the
    /// tab, DEL, C1 — would reach the terminal raw (an escape sequence can clear the screen or
    /// set the window title, a lone CR overwrite the line), and bidirectional controls reorder
    /// what is shown; each is written as an sgk string writes it: `\r`, `\0`, `\u{1B}`.
    static func visible(_ ch: Character) -> String {
        guard ch.unicodeScalars.contains(where: isHidden) else { return String(ch) }
        var out = ""
        for u in ch.unicodeScalars {
            if !isHidden(u) { out.unicodeScalars.append(u); continue }
            switch u.value {
            case 0: out += "\\0"
            case 10: out += "\\n"
            case 13: out += "\\r"
            default: out += "\\u{" + String(u.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// A message or hint shown the same way, its line breaks kept: it may quote the source
    /// (a command's name) or a value.
    static func visibleText(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { isHidden($0) && $0 != "\n" }) else { return s }
        return s.map { $0 == "\n" ? "\n" : $0 == "\r\n" ? "\\r\n" : visible($0) }.joined()
    }

    static func isHidden(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0..<9, 10..<0x20, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

/// Several diagnostics reported together (the resolver reports every error it finds).
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ d: [Diagnostic]) { diagnostics = d }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    public func render(color: Bool) -> String { diagnostics.map { $0.render(color: color) }.joined(separator: "\n") }
}
