import Foundation
import SGKLanguage
import Testing
@testable import SGKREPL

@Suite struct LoopTests {
    @Test func evaluatesAndKeepsState() {
        let h = Harness()
        let (reader, code) = h.run(["let x = 40", "$x + 2", "\"hi\""])
        #expect(code == 0)
        #expect(h.out.text == "42\n\"hi\"\n")
        #expect(reader.prompts == ["sgk> ", "sgk> ", "sgk> ", "sgk> "])
    }

    @Test func continuationForOpenBlockStringAndPipe() {
        let h = Harness()
        let (reader, _) = h.run([
            "fn add(a, b) {", "return $a + $b", "}",
            "add 1 2",
            "let s = \"\"\"", "a", "\"\"\"",
            "[1,", "2]",
            "(1 +", "2)",
        ])
        #expect(h.err.text == "")
        #expect(h.out.text == "3\n[1, 2]\n3\n")
        #expect(reader.prompts.prefix(4) == ["sgk> ", "...> ", "...> ", "sgk> "])
        #expect(reader.prompts.filter { $0 == REPL.continuationPrompt }.count == 6)
    }

    @Test func trailingPipeContinues() {
        let h = Harness()
        let (reader, _) = h.run(["[1, 2] |", "print"])
        #expect(reader.prompts.prefix(2) == ["sgk> ", "...> "])
        #expect(h.err.text == "")
    }

    @Test func errorKeepsSession() {
        let h = Harness()
        h.run(["let x = 1", "$x +* 2", "$nope", "$x"])
        #expect(h.out.text == "1\n")
        #expect(h.err.text.contains("<repl>:1:"))
        #expect(h.err.text.contains("error"))
        #expect(h.err.text.contains("^"))
    }

    @Test func interruptDropsContinuation() {
        let h = Harness()
        let reader = ScriptedReader([.line("fn f() {"), .interrupted, .line("1")])
        _ = REPL(session: h.session, reader: reader).run()
        #expect(h.out.text == "1\n")
        #expect(reader.prompts == ["sgk> ", "...> ", "sgk> ", "sgk> "])
    }

    @Test func trailingBackslashContinuesTheLine() {
        let h = Harness()
        let reader = ScriptedReader(lines: ["print 1 \\", "2"])
        _ = REPL(session: h.session, reader: reader).run()
        #expect(h.out.text == "1 2\n")
        #expect(reader.prompts.prefix(2) == ["sgk> ", "...> "])
    }

    @Test func anUnterminatedQuotedStringIsAnErrorAtOnce() {
        let h = Harness()
        let reader = ScriptedReader(lines: ["let s = \"abc", "1"])
        _ = REPL(session: h.session, reader: reader).run()
        #expect(h.err.text.contains("unterminated string"))
        #expect(reader.prompts.prefix(2) == ["sgk> ", "sgk> "])
    }

    @Test func ctrlDOnAContinuationLineEndsTheStatementNotTheSession() {
        let h = Harness()
        let reader = ScriptedReader([.line("fn q() {"), .eof, .line("print after")])
        let code = REPL(session: h.session, reader: reader).run()
        #expect(code == 0)
        #expect(h.err.text.contains("unexpected end of input"))
        #expect(h.out.text.contains("after\n"))
        #expect(reader.prompts == ["sgk> ", "...> ", "sgk> ", "sgk> "])
    }

    @Test func aLetThatFailedLeavesItsVariableUndefined() {
        let h = Harness()
        h.run(["let z = 1 / 0", "$z", "let y = 2", "$y"])
        #expect(h.err.text.contains("division by zero"))
        #expect(h.err.text.contains("undefined variable '$z'"))
        #expect(h.out.text == "2\n")
    }

    @Test func aValuePrintedWithOutputFlagIsNotShownAgain() {
        let h = Harness()
        h.run(["[1, 2] | count -o json", "[1, 2] | count"])
        #expect(h.out.text == "2\n2\n")
    }

    @Test func eofExitsZero() {
        let h = Harness()
        let (_, code) = h.run([])
        #expect(code == 0)
    }

    @Test func nullIsNotShown() {
        let h = Harness()
        h.run(["null", "env NOPE_NOT_SET"])
        #expect(h.out.text == "")
    }

    // The cancelling tests run the loop on a large-stack thread, not on the
    // test's (cooperative pool) thread: a statement that spins until it is
    // cancelled must not hold one of the pool's few threads.

