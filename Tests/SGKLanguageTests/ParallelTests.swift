import Foundation
import Synchronization
import Testing
@testable import SGKLanguage

/// `parallel for` as seen from outside a script: how many bodies run at once, whole output lines,
/// the item prefix on a terminal, Ctrl-C. (Its language behaviour is in behaviour/parallel/.)
@Suite struct ParallelTests {
    /// Counts the bodies inside `probe` at once.
    final class Probe: Sendable {
        let now = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let calls = Atomic<Int>(0)
    }

    /// A sink that says it is a terminal (the item prefix is shown).
    final class TerminalSink: OutputSink, @unchecked Sendable {
        let inner = StringSink()
        func write(_ text: String) { inner.write(text) }
        func flush() {}
        var isTerminal: Bool { true }
        var text: String { inner.text }
    }

    static func session(_ probe: Probe, output: OutputSink) -> Session {
        var registry = CommandRegistry()
        registry.register(CoreCommands.self)
        registry.register(NativeCommand(CommandSignature("probe", positionals: [.init("ms", optional: true)], summary: "test probe")) { inv in
            let n = probe.now.add(1, ordering: .sequentiallyConsistent).newValue
            _ = probe.calls.add(1, ordering: .relaxed)
            var m = probe.most.load(ordering: .sequentiallyConsistent)
            while n > m {
                let (done, seen) = probe.most.compareExchange(expected: m, desired: n, ordering: .sequentiallyConsistent)
                if done { break }
                m = seen
            }
            let ms = inv.args.positional(0)?.intValue ?? 30
            try inv.context.wait { try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000) }
            probe.now.subtract(1, ordering: .sequentiallyConsistent)
            return .null
        })
        // Writes one line in pieces, with waits between them.
        registry.register(NativeCommand(CommandSignature("pieces", positionals: [.init("text")], summary: "test pieces")) { inv in
            let t = inv.args.positional(0)?.text ?? ""
            for ch in t {
                inv.context.output.write(String(ch))
                usleep(200)
            }
            inv.context.output.write("\n")
            return .null
        })
        let context = CallContext(output: output, errors: StringSink(), environment: ["HOME": NSTemporaryDirectory()])
        return Session(registry: registry, context: context, loader: ModuleLoader(searchPaths: [], environment: [:]))
    }

    static func run(_ session: Session, _ code: String) async -> (any Error)? {
        let box = SessionRef(session)
        return await Session.onLargeStackAsync { () -> ErrorBox in
            do { try box.session.run(SourceFile(name: "t.sgk", text: code)); return ErrorBox(nil) } catch { return ErrorBox(error) }
        }.error
    }

    final class ErrorBox: @unchecked Sendable {
        let error: (any Error)?
        init(_ e: (any Error)?) { error = e }
    }

    @Test func limitIsRespected() async throws {
        let probe = Probe()
        let s = ParallelTests.session(probe, output: StringSink())
        let e = await ParallelTests.run(s, "parallel for n in 1..12 limit: 3 { probe 40 }")
        #expect(e == nil)
        #expect(probe.calls.load(ordering: .relaxed) == 12)
        #expect(probe.most.load(ordering: .relaxed) <= 3)
        #expect(probe.most.load(ordering: .relaxed) >= 2, "the bodies ran one at a time")
    }

    @Test func defaultLimitIsEight() async throws {
        let probe = Probe()
        let s = ParallelTests.session(probe, output: StringSink())
        let e = await ParallelTests.run(s, "parallel for n in 1..20 { probe 60 }")
        #expect(e == nil)
        #expect(probe.most.load(ordering: .relaxed) <= 8)
        #expect(probe.most.load(ordering: .relaxed) >= 4)
    }

    @Test func linesAreNeverInterleaved() async throws {
        let out = StringSink()
        let s = ParallelTests.session(Probe(), output: out)
        let e = await ParallelTests.run(s, """
            parallel for c in ["aaaa", "bbbb", "cccc", "dddd"] limit: 4 {
              for i in 1..20 { pieces "${c}-${i}-${c}" }
              print "end of ${c}"
            }
            """)
        #expect(e == nil)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 84)
        for line in lines {
            let parts = line.split(separator: "-")
            let whole = (parts.count == 3 && parts[0] == parts[2]) || line.hasPrefix("end of ")
            #expect(whole, "a mixed line: \(line)")
        }
        // Each body's lines keep their order.
        for c in ["aaaa", "bbbb", "cccc", "dddd"] {
            let mine = lines.filter { $0.hasPrefix(c) }.map { Int($0.split(separator: "-")[1]) ?? 0 }
            #expect(mine == Array(1...20))
        }
    }

    @Test func terminalLinesArePrefixedWithTheItem() async throws {
        let out = TerminalSink()
        let s = ParallelTests.session(Probe(), output: out)
        let e = await ParallelTests.run(s, """
            parallel for c in [{cluster: "dev", region: "us-west-2"}, {cluster: "prod"}] {
              print "installing"
              pieces "no newline at the end"
            }
            print "after"
            """)
        #expect(e == nil)
        let lines = out.text.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0 == "[dev] installing" }.count == 1)
        #expect(lines.filter { $0 == "[prod] installing" }.count == 1)
        #expect(lines.filter { $0 == "[prod] no newline at the end" }.count == 1)
        #expect(lines.last == "after")
    }

    @Test func cancelReachesEveryBody() async throws {
        let probe = Probe()
        let s = ParallelTests.session(probe, output: StringSink())
        let cancellation = s.context.cancellation
        let started = Date()
        // Ctrl-C once the first three bodies are in `probe` (at most 20 s of waiting for them).
        DispatchQueue.global().async {
            var waited = 0
            while probe.now.load(ordering: .sequentiallyConsistent) < 3 && waited < 2000 { usleep(10_000); waited += 1 }
            cancellation.cancel()
        }
        let e = await ParallelTests.run(s, "parallel for n in 1..6 limit: 3 { probe 20000 }")
        let took = Date().timeIntervalSince(started)
        #expect(took < 30, "the bodies were not cancelled (took \(took)s)")
        let r = e as? RuntimeError
        #expect(r?.cancelled == true, "got \(String(describing: e))")
        // Bodies not started when the cancel came never start.
        #expect(probe.calls.load(ordering: .relaxed) == 3)
    }

    @Test func deepRecursionInABodyIsAnErrorNotACrash() async throws {
        let s = ParallelTests.session(Probe(), output: StringSink())
        let e = await ParallelTests.run(s, """
            fn down(n) { return down ($n + 1) }
            parallel for n in [1, 2] { down 0 }
            """)
        #expect("\(String(describing: e))".contains("too many nested calls"))
    }
}
