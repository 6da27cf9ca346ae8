// Literal text search and replacement on UTF-8 bytes, without Foundation: NSString's
// replacingOccurrences and components(separatedBy:) copy the text to UTF-16 and pull in
// CoreFoundation's and ICU's machinery (a few MiB of memory for one call).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension String {
    /// Every occurrence of `target` replaced by `replacement`, matched on Unicode scalars
    /// (UTF-8 bytes), left to right, without overlaps. An empty `target` changes nothing.
    public func replacingAll(_ target: String, with replacement: String) -> String {
        if target.isEmpty { return self }
        var out: [UInt8] = []
        var copied = 0
        var found = false
        let r = Array(replacement.utf8)
        forEachMatch(of: target) { start, end, bytes in
            if !found { out.reserveCapacity(bytes.count); found = true }
            out.append(contentsOf: bytes[copied..<start])
            out.append(contentsOf: r)
            copied = end
        } rest: { bytes in
            if found { out.append(contentsOf: bytes[copied...]) }
        }
        return found ? String(decoding: out, as: UTF8.self) : self
    }

    /// The pieces between occurrences of `separator` (matched on UTF-8 bytes), as
    /// `components(separatedBy:)` gives them: n occurrences make n + 1 pieces.
    public func splitAll(_ separator: String) -> [String] {
        if separator.isEmpty { return [self] }
        var pieces: [String] = []
        var from = 0
        forEachMatch(of: separator) { start, end, bytes in
            pieces.append(String(decoding: bytes[from..<start], as: UTF8.self))
            from = end
        } rest: { bytes in
            pieces.append(String(decoding: bytes[from...], as: UTF8.self))
        }
        return pieces
    }

    /// Calls `match` with the byte range of each non-overlapping occurrence of `target`, then
    /// `rest` once, both with the text's bytes.
    private func forEachMatch(of target: String, _ match: (Int, Int, UnsafeBufferPointer<UInt8>) -> Void,
                              rest: (UnsafeBufferPointer<UInt8>) -> Void) {
        var s = self
        var t = target
        s.withUTF8 { bytes in
            t.withUTF8 { needle in
                var i = 0
                while let at = ByteSearch.firstIndex(of: needle, in: bytes, from: i) {
                    match(at, at + needle.count, bytes)
                    i = at + needle.count
                }
            }
            rest(bytes)
        }
    }
}

/// Literal search in bytes (the text commands, the journal reader).
public enum ByteSearch {
    /// The offset of the first occurrence of `needle` in `bytes` at or after `from` (nil: none;
    /// an empty needle is never found). memchr finds the candidates by one byte of the needle —
    /// the first that is not a quote, space, colon or comma, which JSON and prose are full of.
    public static func firstIndex(of needle: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        let n = needle.count
        guard n > 0, let base = bytes.baseAddress, let pattern = needle.baseAddress, from >= 0, bytes.count - from >= n else { return nil }
        let a = needle.firstIndex { $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: ",") } ?? 0
        let anchor = Int32(needle[a])
        var q = from + a  // where the anchor byte of the next candidate may be
        let lastAnchor = bytes.count - n + a
        while q <= lastAnchor {
            guard let hit = memchr(base + q, anchor, lastAnchor - q + 1) else { return nil }
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self)) - a
            if memcmp(base + at, pattern, n) == 0 { return at }
            q = at + a + 1
        }
        return nil
    }

    /// `firstIndex(of:in:from:)` for a string needle.
    public static func firstIndex(of needle: String, in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var t = needle
        return t.withUTF8 { firstIndex(of: $0, in: bytes, from: from) }
    }
}
