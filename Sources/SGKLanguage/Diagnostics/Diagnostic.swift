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
                width = min(width, maxWidth - (column - 1))
            }
            out += "\n  " + line
            // Caret under the range (clipped to the line), tabs kept so columns line up.
            var pad = ""
            for (i, ch) in line.enumerated() where i < column - 1 { pad.append(ch == "\t" ? "\t" : " ") }
            out += "\n  " + pad + green + "^" + String(repeating: "~", count: max(0, width - 1)) + reset
        }
        if let hint { out += "\n  \(cyan)hint:\(reset) \(hint)" }
        return out
    }
}

/// Several diagnostics reported together (the resolver reports every error it finds).
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ d: [Diagnostic]) { diagnostics = d }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    public func render(color: Bool) -> String { diagnostics.map { $0.render(color: color) }.joined(separator: "\n") }
}
