import OrderedCollections
import Testing
@testable import SGKData

func obj(_ pairs: KeyValuePairs<String, JSON>) -> JSON {
    var o = OrderedDictionary<String, JSON>()
    for (k, v) in pairs { o[k] = v }
    return .object(o)
}

@Suite("YAMLCodec")
struct YAMLCodecTests {
    @Test func keepsKeyOrderAndQuotedStrings() throws {
        let v = try YAMLCodec.parse("""
            zeta: 1
            alpha:
              port: "8443"
              number: 8443
              flag: 'true'
              real: true
            middle: [a, "b", 3]
            """)
        #expect(v.objectValue.map { Array($0.keys) } == ["zeta", "alpha", "middle"])
        #expect(v.at("alpha", "port") == .string("8443"))
        #expect(v.at("alpha", "number") == .int(8443))
        #expect(v.at("alpha", "flag") == .string("true"))
        #expect(v.at("alpha", "real") == .bool(true))
        #expect(v["middle"] == .array([.string("a"), .string("b"), .int(3)]))
        #expect(v["alpha"]?.objectValue.map { Array($0.keys) } == ["port", "number", "flag", "real"])
    }

    @Test(arguments: [
        ("~", JSON.null), ("null", .null), ("Null", .null), ("NULL", .null), ("", .null),
        ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)), ("false", .bool(false)),
        // YAML 1.1 booleans, as kubectl (sigs.k8s.io/yaml → go-yaml v2) reads them.
        ("yes", .bool(true)), ("Yes", .bool(true)), ("YES", .bool(true)), ("no", .bool(false)), ("NO", .bool(false)),
        ("on", .bool(true)), ("On", .bool(true)), ("off", .bool(false)), ("OFF", .bool(false)),
        ("y", .bool(true)), ("Y", .bool(true)), ("n", .bool(false)), ("N", .bool(false)),
        ("tRUE", .string("tRUE")), ("yess", .string("yess")), ("nil", .string("nil")),
        ("0", .int(0)), ("42", .int(42)), ("-42", .int(-42)), ("+42", .int(42)), ("1_000", .int(1000)),
        ("0x1F", .int(31)), ("-0x1f", .int(-31)), ("0o17", .int(15)), ("0b101", .int(5)), ("0644", .int(420)),
        ("9223372036854775807", .int(Int.max)), ("-9223372036854775808", .int(Int.min)),
        ("9223372036854775808", .double(9223372036854775808.0)),
        ("1.5", .double(1.5)), ("-1.5", .double(-1.5)), ("1e3", .double(1000)), ("1.0", .double(1)),
        (".5", .double(0.5)), ("5.", .double(5)), ("-1.5E-3", .double(-0.0015)), ("1_000.5", .double(1000.5)),
        (".inf", .double(.infinity)), ("-.inf", .double(-.infinity)), ("+.INF", .double(.infinity)),
        ("1.2.3", .string("1.2.3")), ("10.0.0.1", .string("10.0.0.1")), ("2024-01-01", .string("2024-01-01")),
        ("0x", .string("0x")), ("1e", .string("1e")), ("e3", .string("e3")),
        ("v1", .string("v1")), ("1:20", .string("1:20")), ("<<", .string("<<")), ("=", .string("=")), ("-a", .string("-a")),
        ("multi:softmax", .string("multi:softmax")),
    ] as [(String, JSON)])
    func plainScalarResolution(text: String, expected: JSON) throws {
        let v = try YAMLCodec.parse("k: \(text)\n")
        #expect(v["k"] == expected, "\(text)")
    }

    @Test func nanAndQuotedStyles() throws {
        let v = try YAMLCodec.parse("""
            nan: .nan
            single: '123'
            double: "yes"
            literal: |
              42
            folded: >
              null
            empty: ""
            """)
        if case .double(let d)? = v["nan"] { #expect(d.isNaN) } else { Issue.record("nan: \(String(describing: v["nan"]))") }
        #expect(v["single"] == .string("123"))
        #expect(v["double"] == .string("yes"))
        #expect(v["literal"] == .string("42\n"))
        #expect(v["folded"] == .string("null\n"))
        #expect(v["empty"] == .string(""))
    }

    @Test func explicitTags() throws {
        let v = try YAMLCodec.parse("""
            a: !!str 123
            b: !!int "42"
            c: !!float 1
            d: !!bool "yes"
            e: !!null ""
            f: !!str true
            g: !custom 12
            h: !!binary aGVsbG8=
            """)
        #expect(v["a"] == .string("123"))
        #expect(v["b"] == .int(42))
        #expect(v["c"] == .double(1))
        #expect(v["d"] == .bool(true))
        #expect(v["e"] == .null)
        #expect(v["f"] == .string("true"))
        #expect(v["g"] == .string("12"))
        #expect(v["h"] == .string("aGVsbG8="))
        let error = parseError { try YAMLCodec.parse("a: 1\nb: !!int abc\n") }
        #expect(error?.message.contains("invalid !!int value 'abc'") == true)
        #expect(error?.line == 2 && error?.column == 4, "\(String(describing: error))")
    }

    @Test func nonStringKeysBecomeStrings() throws {
        let v = try YAMLCodec.parse("1: a\ntrue: b\n~: c\n1.5: d\n0x10: e\n\"2\": f\n")
        #expect(v.objectValue.map { Array($0.keys) } == ["1", "true", "null", "1.5", "16", "2"])
        #expect(parseError { try YAMLCodec.parse("? [a, b]\n: c\n") }?.message.contains("mapping keys must be scalars") == true)
    }

    @Test func multipleDocuments() throws {
        let text = "a: 1\n---\nb: 2\n---\n# just a comment\n---\n- x\n---\n"
        let docs = try YAMLCodec.parseDocuments(text)
        #expect(docs == [obj(["a": .int(1)]), obj(["b": .int(2)]), .array([.string("x")])])
        let error = parseError { try YAMLCodec.parse(text) }
        #expect(error?.message.contains("expected a single YAML document but found 3") == true)
        #expect(error?.line == 3)
        #expect(try YAMLCodec.parse("") == .null)
        #expect(try YAMLCodec.parse("# nothing\n") == .null)
        #expect(try YAMLCodec.parse("---\n") == .null)
        #expect(try YAMLCodec.parseDocuments("") == [])
        #expect(try YAMLCodec.parse("--- null\n") == .null)
        #expect(try YAMLCodec.parseDocuments("--- ~\n--- 1\n") == [.null, .int(1)])
        #expect(try YAMLCodec.parse("--- plain text\n") == .string("plain text"))
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let v = try YAMLCodec.parse("""
            base: &base
              image: nginx
              port: 80
              tier: web
            extra: &extra
              port: 81
              debug: true
            svc:
              name: a
              <<: [*base, *extra]
              tier: api
            copy: *base
            list: [&x 1, *x]
            """)
        #expect(v["copy"] == v["base"])
        #expect(v["list"] == .array([.int(1), .int(1)]))
        #expect(v["svc"] == obj(["name": .string("a"), "image": .string("nginx"), "port": .int(80),
                                 "debug": .bool(true), "tier": .string("api")]))
        #expect(v["svc"]?.objectValue.map { Array($0.keys) } == ["name", "image", "port", "debug", "tier"])
        let quotedMerge = try YAMLCodec.parse("a: &a {x: 1}\nb:\n  \"<<\": *a\n")
        #expect(quotedMerge["b"] == obj(["<<": obj(["x": .int(1)])]))
        #expect(parseError { try YAMLCodec.parse("a:\n  <<: 3\n") }?.message.contains("merge key") == true)
        #expect(parseError { try YAMLCodec.parse("a: *nope\n") }?.message.contains("undefined alias") == true)
    }

    @Test func aliasBombIsAnError() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...9 {
            let refs = Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", ")
            text += "a\(k): &a\(k) [\(refs)]\n"
        }
        let error = parseError { try YAMLCodec.parse(text) }
        #expect(error?.message.contains("alias") == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("a: b: c\n", "mapping values are not allowed", 1, 5),
        ("a:\n  - b\n c: d\n", "", 3, 2),
        ("a: 1\na: 2\n", "duplicate mapping key 'a'", 1, 1),
        ("a: [1, 2\n", "", 2, 1),
        ("a: \"unterminated\n", "", 2, 1),
        ("x:\n\t- y\n", "tabs cannot be used for indentation", 2, 1),
        ("a: *missing\n", "undefined alias", 1, 4),
        // The same key spelt two ways: libyaml's check compares spellings.
        ("1: a\n0x1: b\n", "duplicate mapping key '1'", 2, 1),
        // A number beyond a double's range is an error, never infinity.
        ("data:\n  big: 1e999\n", "number '1e999' is out of range", 2, 8),
        ("k: -1e999\n", "is out of range", 1, 4),
        ("k: 1\(String(repeating: "0", count: 400))\n", "is out of range", 1, 4),
        ("k: !!float 1e999\n", "is out of range", 1, 4),
        ("1e999: x\n", "is out of range", 1, 1),
    ] as [(String, String, Int, Int)])
    func errorsCarryPositions(input: String, message: String, line: Int, column: Int) {
        let error = parseError { try YAMLCodec.parseDocuments(input) }
        #expect(error != nil, "\(input) should not parse")
        guard let error else { return }
        #expect(error.format == "YAML")
        #expect(message.isEmpty || error.message.contains(message), "\(error)")
        #expect(error.line == line && error.column == column, "\(error)")
        #expect(!error.message.isEmpty)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let error = parseError { try YAMLCodec.parseDocuments(String(repeating: "[", count: 100_000)) }
        #expect(error != nil)
        let blocks = (0..<5000).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n")
        #expect(parseError { try YAMLCodec.parseDocuments(blocks) } != nil)
        let dashes = String(repeating: "- ", count: 50_000) + "x\n"
        #expect(parseError { try YAMLCodec.parseDocuments(dashes) } != nil)
    }

    @Test func controlCharactersAreAnErrorNotACrash() {
        #expect(parseError { try YAMLCodec.parse("a: \u{1}\n") } != nil)
        #expect(parseError { try YAMLCodec.parse("a: \u{0}b\n") } != nil)
    }

    @Test func emitsKubectlStyle() {
        let pod = obj([
            "apiVersion": .string("v1"),
            "kind": .string("Pod"),
            "metadata": obj(["name": .string("x"), "labels": obj(["app": .string("web")]), "annotations": obj([:])]),
            "spec": obj([
                "containers": .array([obj([
                    "name": .string("x"),
                    "image": .string("nginx:1.25"),
                    "ports": .array([obj(["containerPort": .int(8443), "protocol": .string("TCP")])]),
                    "args": .array([.string("--port"), .string("8443"), .string("-v")]),
                    "env": .array([obj(["name": .string("DEBUG"), "value": .string("true")])]),
                ])]),
                "tolerations": .array([]),
                "script": .string("set -e\necho hi\n"),
                "matrix": .array([.array([.int(1), .int(2)]), .array([])]),
                "ratio": .double(0.5),
                "nothing": .null,
            ]),
        ])
        #expect(YAMLCodec.emit(pod) == """
            apiVersion: v1
            kind: Pod
            metadata:
              name: x
              labels:
                app: web
              annotations: {}
            spec:
              containers:
              - name: x
                image: nginx:1.25
                ports:
                - containerPort: 8443
                  protocol: TCP
                args:
                - --port
                - "8443"
                - -v
                env:
                - name: DEBUG
                  value: "true"
              tolerations: []
              script: |
                set -e
                echo hi
              matrix:
              - - 1
                - 2
              - []
              ratio: 0.5
              nothing: null

            """)
    }

    @Test(arguments: [
        ("8443", "\"8443\""), ("true", "\"true\""), ("null", "\"null\""), ("", "\"\""), ("yes", "\"yes\""),
        ("a: b", "\"a: b\""), ("- x", "\"- x\""), ("#c", "\"#c\""), ("plain text", "plain text"),
        ("1.5", "\"1.5\""), ("0644", "\"0644\""), ("say \"hi\"", "say \"hi\""), ("'q'", "\"'q'\""),
        ("tab\there", "\"tab\\there\""), ("a\u{1}", "\"a\\x01\""), ("2024-01-01", "\"2024-01-01\""),
        ("no newline\nat end", "|-\n  no newline\n  at end"), ("two\n\n", "|+\n  two\n"),
        (" lead\nx", "\" lead\\nx\""), ("é", "é"), ("line\u{2028}", "\"line\\u2028\""),
    ] as [(String, String)])
    func emitQuotesOnlyWhenNeeded(string: String, expected: String) throws {
        #expect(YAMLCodec.emit(.string(string)) == expected + "\n")
        #expect(YAMLCodec.emit(obj(["k": .string(string)])) == "k: " + expected + "\n")
        #expect(try YAMLCodec.parse(YAMLCodec.emit(.string(string))) == .string(string))
    }

    @Test func emitScalarsAndDocuments() throws {
        #expect(YAMLCodec.emit(.null) == "null\n")
        #expect(YAMLCodec.emit(.object([:])) == "{}\n")
        #expect(YAMLCodec.emit(.array([])) == "[]\n")
        #expect(YAMLCodec.emit(.double(1e20)) == "1.0e+20\n")
        #expect(YAMLCodec.emit(.double(2)) == "2.0\n")
        #expect(YAMLCodec.emit(.double(-.infinity)) == "-.inf\n")
        #expect(YAMLCodec.emit(obj(["8443": .int(1), "on": .int(2), "a b": .int(3)])) == "\"8443\": 1\n\"on\": 2\na b: 3\n")
        let docs = [obj(["a": .int(1)]), .array([.string("x")])]
        #expect(YAMLCodec.emitDocuments(docs) == "a: 1\n---\n- x\n")
        #expect(try YAMLCodec.parseDocuments(YAMLCodec.emitDocuments(docs)) == docs)
        let longKey = String(repeating: "k", count: 2000)
        let v = obj([longKey: .array([.int(1)]), "b": obj([longKey: .string("v")])])
        #expect(try YAMLCodec.parse(YAMLCodec.emit(v)) == v)
    }
}
