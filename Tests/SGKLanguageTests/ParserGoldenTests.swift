import Testing
@testable import SGKLanguage

/// Parser golden tests: source → compact s-expression.
@Suite struct ParserGoldenTests {
    static let cases: [(String, String)] = [
        ("let x = 1 + 2 * 3", "(let x (+ 1 (* 2 3)))"),
        ("x = $x - 1", "(set! x (- $x 1))"),
        ("let ok = not $a and $b or $c", "(let ok (or (and (not $a) $b) $c))"),
        ("let r = 1..10", "(let r (.. 1 10))"),
        ("let m = $a =~ \"x\"", "(let m (=~ $a \"x\"))"),
        ("let i = $x not in [1, 2]", "(let i (not in $x [1 2]))"),
        ("print $a.b[0][\"k.with/dots\"]", "(cmd print ([] ([] (. $a b) 0) \"k.with/dots\"))"),
        ("role create $role_name trust: $trust", "(cmd role create $role_name trust: $trust)"),
        ("kubectl -n $ns get pods -o wide", "(cmd kubectl -n $ns get pods -o wide)"),
        ("kubectl apply -f installer.yaml --dry-run=server", "(cmd kubectl apply -f installer.yaml --dry-run=server)"),
        ("let n = $xs | where { $it > 1 } | count", "(let n (pipe $xs (cmd where (lambda (block (> $it 1)))) (cmd count)))"),
        ("let s = \"a ${b} c\"", "(let s (str \"a \" $b \" c\"))"),
        ("let s = 'raw ${x}'", "(let s \"raw ${x}\")"),
        ("let d = 30s", "(let d 30s)"),
        ("let m = {a: 1, \"b.c\": [true, null]}", "(let m {a: 1 b.c: [true null]})"),
        ("if $a { print 1 } else if $b { print 2 } else { print 3 }", "(if $a (block (cmd print 1)) $b (block (cmd print 2)) (else (block (cmd print 3))))"),
        ("for k, v in $m { print $k }", "(for k v $m (block (cmd print $k)))"),
        ("while $i < 3 { i = $i + 1 }", "(while (< $i 3) (block (set! i (+ $i 1))))"),
        ("fn f(a, b, kw: 1, req:) { return $a }", "(fn f (a b (kw: 1) req:) (block (return $a)))"),
        ("try { fail \"x\" } catch e { print $e }", "(try (block (fail \"x\")) (catch e (block (cmd print $e))))"),
        ("use irsa", "(use irsa)"),
        ("use \"./lib/common.sgk\" as common", "(use \"./lib/common.sgk\" as common)"),
        ("param cluster: string = (env CLUSTER_NAME)", "(param cluster: string (cmd env CLUSTER_NAME))"),
        ("param role_name = \"x-${cluster}\"", "(param role_name (str \"x-\" $cluster))"),
        ("let c = (eks describe-cluster demo region: us-west-2).identity", "(let c (. (cmd eks describe-cluster demo region: 'us-west-2) identity))"),
        ("print arn:aws:iam::aws:policy/X ./a.yaml 10.0.0.1", "(cmd print arn:aws:iam::aws:policy/X ./a.yaml 10.0.0.1)"),
        ("print -3 (-$x)", "(cmd print -3 (- $x))"),
        ("print \"a\" + $b", "(cmd print (+ \"a\" $b))"),
        ("let v = [1,\n 2,\n]", "(let v [1 2])"),
        ("let p = $x\n  | count", "(let p (pipe $x (cmd count)))"),
        ("break; continue", "(break)\n(continue)"),
    ]

    @Test(arguments: 0..<cases.count)
    func golden(_ i: Int) throws {
        let (src, want) = ParserGoldenTests.cases[i]
        let stmts = try Parser.parse(SourceFile(name: "t", text: src))
        #expect(ASTDump.dump(stmts) == want, "source: \(src)")
    }

    @Test func everyNodeHasARange() throws {
        let src = "let x = [1, {a: $y.b}] | count\nrole create n trust: $t"
        let file = SourceFile(name: "t", text: src)
        let stmts = try Parser.parse(file)
        #expect(file.slice(stmts[0].range).hasPrefix("let x"))
        if case .pipeline(let p) = stmts[1] { #expect(file.slice(p.range) == "role create n trust: $t") }
    }

    @Test func incompleteInputIsReportedAsSuch() {
        for src in ["fn f() {", "let x = (1 +", "let l = [1,", "let y = $x |", "let t = \"\"\"\nabc", "print 1 \\"] {
            do {
                _ = try Parser.parse(SourceFile(name: "t", text: src))
                Issue.record("parsed: \(src)")
            } catch {
                #expect(error.isIncompleteInput, "not incomplete: \(src) → \(error)")
            }
        }
        // A "…" or '…' string ends on its line: more input cannot complete it.
        for src in ["let s = \"abc", "let s = 'abc", "let s = \"${1 +"] {
            do {
                _ = try Parser.parse(SourceFile(name: "t", text: src))
                Issue.record("parsed: \(src)")
            } catch {
                #expect(!error.isIncompleteInput, "incomplete: \(src)")
                #expect(error.message.contains("unterminated"))
            }
        }
    }
}
