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
}