    @Test(.timeLimit(.minutes(1))) func cancelledRunReturnsToPrompt() async {
        let h = Harness()
        let cancel = h.session.context.cancellation
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cancel.cancel() }
        let code = await h.runOffPool(["spin", "1"])
        #expect(code == 0)
        #expect(h.out.text == "1\n")
    }

    @Test(.timeLimit(.minutes(1))) func whileLoopIsCancelled() async {
        let h = Harness()
        let cancel = h.session.context.cancellation
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { cancel.cancel() }
        _ = await h.runOffPool(["while true { }", "2"])
        #expect(h.err.text.contains("interrupted"))
        #expect(h.out.text == "2\n")
    }

    /// A cancel that comes before the statement starts (the timer above fired
    /// early, on a loaded machine) still interrupts it. It used to be cleared
    /// when the statement started, and the statement then ran forever: the
    /// intermittent hang of `swift test`.
    @Test(.timeLimit(.minutes(1))) func cancelBeforeTheStatementStartsIsNotLost() async {
        let h = Harness()
        h.session.context.cancellation.cancel()
        let code = await h.runOffPool(["spin", "3"])
        #expect(code == 0)
        #expect(h.err.text.contains("interrupted"))
        #expect(h.out.text == "3\n")
        let h2 = Harness()
        h2.session.context.cancellation.cancel()
        _ = await h2.runOffPool(["while true { }", "4"])
        #expect(h2.err.text.contains("interrupted"))
        #expect(h2.out.text == "4\n")
    }
}

@Suite struct DisplayTests {
    let rows: Value = .list([
        obj(["name": .string("a"), "age": .int(1)]),
        obj(["name": .string("bb"), "age": .int(22)]),
    ])

    @Test func scalarsPlainly() {
        let d = Display()
        #expect(d.render(.string("https://oidc.example/id/X")) == "\"https://oidc.example/id/X\"\n")
        #expect(d.render(.int(3)) == "3\n")
        #expect(d.render(.bool(true)) == "true\n")
        #expect(d.render(.null) == nil)
    }

    @Test func shortMapInline() {
        let v: Value = obj(["Account": .string("123"), "Arn": .string("arn:aws:iam::123:user/ops")])
        #expect(Display().render(v) == "{Account: \"123\", Arn: \"arn:aws:iam::123:user/ops\"}\n")
    }

    @Test func longMapAsYAML() {
        let v = obj(["description": .string(String(repeating: "x", count: 90)), "name": .string("demo")])
        #expect(Display().render(v) == "description: \(String(repeating: "x", count: 90))\nname: demo\n")
    }

    @Test func uniformMapsAsTable() {
        let text = Display().render(rows) ?? ""
        #expect(text == "NAME   AGE\na      1\nbb     22\n")
    }

    @Test func kubernetesObjectsAsTable() {
        let pod: Value = obj(["apiVersion": .string("v1"), "kind": .string("Pod"),
                               "metadata": obj(["name": .string("p1"), "namespace": .string("ns")])])
        #expect(Display().render(.list([pod])) == "KIND   NAMESPACE   NAME\nPod    ns          p1\n")
    }

    @Test func aSecretShowsItsKeysNotItsValues() {
        let secret: Value = obj(["apiVersion": .string("v1"), "kind": .string("Secret"),
                                  "metadata": obj(["name": .string("db"), "namespace": .string("ns")]),
                                  "data": obj(["token": .string("ZXlKaGJHY2lPaUpTVXpJMU5pSjkuc2VjcmV0")]),
                                  "stringData": obj(["password": .string("hunter2")])])
        for format in DisplayFormat.allCases {
            let text = Display(format: format).render(secret) ?? ""
            #expect(!text.contains("ZXlKaGJH") && !text.contains("hunter2"), "\(format): \(text)")
            #expect(text.contains("token") && text.contains("<hidden: 27 bytes>") && text.contains("<hidden: 7 bytes>"), "\(format): \(text)")
        }
        // In a list, and in a List's items.
        let list: Value = obj(["apiVersion": .string("v1"), "kind": .string("List"), "items": .list([secret])])
        #expect(!(Display(format: .yaml).render(list) ?? "").contains("hunter2"))
        #expect(!(Display(format: .json).render(.list([secret])) ?? "").contains("hunter2"))
        // The value asked for by its path is shown.
        #expect(Display().render(.string("hunter2")) == "\"hunter2\"\n")
    }

    @Test func formatsSwitch() {
        #expect(Display(format: .inline).render(rows) == "[{name: \"a\", age: 1}, {name: \"bb\", age: 22}]\n")
        #expect(Display(format: .json).render(obj(["a": .int(1)])) == "{\n  \"a\": 1\n}\n")
        #expect(Display(format: .yaml).render(obj(["a": .int(1)])) == "a: 1\n")
    }

    @Test func colourOnlyWhenAsked() {
        #expect(Display(color: false).render(.string("x"))?.contains("\u{1B}") == false)
        #expect(Display(color: true).render(.string("x"))?.contains("\u{1B}[32m") == true)
    }
}
