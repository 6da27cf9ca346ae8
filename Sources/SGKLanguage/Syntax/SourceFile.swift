import SGKData

/// A source text with its name and a line table, shared by every token and node.
public final class SourceFile: Sendable {
    public let name: String
    public let text: String
    /// The UTF-8 bytes of `text` (invalid input was already repaired by `String(decoding:)`).
    public let bytes: [UInt8]
    /// Byte offset where each line starts.
    let lineStarts: [Int]

    /// A leading byte-order mark is dropped and CRLF line ends become LF (files saved on Windows
    /// read as they look); positions are of the text so normalised.
    public init(name: String, text: String) {
        self.name = name
        var text = text
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }
        if text.utf8.contains(13) { text = text.replacingAll("\r\n", with: "\n") }
        self.text = text
        let b = Array(text.utf8)
        self.bytes = b
        var starts = [0]
        for (i, c) in b.enumerated() where c == 10 { starts.append(i + 1) }
        self.lineStarts = starts
    }

    /// Decodes bytes as UTF-8, replacing invalid sequences, so no input can trap the lexer.
    public convenience init(name: String, bytes: [UInt8]) {
        self.init(name: name, text: String(decoding: bytes, as: UTF8.self))
    }

    /// 1-based line and column (in characters) of a byte offset.
    public func location(of offset: Int) -> SourceLocation {
        let off = max(0, min(offset, bytes.count))
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= off { lo = mid } else { hi = mid - 1 }
        }
        let start = lineStarts[lo]
        let col = String(decoding: bytes[start..<off], as: UTF8.self).count + 1
        return SourceLocation(line: lo + 1, column: col)
    }

    /// The text of a 1-based line, without its newline.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, end <= bytes.count, bytes[end - 1] == 13 { end -= 1 }
        guard end >= start else { return "" }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    public func slice(_ range: SourceRange) -> String {
        let lo = max(0, min(range.start, bytes.count)), hi = max(lo, min(range.end, bytes.count))
        return String(decoding: bytes[lo..<hi], as: UTF8.self)
    }
}

public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var description: String { "\(line):\(column)" }
}

/// A half-open byte range in a source file.
public struct SourceRange: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
    public static let none = SourceRange(0, 0)
    public func to(_ other: SourceRange) -> SourceRange { SourceRange(min(start, other.start), max(end, other.end)) }
}
