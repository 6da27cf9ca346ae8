import Foundation
import Testing
import SGKLanguage
@testable import SGKPrimitives

/// The error-reporting contract of LANGUAGE.md, exactly.
@Suite struct ContractTests {
    @Test func unknownKeywordIsReportedAsInTheContract() async throws {
        let h = Harness()
        let file = SourceFile(name: "broken.sgk", text: "let role_name = \"x\"\nlet trust = {}\nrole create $role_name trsut: $trust\n")
        let diags = h.session.check(file)
        #expect(diags.count == 1)
        #expect(diags.first?.render(color: false) == """
            broken.sgk:3:24: error: unknown keyword 'trsut:' for 'role create' (did you mean 'trust:'?)
              role create $role_name trsut: $trust
                                     ^~~~~~
            """)
        await h.close()
    }

    @Test func installScriptResolves() throws {
        let h = Harness()
        let path = Harness.repoRoot.appendingPathComponent("scripts/install-sagemaker-operator.sgk").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(h.session.check(SourceFile(name: path, text: text)).isEmpty)
    }

    /// Every bundled script (install, uninstall, verify, the variations) and the modules they use resolve.
    @Test func everyBundledScriptResolves() throws {
        let h = Harness()
        let dir = Harness.repoRoot.appendingPathComponent("scripts")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sgk") }.sorted()
        #expect(names.contains("uninstall-sagemaker-operator.sgk") && names.contains("verify-sagemaker-operator.sgk"))
        for name in names {
            let path = dir.appendingPathComponent(name).path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let diags = h.session.check(SourceFile(name: path, text: text))
            #expect(diags.isEmpty, "\(name): \(diags.map { $0.render(color: false) })")
        }
    }
}
