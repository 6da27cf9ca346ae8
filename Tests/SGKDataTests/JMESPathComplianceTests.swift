import Foundation
import OrderedCollections
import Testing
@testable import SGKData

/// Every case of the official JMESPath compliance suite (`../shared/fixtures/jmespath-compliance`,
/// jmespath.test at 53abcc3): results compared by JSON deep equality (numbers as numbers, object
/// keys in any order), errors by their kind. The benchmark cases run as plain cases: they must
/// parse (and, for "interpret"/"full", evaluate) without an error.
@Suite struct JMESPathComplianceTests {
    static let directory: URL = fixturesDirectory
        .deletingLastPathComponent()
        .appendingPathComponent("jmespath-compliance")

    static let expectedTotal = 908

    struct Case {
        var file: String
        var given: JSON
        var expression: String
        var result: JSON?
        var error: String?
        var bench: String?
    }

    static func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func cases(in file: String) throws -> [Case] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        guard case .array(let groups) = try JSONCodec.parse(text) else { throw Failure("\(file): not a list of groups") }
        var out: [Case] = []
        for g in groups {
            guard let given = g["given"], case .array(let cs)? = g["cases"] else { throw Failure("\(file): a group without given/cases") }
            for c in cs {
                guard let e = c["expression"]?.stringValue else { throw Failure("\(file): a case without an expression") }
                out.append(Case(file: file, given: given, expression: e, result: c.objectValue?.keys.contains("result") == true ? c["result"] : nil,
                                error: c["error"]?.stringValue, bench: c["bench"]?.stringValue))
            }
        }
        return out
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Deep equality written independently of the interpreter's.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.double(let x), .double(let y)): return x == y
        case (.string(let x), .string(let y)): return Array(x.unicodeScalars) == Array(y.unicodeScalars)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { same(v, $0) } ?? false }
        default: return false
        }
    }

    /// nil when the case passes, else why not.
    static func run(_ c: Case) -> String? {
        do {
            let q = try JMESPath(c.expression)
            if c.bench == "parse" { return nil }
            let r = try q.search(c.given)
            if let e = c.error { return "expected a \(e) error, got \(JSONCodec.serialize(r))" }
            if c.bench != nil { return nil }
            guard let want = c.result else { return "the case has no result" }
            return same(r, want) ? nil : "got \(JSONCodec.serialize(r)), expected \(JSONCodec.serialize(want))"
        } catch {
            if let e = c.error, e == error.kind.rawValue { return nil }
            return "error \(error.kind.rawValue): \(error.description)" + (c.error.map { " (expected \($0))" } ?? "")
        }
    }

    @Test func theWholeSuitePasses() throws {
        let files = Self.files()
        #expect(files.count == 16)
        var total = 0
        var passed = 0
        for f in files {
            for c in try Self.cases(in: f) {
                total += 1
                if let why = Self.run(c) {
                    Issue.record("\(f): \(c.expression) — \(why)")
                } else {
                    passed += 1
                }
            }
        }
        print("JMESPath compliance: \(passed) of \(total) cases passed")
        #expect(total == Self.expectedTotal)
        #expect(passed == total)
    }

    /// Every suite expression, mutated (characters deleted, doubled, swapped, or replaced by
    /// JMESPath's punctuation), parses and runs to a value or a JMESPathError, never a trap.
    @Test func mutatedExpressionsNeverTrap() throws {
        var rng = SeededGenerator(seed: 0x4A4D_4553)
        let alphabet: [Character] = Array(".*[]?@&|!=<>(){}:,'\"`\\-0123456789abc_ ✓")
        var cases: [Case] = []
        for f in Self.files() { cases += try Self.cases(in: f) }
        var errors = 0
        for c in cases {
            for _ in 0..<12 {
                var chars = Array(c.expression)
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &rng)
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: if !chars.isEmpty { chars.remove(at: i) }
                    case 1: if !chars.isEmpty { chars.insert(chars[i], at: i) }
                    case 2: if i + 1 < chars.count { chars.swapAt(i, i + 1) }
                    default: chars.insert(alphabet.randomElement(using: &rng) ?? ".", at: i)
                    }
                }
                do {
                    _ = try JMESPath.search(String(chars), in: c.given)
                } catch {
                    errors += 1
                    #expect(!error.message.isEmpty)
                }
            }
        }
        #expect(errors > 0)
    }

    // MARK: Beyond the suite

    @Test func integersStayExact() throws {
        let data = try JSONCodec.parse(#"{"a": [9007199254740993, 3, 1], "b": 9223372036854775807}"#)
        #expect(try JMESPath.search("a[0]", in: data) == .int(9_007_199_254_740_993))
        #expect(try JMESPath.search("max(a)", in: data) == .int(9_007_199_254_740_993))
        #expect(try JMESPath.search("sort(a)", in: data) == .array([.int(1), .int(3), .int(9_007_199_254_740_993)]))
        #expect(try JMESPath.search("sum(a[1:])", in: data) == .int(4))
        #expect(try JMESPath.search("abs(`-5`)", in: data) == .int(5))
        #expect(try JMESPath.search("a[?@ == `9007199254740993`]", in: data) == .array([.int(9_007_199_254_740_993)]))
        #expect(try JMESPath.search("b > `9223372036854775806`", in: data) == .bool(true))
        // An overflowing sum becomes a double instead of trapping.
        guard case .double = try JMESPath.search("sum([b, b])", in: data) else { Issue.record("sum overflow"); return }
    }

    @Test func keyOrderIsKept() throws {
        let data = try JSONCodec.parse(#"{"z": 1, "a": 2, "m": {"y": 1, "b": 2}}"#)
        #expect(JSONCodec.serialize(try JMESPath.search("@", in: data)) == #"{"z":1,"a":2,"m":{"y":1,"b":2}}"#)
        #expect(JSONCodec.serialize(try JMESPath.search("keys(@)", in: data)) == #"["z","a","m"]"#)
        #expect(JSONCodec.serialize(try JMESPath.search("{q: m.b, c: z}", in: data)) == #"{"q":2,"c":1}"#)
        #expect(JSONCodec.serialize(try JMESPath.search("merge(m, `{\"a\": 0}`)", in: data)) == #"{"y":1,"b":2,"a":0}"#)
    }

    @Test func errorsSayWhatAndWhere() {
        func error(_ e: String) -> JMESPathError? {
            do { _ = try JMESPath.search(e, in: .object(["a": .array([.int(1)])])); return nil } catch { return error }
        }
        let dot = error("foo.")
        #expect(dot?.kind == .syntax)
        #expect(dot?.column == 5)
        #expect(dot?.description == "syntax error at column 5: expected an identifier, '*', '[' or '{' after '.', found the end of the expression")
        #expect(dot?.pointer == "foo.\n    ^")
        #expect(error("a[?b = 1]")?.column == 6)
        #expect(error("`\"unclosed`")?.kind == .syntax)
        #expect(error("`\"unclosed`")?.description.contains("neither JSON nor a plain string") == true)
        #expect(error("'unclosed")?.description.contains("never closed") == true)
        let unknown = error("lenght(a)")
        #expect(unknown?.kind == .unknownFunction)
        #expect(unknown?.description.contains("lenght") == true)
        #expect(error("len(a)")?.description.contains("did you mean 'length'") == true)
        let arity = error("length(a, a)")
        #expect(arity?.kind == .invalidArity)
        #expect(arity?.description.contains("length() takes 1 argument, got 2") == true)
        let type = error("length(`true`)")
        #expect(type?.kind == .invalidType)
        #expect(type?.description.contains("argument 1 must be a string or an array or an object, got a boolean (true)") == true)
        #expect(error("a[::0]")?.kind == .invalidValue)
        #expect(error("&a")?.kind == .invalidType)
        #expect(error("f(a,)")?.kind == .syntax)
    }

    @Test func hostileInputIsAnErrorNotACrash() throws {
        for e in [String(repeating: "(", count: 100_000), String(repeating: "[", count: 100_000),
                  String(repeating: "!", count: 100_000), Array(repeating: "a", count: 50_000).joined(separator: "."),
                  String(repeating: "[0]", count: 50_000), "a[99999999999999999999999]",
                  String(repeating: "&", count: 10_000) + "a"] {
            do {
                _ = try JMESPath.search(e, in: .null)
                Issue.record("no error for \(e.prefix(20))…")
            } catch {
                #expect(error.kind == .syntax || error.kind == .invalidType)
            }
        }
        #expect(try JMESPath.search("a[-9223372036854775808:]", in: .null) == .null)
        // Extreme slice bounds do not overflow.
        let a = JSON.array([.int(1), .int(2), .int(3)])
        #expect(try JMESPath.search("[-9223372036854775807:9223372036854775807:9223372036854775807]", in: a) == .array([.int(1)]))
        #expect(try JMESPath.search("[9223372036854775807:-9223372036854775807:-9223372036854775807]", in: a) == .array([.int(3)]))
    }

    /// As the aws CLI's jmespath (the spec's deprecated form): a literal that is not JSON is its text.
    @Test func bareLiteralsAreStrings() throws {
        let data = try JSONCodec.parse(#"{"r": [{"State": "running", "Id": 1}, {"State": "stopped", "Id": 2}], "n": "00"}"#)
        #expect(try JMESPath.search("r[?State==`running`].Id", in: data) == .array([.int(1)]))
        #expect(try JMESPath.search("r[?State==` stopped`].Id", in: data) == .array([.int(2)]))
        #expect(try JMESPath.search("n == `00`", in: data) == .bool(true))
        #expect(try JMESPath.search("`1`", in: data) == .int(1))
    }

    @Test func strings() throws {
        let data = JSON.object(["s": .string("e\u{301}x"), "t": .string("\u{e9}x")])
        // Code points, not graphemes: "é" decomposed is two code points and differs from "é" composed.
        #expect(try JMESPath.search("length(s)", in: data) == .int(3))
        #expect(try JMESPath.search("s == t", in: data) == .bool(false))
        #expect(try JMESPath.search("sort([t, s])", in: data) == .array([.string("e\u{301}x"), .string("\u{e9}x")]))
        #expect(try JMESPath.search("to_number(' 12 ')", in: data) == .int(12))
        #expect(try JMESPath.search("to_number('.5')", in: data) == .double(0.5))
        #expect(try JMESPath.search("to_number('nan')", in: data) == .null)
        #expect(try JMESPath.search("to_number('1e999')", in: data) == .null)
    }
}
