import OrderedCollections
import Testing
@testable import SGKData

@Suite("JSONCodec")
struct JSONCodecTests {
    @Test func keepsKeyOrderAndTypes() throws {
        let v = try JSONCodec.parse(#"{"z": 1, "a": 2.0, "m": "8443", "n": 8443, "b": [true, false, null]}"#)
        #expect(v.objectValue.map { Array($0.keys) } == ["z", "a", "m", "n", "b"])
        #expect(v["z"] == .int(1))
        #expect(v["a"] == .double(2.0))
        #expect(v["m"] == .string("8443"))
        #expect(v["n"] == .int(8443))
        #expect(v["b"] == .array([.bool(true), .bool(false), .null]))
    }

    @Test func numbers() throws {
        #expect(try JSONCodec.parse("0") == .int(0))
        #expect(try JSONCodec.parse("-0") == .int(0))
        #expect(try JSONCodec.parse("1.0") == .double(1.0))
        #expect(try JSONCodec.parse("1e3") == .double(1000))
        #expect(try JSONCodec.parse("1E-2") == .double(0.01))
        #expect(try JSONCodec.parse("-12.5e+1") == .double(-125))
        #expect(try JSONCodec.parse("9223372036854775807") == .int(Int.max))
        #expect(try JSONCodec.parse("-9223372036854775808") == .int(Int.min))
        #expect(try JSONCodec.parse("9223372036854775808") == .double(9223372036854775808.0))
        #expect(try JSONCodec.parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
        #expect(try JSONCodec.parse("1.7976931348623157e308") == .double(.greatestFiniteMagnitude))
        #expect(try JSONCodec.parse("5e-324") == .double(5e-324))
        #expect(try JSONCodec.parse("0.1") == .double(0.1))
        #expect(try JSONCodec.parse("-0.0") == .double(-0.0))
        #expect(try JSONCodec.parse("0.30000000000000004") == .double(0.30000000000000004))
    }

    @Test func decimalParsingMatchesStandardLibrary() throws {
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<3000 {
            let mantissa = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
            let digits = String(mantissa)
            let point = Int.random(in: 1...digits.count, using: &rng)
            let exp = Int.random(in: -330...310, using: &rng)
            let text = String(digits.prefix(point)) + "." + (point < digits.count ? String(digits.dropFirst(point)) : "0")
                + (Bool.random(using: &rng) ? "e\(exp)" : "")
            let expected = try #require(Double(text))
            if expected.isInfinite {
                // Beyond a double's range: an error, never infinity.
                #expect(parseError { try JSONCodec.parse(text) }?.message.contains("is out of range") == true, "\(text)")
                continue
            }
            #expect(try JSONCodec.parse(text) == .double(expected), "\(text)")
        }
    }

    @Test func doublesRoundTripShortest() throws {
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<3000 {
            let d = rng.double(finite: true)
            let text = JSONCodec.serialize(.double(d))
            #expect(try JSONCodec.parse(text) == .double(d), "\(text)")
        }
        #expect(JSONCodec.serialize(.double(1.5)) == "1.5")
        #expect(JSONCodec.serialize(.double(100)) == "100.0")
        #expect(JSONCodec.serialize(.double(1e20)) == "1e+20")
        #expect(JSONCodec.serialize(.double(.infinity)) == "null")
        #expect(JSONCodec.serialize(.double(.nan)) == "null")
        #expect(JSONCodec.serialize(.int(Int.min)) == "-9223372036854775808")
        #expect(JSONCodec.serialize(.int(-42)) == "-42")
    }

    @Test func stringEscapes() throws {
        let v = try JSONCodec.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\u65E5\ud83d\ude00 raw é""#)
        #expect(v == .string("a\"b\\c/d\u{8}\u{c}\n\r\té日😀 raw é"))
        #expect(JSONCodec.serialize(.string("a\"b\\c/d\n\t\u{1}\u{1F}é😀")) == #""a\"b\\c/d\n\t\u0001\u001fé😀""#)
    }

    /// One rule with YAML: a duplicate key is an error naming it, never a value dropped in silence.
    @Test func duplicateKeysAreAnError() throws {
        let small = parseError { try JSONCodec.parse("{\"a\": 1, \"b\": 2,\n  \"a\": 3}") }
        #expect(small?.message == "duplicate object key 'a'", "\(String(describing: small))")
        #expect(small?.line == 2 && small?.column == 3, "\(String(describing: small))")
        // Past 16 keys the check goes through a dictionary.
        let many = (0..<20).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        let large = parseError { try JSONCodec.parse("{\(many), \"k7\": 0}") }
        #expect(large?.message == "duplicate object key 'k7'", "\(String(describing: large))")
        #expect(large?.column == many.utf8.count + 4, "\(String(describing: large))")
        // Nested objects and the same key in sibling objects are fine.
        let v = try JSONCodec.parse(#"[{"a": 1}, {"a": {"a": 2}}]"#)
        #expect(v == .array([.object(["a": .int(1)]), .object(["a": .object(["a": .int(2)])])]))
    }

    /// A number beyond a double's range is an error at its position, never infinity
    /// (which JSON cannot write back: it became null, and an empty ConfigMap value).
    @Test func outOfRangeNumbersAreAnError() throws {
        for (text, column) in [("1e999", 7), ("-1e999", 7), ("1" + String(repeating: "0", count: 400), 7), ("1.5e400", 7)] {
            let e = parseError { try JSONCodec.parse("{\"v\": \(text)}") }
            #expect(e?.message.contains("is out of range") == true, "\(text): \(String(describing: e))")
            #expect(e?.line == 1 && e?.column == column, "\(text): \(String(describing: e))")
        }
        #expect(try JSONCodec.parse("1.7976931348623157e308") == .double(.greatestFiniteMagnitude))
        #expect(try JSONCodec.parse("1e-999") == .double(0))
    }

    @Test func serializeCompactAndPretty() {
        let v: JSON = .object(["a": .int(1), "b": .array([.bool(true), .null]), "c": .object([:]), "d": .array([]),
                               "e": .object(["f": .string("x")])])
        #expect(JSONCodec.serialize(v) == #"{"a":1,"b":[true,null],"c":{},"d":[],"e":{"f":"x"}}"#)
        #expect(JSONCodec.serialize(v, pretty: true) == """
            {
              "a": 1,
              "b": [
                true,
                null
              ],
              "c": {},
              "d": [],
              "e": {
                "f": "x"
              }
            }
            """)
        #expect(JSONCodec.serialize(.string("x")) == #""x""#)
    }

    @Test(arguments: [
        (#"{"a":1 "b":2}"#, "expected ',' or '}' after object member", 1, 8),
        ("[1 2]", "expected ',' or ']' after array element", 1, 4),
        (#"{"a" 1}"#, "expected ':' after object key", 1, 6),
        ("{1: 2}", "expected a string key", 1, 2),
        ("[1,]", "expected a value", 1, 4),
        (#"{"a":1,}"#, "trailing comma", 1, 8),
        ("\"abc", "unterminated string", 1, 1),
        ("[\n  \"ok\",\n  \"bad\\x\"]", "invalid escape", 3, 7),
        (#""\ud83d""#, "unpaired high surrogate", 1, 2),
        (#""\ude00""#, "unpaired low surrogate", 1, 2),
        (#""\u12G4""#, "expected 4 hex digits", 1, 2),
        ("\"a\u{1}b\"", "unescaped control character", 1, 3),
        ("01", "leading zeros", 1, 1),
        ("1.", "expected a digit after '.'", 1, 3),
        ("1e", "expected a digit in the exponent", 1, 3),
        ("-", "expected a digit after '-'", 1, 2),
        ("tru", "invalid literal", 1, 1),
        ("nul", "invalid literal", 1, 1),
        ("{\"a\": [1, 2]}\n  x", "after the JSON value", 2, 3),
        ("1 2", "after the JSON value", 1, 3),
        ("", "empty input", 1, 1),
        ("   ", "expected a value", 1, 4),
        ("[", "unexpected end of input", 1, 2),
        (#"{"é": 1, "ü": }"#, "expected a value", 1, 15),
    ] as [(String, String, Int, Int)])
    func errorsCarryPositions(input: String, message: String, line: Int, column: Int) {
        let error = parseError { try JSONCodec.parse(input) }
        #expect(error != nil, "\(input) should not parse")
        guard let error else { return }
        #expect(error.format == "JSON")
        #expect(error.message.contains(message), "\(error)")
        #expect(error.line == line && error.column == column, "\(error)")
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        let error = parseError { try JSONCodec.parse(deep) }
        #expect(error?.message.contains("nesting too deep") == true)
        let deepObjects = String(repeating: #"{"a":"#, count: 100_000)
        #expect(parseError { try JSONCodec.parse(deepObjects) }?.message.contains("nesting too deep") == true)
        #expect(parseError { try JSONCodec.parse(bytes: Array(deep.utf8)) } != nil)
    }

    @Test func nestingUpToTheLimitWorks() throws {
        let n = JSONCodec.maxDepth
        let text = String(repeating: "[", count: n) + "1" + String(repeating: "]", count: n)
        let v = try JSONCodec.parse(text)
        #expect(JSONCodec.serialize(v) == text)
        #expect(v == (try JSONCodec.parse(text)))
        let over = String(repeating: "[", count: n + 1) + String(repeating: "]", count: n + 1)
        #expect(parseError { try JSONCodec.parse(over) }?.message.contains("nesting too deep") == true)
    }

    @Test(arguments: [
        [0x22, 0xFF, 0x22],                   // invalid byte
        [0x22, 0xC3, 0x22],                   // truncated sequence
        [0x22, 0xC0, 0xAF, 0x22],             // overlong '/'
        [0x22, 0xED, 0xA0, 0x80, 0x22],       // encoded surrogate
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // above U+10FFFF
        [0x22, 0x61, 0x5C, 0x6E, 0xE2, 0x82, 0x22], // after an escape, truncated
        [0x5B, 0xC3, 0xA9, 0x5D],             // non-ASCII outside a string
        [0xFF],
    ] as [[UInt8]])
    func invalidUTF8IsAnError(bytes: [UInt8]) {
        let error = parseError { try JSONCodec.parse(bytes: bytes) }
        #expect(error != nil)
    }

    @Test func validUTF8BytesAndBOM() throws {
        #expect(try JSONCodec.parse(bytes: Array("\u{FEFF}{\"k\": \"é日😀\"}".utf8)) == .object(["k": .string("é日😀")]))
        #expect(try JSONCodec.parse(bytes: [0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func randomValuesRoundTrip() throws {
        var rng = SeededGenerator(seed: 2024)
        for _ in 0..<500 {
            let v = rng.value(depth: 0, finite: true)
            #expect(try JSONCodec.parse(JSONCodec.serialize(v)) == v)
            #expect(try JSONCodec.parse(JSONCodec.serialize(v, pretty: true)) == v)
        }
    }
}
