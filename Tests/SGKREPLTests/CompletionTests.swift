import Foundation
import SGKLanguage
import Testing
@testable import SGKREPL

@Suite struct CompletionTests {
    func completer(vars: [(String, Value)] = [], fns: [String] = [], modules: [String: [String]] = [:]) -> Completer {
        let h = Harness()
        return Completer(registry: h.session.registry, variables: vars, functions: fns, modules: modules,
                         homeDirectory: "/home/ops") { dir in
            switch dir {
            case ".": return [PathEntry(name: "installer.yaml", isDirectory: false), PathEntry(name: "infra", isDirectory: true),
                              PathEntry(name: ".hidden", isDirectory: false)]
            case "infra/": return [PathEntry(name: "trust.json", isDirectory: false)]
            case "/home/ops/": return [PathEntry(name: "notes.sgk", isDirectory: false)]
            default: return nil
            }
        }
    }

    func complete(_ c: Completer, _ line: String) -> Completion { c.complete(line, cursor: line.utf8.count) }

    @Test func commandNames() {
        let c = complete(completer(), "rol")
        #expect(c.candidates == ["role"])
        #expect(c.insertion == "e ")
    }

    @Test func subcommands() {
        let c = complete(completer(), "role c")
        #expect(c.candidates == ["create"])
        #expect(c.insertion == "reate ")
        let all = complete(completer(), "role ")
        #expect(all.candidates == ["create", "delete", "get"])
        #expect(all.insertion == "")
    }

    @Test func keywords() {
        let c = complete(completer(), "role create ops tr")
        #expect(c.candidates == ["trust:"])
        #expect(c.insertion == "ust: ")
        let rest = complete(completer(), "role create ops trust: $t ")
        #expect(rest.candidates == ["description:"])
    }

    @Test func variablesAndMapKeys() {
        let cluster: Value = obj(["identity": obj(["oidc": obj(["issuer": .string("https://x")])]), "name": .string("demo")])
        let comp = completer(vars: [("c", cluster), ("count", .int(1))])
        #expect(complete(comp, "$c").candidates == ["$c", "$count"])
        let k = complete(comp, "$c.identity.")
        #expect(k.candidates == ["$c.identity.oidc"])
        #expect(k.insertion == "oidc")
        #expect(complete(comp, "print $c.identity.oidc.is").insertion == "suer")
        #expect(complete(comp, "$c.i").insertion == "dentity")
    }

    @Test func functionsAndModules() {
        let comp = completer(fns: ["deploy"], modules: ["irsa": ["trust", "doctor"]])
        #expect(complete(comp, "dep").insertion == "loy ")
        #expect(complete(comp, "ir").insertion == "sa ")
        #expect(complete(comp, "irsa t").insertion == "rust ")
        #expect(complete(comp, "let x = irsa d").insertion == "octor ")
    }

    @Test func pathsWhereAnArgumentTakesAFile() {
        let comp = completer()
        #expect(complete(comp, "kubectl apply ins").insertion == "taller.yaml ")
        #expect(complete(comp, "kubectl apply -f inf").insertion == "ra/")
        #expect(complete(comp, "read infra/t").insertion == "rust.json ")
        #expect(complete(comp, "read ~/n").insertion == "otes.sgk ")
        #expect(!complete(comp, "read ").candidates.contains(".hidden"))
        #expect(complete(comp, ":load inst").insertion == "aller.yaml ")
    }

    @Test func metaCommands() {
        let comp = completer()
        #expect(complete(comp, ":he").insertion == "lp ")
        #expect(complete(comp, ":format y").insertion == "aml")
        #expect(complete(comp, ":dry-run o").candidates == ["off", "on"])
        #expect(complete(comp, ":help role c").insertion == "reate ")
    }

    @Test func afterPipesAndInBlocks() {
        let comp = completer(vars: [("docs", .list([]))])
        #expect(complete(comp, "$docs | whe").insertion == "re ")
        #expect(complete(comp, "$docs | rol").insertion == "e ")
        #expect(complete(comp, "if true { role g").insertion == "et ")
        #expect(complete(comp, "let r = (role cr").insertion == "eate ")
    }

    @Test func cursorInTheMiddle() {
        let comp = completer()
        let line = "rol | print"
        #expect(comp.complete(line, cursor: 3).insertion == "e ")
    }

    @Test func nothingInsideStrings() {
        #expect(complete(completer(), "print \"rol").candidates.isEmpty)
    }

    @Test func commonPrefixOfSeveral() {
        let c = complete(completer(), "role ")
        #expect(c.commonPrefix == "")
        let d = complete(completer(vars: [("cluster_a", .int(1)), ("cluster_b", .int(2))]), "$cl")
        #expect(d.commonPrefix == "$cluster_")
        #expect(d.insertion == "uster_")
    }
}

@Suite struct SessionCompletionTests {
    @Test func loopInstallsCompleterOverTheSession() throws {
        let h = Harness()
        let (reader, _) = h.run(["let cluster = {identity: {oidc: {issuer: \"x\"}}}",
                                 "fn greet(name, greeting: \"hi\") { return $greeting + \" \" + $name }",
                                 ":help greet"])
        let complete = try #require(reader.completer)
        #expect(complete("$cluster.identity.", 18).candidates == ["$cluster.identity.oidc"])
        #expect(complete("greet bob gr", 12).insertion == "eeting: ")
        #expect(complete("role c", 6).insertion == "reate ")
        #expect(h.out.text.contains("usage: greet NAME [greeting: VALUE]"))
    }
}

@Suite struct ModuleKeywordCompletionTests {
    @Test func moduleFunctionKeywordsComplete() throws {
        var registry = CommandRegistry()
        registry.register(CoreCommands.self)
        let dir = NSTemporaryDirectory() + "sgk-completion-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "fn trust(provider:, namespace:, service_account:) { return 1 }\n".write(toFile: dir + "/irsa.sgk", atomically: true, encoding: .utf8)
        let session = Session(registry: registry, context: CallContext(output: StringSink(), errors: StringSink(), environment: [:]),
                              loader: ModuleLoader(searchPaths: [dir], environment: [:]))
        _ = try session.evaluate(SourceFile(name: "t", text: "use irsa"))
        let c = Completer(session: session)
        let line = "irsa trust provider: $p serv"
        #expect(c.complete(line, cursor: line.utf8.count).insertion == "ice-account: ")
    }
}
