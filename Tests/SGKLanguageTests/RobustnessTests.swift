import Foundation
import Testing
@testable import SGKLanguage

/// Mutated and hostile inputs must give diagnostics, never a trap.
@Suite struct RobustnessTests {
    func session() -> Session {
        var r = CommandRegistry()
        r.register(CoreCommands.self)
        return Session(registry: r, context: CallContext(output: StringSink(), errors: StringSink(), environment: [:]),
                       loader: ModuleLoader(environment: [:]))
    }

    /// A tiny deterministic generator (SplitMix64).
    struct RNG { var s: UInt64; mutating func next() -> UInt64 { s &+= 0x9E3779B97F4A7C15; var z = s; z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) &* 0x94D049BB133111EB; return z ^ (z >> 31) }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) } }

    // Each test runs sgk on a large-stack thread and awaits it: blocking the
    // test's own thread (a cooperative pool thread, two on a 2-core machine)
    // for seconds starved every async test running beside it.

    @Test func mutatedBehaviourFilesNeverTrap() async throws {
        let cases = Behaviour.cases
        #expect(!cases.isEmpty)
        var rng = RNG(s: 42)
        let alphabet = Array("(){}[]\"'$|:,.=<>+-*/%#\\\n \t~!`aZ09_".utf8) + [0xFF, 0xC3, 0x00]
        let s = session()
        var checked = 0
        for c in cases {
            guard let data = FileManager.default.contents(atPath: c.path) else { continue }
            for _ in 0..<6 {
                var bytes = Array(data)
                for _ in 0..<(1 + rng.below(4)) {
                    switch rng.below(4) {
                    case 0 where !bytes.isEmpty: bytes.remove(at: rng.below(bytes.count))
                    case 1: bytes.insert(alphabet[rng.below(alphabet.count)], at: rng.below(bytes.count + 1))
                    case 2 where bytes.count > 1:
                        let i = rng.below(bytes.count), j = rng.below(bytes.count)
                        bytes.swapAt(i, j)
                    default:
                        let i = rng.below(bytes.count + 1)
                        bytes.insert(contentsOf: bytes[rng.below(max(1, i))..<i].prefix(20), at: i)
                    }
                }
                let file = SourceFile(name: "fuzz.sgk", bytes: bytes)
                _ = await offPool { s.check(file) }
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func hostileInputsGiveDiagnostics() async {
        let s = session()
        var random = RNG(s: 7)
        let inputs: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "("), count: 100_000),
            Array(repeating: UInt8(ascii: "["), count: 100_000),
            Array(repeating: UInt8(ascii: "{"), count: 100_000),
            Array("let x = ".utf8) + Array(repeating: UInt8(ascii: "-"), count: 100_000) + [49],
            [0xFF, 0xFE, 0x00, 0xC3, 0x28],
            (0..<50_000).map { _ in UInt8(truncatingIfNeeded: random.next()) },
            // Chains as long as generated code makes them: each link is a level of the tree.
            Array(("print (" + Array(repeating: "1", count: 200_000).joined(separator: " + ") + ")").utf8),
            Array(("print (" + Array(repeating: "false", count: 200_000).joined(separator: " or ") + ")").utf8),
            Array(("let x = {}\nprint $x" + String(repeating: ".a", count: 200_000)).utf8),
            Array(("let y = [[0]]\nprint $y" + String(repeating: "[0]", count: 200_000)).utf8),
        ]
        for bytes in inputs {
            let diags = await offPool { s.check(SourceFile(name: "x", bytes: bytes)) }
            #expect(!diags.isEmpty)
        }
    }

    @Test func runawayRecursionIsAnError() async throws {
        let s = session()
        let r: String? = await offPool {
            do { _ = try s.evaluate(SourceFile(name: "x", text: "fn f(n) { return f ($n + 1) }\nf 0")); return nil } catch { return "\(error)" }
        }
        #expect(r?.contains("too many nested calls") == true)
    }

    @Test func longButReasonableChainsStillWork() async throws {
        let s = session()
        let n: Int? = await offPool {
            let src = "(" + Array(repeating: "1", count: 5_000).joined(separator: " + ") + ")"
            guard let v = try? s.evaluate(SourceFile(name: "x", text: src)) else { return nil }
            return v.intValue
        }
        #expect(n == 5_000)
    }

    @Test func aFailedModuleIsReportedOnceNotAtEveryUse() async {
        let s = session()
        let diags = await offPool { s.check(SourceFile(name: "x", text: "use nosuchmodule as m\nm f 1\nprint (m g)\n")) }
        #expect(diags.count == 1)
        #expect(diags.first?.message.contains("module 'nosuchmodule' not found") == true)
    }

    /// Parse and resolve are linear in a script's length: a block of n statements once kept
    /// n²/2 closure references alive while it was compiled (20,000 lines took 1.6 GB, 100,000
    /// would take 40 GB). A 100,000-line script is checked, and runs, like a short one.
    @Test func aHundredThousandLineScriptChecksAndRuns() async throws {
        let s = session()
        let lets = (0..<100_000).map { "let x\($0) = \($0)" }.joined(separator: "\n") + "\n$x99999 + $x0\n"
        let diags = await offPool { s.check(SourceFile(name: "long.sgk", text: lets)) }
        #expect(diags.isEmpty, "\(diags.first.map(\.description) ?? "")")
        let v: Int? = await offPool { (try? s.evaluate(SourceFile(name: "long.sgk", text: lets)))?.intValue }
        #expect(v == 99_999)
        // Statements inside a block, and a function body, are sequences too.
        let body = (0..<50_000).map { _ in "  n = $n + 1" }.joined(separator: "\n")
        let inFn = "fn f() {\n  let n = 0\n\(body)\n  return $n\n}\nif true {\n  let n = 0\n\(body)\n}\nf\n"
        let w: Int? = await offPool { (try? s.evaluate(SourceFile(name: "block.sgk", text: inFn)))?.intValue }
        #expect(w == 50_000)
    }

    @Test func hugeStringIsFine() async throws {
        let s = session()
        let big = String(repeating: "a", count: 5_000_000)
        let n: Int? = await offPool {
            guard let v = try? s.evaluate(SourceFile(name: "x", text: "let s = \"\(big)\"\n$s")) else { return nil }
            return v.stringValue?.count
        }
        #expect(n == 5_000_000)
    }
}

/// Runs `body` on a large-stack thread; the caller's task is suspended, not blocked.
func offPool<T>(_ body: @escaping () -> T) async -> T {
    let work = Unchecked(body)
    return await Session.onLargeStackAsync { Unchecked(work.value()) }.value
}

final class Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
