import Foundation
import SGKData

/// Kubernetes resource quantities (`500m`, `1Gi`, `2e3`, `1.5`), compared by value: the API server
/// stores them in a canonical form (`1024Mi` as `1Gi`, `1000m` as `1`), so a manifest and what the
/// server holds can differ in text and still say the same.
public enum Quantity {
    static let binary: [String: Decimal] = ["Ki": 1024, "Mi": pow(1024, 2), "Gi": pow(1024, 3), "Ti": pow(1024, 4), "Pi": pow(1024, 5), "Ei": pow(1024, 6)]
    static let decimal: [String: Decimal] = ["n": Decimal(string: "1e-9")!, "u": Decimal(string: "1e-6")!, "m": Decimal(string: "1e-3")!, "": 1,
                                             "k": 1000, "M": pow(1000, 2), "G": pow(1000, 3), "T": pow(1000, 4), "P": pow(1000, 5), "E": pow(1000, 6)]

    /// The value of a quantity given as a string or a number; nil when it is not one.
    public static func value(_ j: JSON) -> Decimal? {
        switch j {
        case .int(let i): return Decimal(i)
        case .double(let d): return d.isFinite ? Decimal(d) : nil
        case .string(let s): return value(s)
        default: return nil
        }
    }

    public static func value(_ s: String) -> Decimal? {
        var t = Substring(s.trimmingCharacters(in: .whitespaces))
        guard !t.isEmpty else { return nil }
        var sign: Decimal = 1
        if t.first == "+" || t.first == "-" { if t.first == "-" { sign = -1 }; t = t.dropFirst() }
        let numberEnd = t.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? t.endIndex
        let number = t[..<numberEnd], suffix = String(t[numberEnd...])
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != ".", let n = Decimal(string: String(number)) else { return nil }
        if let m = binary[suffix] ?? decimal[suffix] { return sign * n * m }
        // An exponent: `2e3`, `1E-2`.
        if let e = suffix.first, e == "e" || e == "E", let x = Int(suffix.dropFirst()), abs(x) <= 18 {
            return x >= 0 ? sign * n * pow(10, x) : sign * n / pow(10, -x)
        }
        return nil
    }
}
