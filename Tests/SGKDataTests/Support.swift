import Foundation
import OrderedCollections
@testable import SGKData

/// `/work/shared/fixtures/sagemaker-operator` in development, `<checkout>/../shared/...` in CI.
let fixturesDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // SGKDataTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // repository root
    .deletingLastPathComponent()   // beside the checkout
    .appendingPathComponent("shared/fixtures/sagemaker-operator")

func fixture(_ name: String) throws -> String {
    try String(contentsOf: fixturesDirectory.appendingPathComponent(name), encoding: .utf8)
}

let fixtureNames = [
    "installer.yaml", "installer-china.yaml", "namespaced-crd.yaml",
    "namespaced-operator.yaml", "namespaced-operator-china.yaml", "sample-trainingjob.yaml",
]

/// Deterministic generator (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Strings chosen to stress quoting and scalar resolution.
let trickyStrings: [String] = [
    "", " ", "8443", "-1", "+1", "0644", "0x1F", "0o17", "0b101", "1_000", "1e3", "1.5", ".5", "5.",
    ".inf", "-.inf", ".nan", "true", "True", "FALSE", "yes", "No", "on", "OFF", "y", "n", "null", "~",
    "Null", "<<", "=", "-", "--", "---", "...", "- a", "-a", "-Xmx1g", "a: b", "a:b", "a:", ":a", "? x",
    "#c", "a #c", "a#c", "&x", "*x", "!x", "|", ">", "'q'", "\"q\"", "%x", "@x", "`x`", "[a]", "{a}",
    "a, b", "lead ", " trail", "tab\there", "\ttab", "multi\nline", "\nstart", "end\n", "end\n\n",
    "\n", "\n\n", "a\n\nb\n", " x\ny", "x\n y", "x\n  \ny", "x\n  ", "x  \ny", "cr\r\nlf", "é", "日本語",
    "😀 emoji", "\u{85}nel", "line\u{2028}sep", "mid\u{FEFF}bom", "ctl\u{01}", "del\u{7F}", "back\\slash",
    "2024-01-01", "2001-12-14t21:59:43.10-05:00", "1:20", "10.0.0.1", "1.2.3", "v1", "arn:aws:iam::1:role/x",
    "s3://bucket/key", "http://x/y#z", "{{ template }}", "key=value", "a'b", "a\"b", "\\n", "0", "-0", "00",
    "09", "1e", "e3", "0x", "+", ".", "a b  c", "x\u{0}y",
]

extension SeededGenerator {
    mutating func string() -> String {
        switch Int.random(in: 0..<4, using: &self) {
        case 0, 1:
            return trickyStrings.randomElement(using: &self) ?? ""
        case 2:
            let alphabet: [Character] = Array("abcXYZ019 -:#'\"\\\n\t.,[]{}&*!|>%@`~éü😀\u{1}")
            let n = Int.random(in: 0..<12, using: &self)
            return String((0..<n).map { _ in alphabet.randomElement(using: &self) ?? "a" })
        default:
            let a = trickyStrings.randomElement(using: &self) ?? ""
            let b = trickyStrings.randomElement(using: &self) ?? ""
            return a + b
        }
    }

    mutating func double(finite: Bool) -> Double {
        switch Int.random(in: 0..<8, using: &self) {
        case 0: return Double(Int.random(in: -1000...1000, using: &self))
        case 1: return [0.0, -0.0, 0.1, 1e20, 1e-7, 5e-324, 1.7976931348623157e308, 1e16, 123456.789]
            .randomElement(using: &self) ?? 0
        case 2 where !finite: return [Double.infinity, -Double.infinity].randomElement(using: &self) ?? 0
        case 3: return Double(bitPattern: next()).isFinite ? Double(bitPattern: next() & 0x7FEF_FFFF_FFFF_FFFF) : 1
        default: return Double.random(in: -1e6...1e6, using: &self)
        }
    }

    mutating func value(depth: Int, finite: Bool) -> JSON {
        let leaf = depth >= 4 || Int.random(in: 0..<3, using: &self) > 0
        if leaf {
            switch Int.random(in: 0..<7, using: &self) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &self))
            case 2: return .int([0, 1, -1, 8443, Int.max, Int.min, Int.random(in: -100_000...100_000, using: &self)]
                .randomElement(using: &self) ?? 0)
            case 3: return .double(double(finite: finite))
            default: return .string(string())
            }
        }
        let n = Int.random(in: 0..<5, using: &self)
        if Bool.random(using: &self) {
            return .array((0..<n).map { _ in value(depth: depth + 1, finite: finite) })
        }
        var o = OrderedDictionary<String, JSON>()
        for _ in 0..<n { o[string()] = value(depth: depth + 1, finite: finite) }
        return .object(o)
    }
}

/// Runs `body` and returns the DataParseError it throws (nil if none or another error).
func parseError(_ body: () throws -> Any) -> DataParseError? {
    do {
        _ = try body()
        return nil
    } catch let e as DataParseError {
        return e
    } catch {
        return nil
    }
}
