import Testing
import SGKData
@testable import SGKAWS

@Suite struct IAMValidationTests {
    @Test func roleAndPolicyNames() {
        #expect(IAMValidation.roleNameProblem("sagemaker-k8s-operator-demo") == nil)
        #expect(IAMValidation.roleNameProblem("a+b=c,d.e@f_g-h") == nil)
        #expect(IAMValidation.roleNameProblem(String(repeating: "r", count: 64)) == nil)
        #expect(IAMValidation.roleNameProblem(String(repeating: "r", count: 65))?.contains("at most 64") == true)
        #expect(IAMValidation.roleNameProblem("")?.contains("empty") == true)
        #expect(IAMValidation.roleNameProblem("bad name")?.contains("a space") == true)
        #expect(IAMValidation.roleNameProblem("team/ops")?.contains("path:") == true)
        #expect(IAMValidation.roleNameProblem("rôle") != nil)
        #expect(IAMValidation.policyNameProblem(String(repeating: "p", count: 128)) == nil)
        #expect(IAMValidation.policyNameProblem(String(repeating: "p", count: 129))?.contains("at most 128") == true)
    }

    @Test func policyDocumentStructure() throws {
        func problem(_ text: String, trust: Bool) throws -> String? {
            IAMValidation.policyDocumentProblem(try JSONCodec.parse(text), trust: trust)
        }
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#
        #expect(try problem(trust, trust: true) == nil)
        #expect(try problem(trust, trust: false)?.contains("Principal") == true)
        let perms = #"{"Statement":{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}}"#
        #expect(try problem(perms, trust: false) == nil)
        #expect(try problem(perms, trust: true)?.contains("no Principal") == true)
        #expect(try problem("{}", trust: true) == "the document has no Statement")
        #expect(try problem("[]", trust: true)?.contains("JSON object") == true)
        #expect(try problem(#"{"Statement":[]}"#, trust: true) == "Statement is an empty list")
        #expect(try problem(#"{"Version":"2020-01-01","Statement":{}}"#, trust: true)?.contains("Version") == true)
        #expect(try problem(#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"x"},{"Effect":"Permit","Principal":"*","Action":"x"}]}"#, trust: true)
                == "statement 2 has Effect \"Permit\", not Allow or Deny")
        #expect(try problem(#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#, trust: true) == "the statement has no Action")
        #expect(try problem(#"{"Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"*"}}"#, trust: false) == nil)
        #expect(try problem(#"{"Statement":{"Effect":"Allow","Action":"s3:*"}}"#, trust: false) == "the statement has no Resource")
    }
}
