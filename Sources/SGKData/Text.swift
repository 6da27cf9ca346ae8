// Literal text search and replacement on UTF-8 bytes, without Foundation: NSString's
// replacingOccurrences and components(separatedBy:) copy the text to UTF-16 and pull in
// CoreFoundation's and ICU's machinery (a few MiB of memory for one call).

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
                let n = needle.count, count = bytes.count
                let first = needle[0]
                var i = 0
                while i + n <= count {
                    if bytes[i] == first && (n == 1 || memoryEqual(bytes, i, needle)) {
                        match(i, i + n, bytes)
                        i += n
                    } else {
                        i += 1
                    }
                }
            }
            rest(bytes)
        }
    }
}

@inline(__always)
private func memoryEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
    var k = 1
    while k < needle.count {
        if bytes[at + k] != needle[k] { return false }
        k += 1
    }
    return true
}
