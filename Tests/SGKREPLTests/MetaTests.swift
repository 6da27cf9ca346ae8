import Foundation
import SGKData
import SGKLanguage
import Testing
@testable import SGKREPL

@Suite struct MetaTests {
    @Test func helpListsAndDescribes() {
        let h = Harness()
        h.run([":help", ":help role", ":help role create"])
        let t = h.out.text
        #expect(t.contains(":load FILE"))
        #expect(t.contains("role"))
        #expect(t.contains("role create"))
        #expect(t.contains("usage: role create NAME trust: VALUE [description: VALUE]"))
        #expect(t.contains("trust:"))
        #expect(t.contains("(required)"))
        #expect(t.contains("example:\n  role create ops trust: $t"))
    }

    @Test func helpSuggestsForUnknown() {
        let h = Harness()
        h.run([":help role creat"])
        #expect(h.err.text.contains("did you mean 'role create'"))
    }

    @Test func varsShowsValuesAndHidesSecrets() {
        let h = Harness()
        h.run(["let a = 1", "let tok = \"Bearer abcdefghijklmnop\"", "fn f() { 1 }", ":vars"])
        let t = h.out.text
        // Columns are aligned with spaces: compare with runs of blanks as one.
        let lines = t.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
        #expect(lines.contains("$a int 1"), "\(t)")
        #expect(t.contains("<hidden"))
        #expect(!t.contains("abcdefghijklmnop"))
        #expect(lines.contains("f fn"))
    }

    @Test func varsShowsASecretsKeysNotItsValues() {
        let h = Harness()
        h.run([#"let s = {apiVersion: "v1", kind: "Secret", data: {cfg: "aHVudGVyMg=="}}"#, ":vars"])
        #expect(h.out.text.contains("cfg: \"<hidden: 7 bytes>\""), "\(h.out.text)")
        #expect(!h.out.text.contains("aHVudGVyMg=="))
    }

    @Test func varsHidesValuesNamedLikeSecretsAndBareKeys() {
        let h = Harness()
        h.run(["let aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
               "let password = \"correct horse battery staple\"",
               "let k = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"", "let thumb = \"9e99a48a9960b14926bb7f3b02e22da2b0ab7280\"",
               "let m = {key: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}", "let n = {db: {password: \"tr0ub4dor\"}}", ":vars"])
        let t = h.out.text
        #expect(!t.contains("wJalrXUtnFEMI"))
        #expect(!t.contains("horse"))
        #expect(!t.contains("tr0ub4dor"), "\(t)")
        #expect(t.contains("9e99a48a9960b14926bb7f3b02e22da2b0ab7280"))
    }

    @Test func varsShowsACertificateButNotALongToken() {
        let cert = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" + String(repeating: "TUlJQ1lEQ0NBY21nQXdJQkFnSUpBTE", count: 4)
        let token = String(repeating: "aGVsbG8gd29ybGQgdG9rZW4gdmFsdWUg", count: 4)
        let h = Harness()
        h.run(["let c = {certificateAuthority: {data: \"\(cert)\"}}", "let t = \"\(token)\"", ":vars"])
        let t = h.out.text
        #expect(t.contains("$c  map     {certificateAuthority"), "\(t)")
        #expect(!t.contains(token))
    }

    @Test func loadRunsFileInSession() throws {
        let path = tempPath("lib.sgk")
        try "fn twice(x) { return $x * 2 }\nlet base = 21\n".write(toFile: path, atomically: true, encoding: .utf8)
        let h = Harness()
        h.run([":load \(path)", "twice $base", ":load /nonexistent/x.sgk"])
        #expect(h.out.text == "42\n")
        #expect(h.err.text.contains("cannot read"))
    }

    @Test func dryRunExplainFormatReset() {
        let h = Harness()
        h.run([":dry-run on", ":explain on", ":format json", "{a: 1}", ":format inline", "[1]", ":format nope", "let q = 1", ":reset", "$q"])
        #expect(h.session.context.options.dryRun)
        #expect(h.session.context.options.explain)
        let t = h.out.text
        #expect(t.contains("dry-run is on\nexplain is on\nformat is json\n{\n  \"a\": 1\n}\nformat is inline\n[1]\n"))
        #expect(t.contains("session reset"))
        #expect(h.err.text.contains("unknown format 'nope'"))
        #expect(h.session.variables.isEmpty)
        h.run([":dry-run off"])
        #expect(!h.session.context.options.dryRun)
    }

    @Test func quitStops() {
        let h = Harness()
        let (reader, code) = h.run([":quit", "1"])
        #expect(code == 0)
        #expect(h.out.text == "")
        #expect(reader.prompts.count == 1)
    }

    @Test func unknownMetaSuggests() {
        let h = Harness()
        h.run([":hlep"])
        #expect(h.err.text.contains("did you mean ':help'"))
    }
}

@Suite struct HistoryTests {
    @Test func filtersSecretsAndLeadingSpace() {
        #expect(HistoryPolicy.mayRecord("role create ops trust: $t"))
        #expect(HistoryPolicy.mayRecord("aws whoami"))
        #expect(!HistoryPolicy.mayRecord(" let x = 1"))
        #expect(!HistoryPolicy.mayRecord(""))
        #expect(!HistoryPolicy.mayRecord("let k = \"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\""))
        #expect(!HistoryPolicy.mayRecord("let s = {secret: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"))
        #expect(!HistoryPolicy.mayRecord("AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        #expect(!HistoryPolicy.mayRecord("creds AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        #expect(!HistoryPolicy.mayRecord("fetch https://x headers: {Authorization: \"Bearer abc.def-ghi123\"}"))
        #expect(!HistoryPolicy.mayRecord("let t = \"k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8\""))
        #expect(!HistoryPolicy.mayRecord("let jwt = \"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJ4In0.sig\""))
        #expect(!HistoryPolicy.mayRecord("let st = {aws_session_token: \"IQoJb3JpZ2luX2VjEXAMPLE\"}"))
        #expect(!HistoryPolicy.mayRecord("let st = \"FwoGZXIvYXdzEXAMPLETOKEN\""))
        // An access key id alone (e.g. looking a key up) is fine.
        #expect(HistoryPolicy.mayRecord("iam key-info AKIAIOSFODNN7EXAMPLE"))
    }

    /// One rule for both: a statement that gives a value to a name `:vars` hides (it says secret,
    /// password, token, credential or private key) is not recorded, whatever the value looks like.
    @Test func namesThatSaySecretAreNotRecorded() {
        #expect(!HistoryPolicy.mayRecord("let token = \"abc123\""))
        #expect(!HistoryPolicy.mayRecord("let aws_secret_access_key = $k"))
        #expect(!HistoryPolicy.mayRecord("let db_password = \"tr0ub4dor\""))
        #expect(!HistoryPolicy.mayRecord("kubectl get pods --token abc123"))
        #expect(!HistoryPolicy.mayRecord("kubectl get pods --token=abc123"))
        #expect(!HistoryPolicy.mayRecord("fetch https://x headers: {X-Auth-Token: \"abc\"}"))
        #expect(!HistoryPolicy.mayRecord("let c = {client_secret: \"abc\"}"))
        #expect(!HistoryPolicy.mayRecord("token = \"abc\""))
        // Names of things, not values given to them: recorded.
        #expect(HistoryPolicy.mayRecord("kubectl get secrets -n kube-system"))
        #expect(HistoryPolicy.mayRecord("let t = $token"))
        #expect(HistoryPolicy.mayRecord("if $a == 1 { print \"one\" }"))
        // The same names `:vars` hides.
        for name in ["token", "aws_secret_access_key", "db_password", "client_secret", "private_key", "credentials"] {
            #expect(!SecretText.mayShow("x", name: name))
            #expect(!HistoryPolicy.mayRecord("let \(name) = \"x\""), "\(name)")
        }
        for name in ["a", "tok", "region"] {
            #expect(SecretText.mayShow("x", name: name))
            #expect(HistoryPolicy.mayRecord("let \(name) = \"x\""), "\(name)")
        }
    }

    @Test func loopHidesAndForgetsTheSameNames() throws {
        let path = tempPath("hist")
        let h = Harness()
        h.run(["let token = \"abc123\"", "let aws_secret_access_key = \"plain\"", "let region = \"us-west-2\"", ":vars"],
              history: HistoryFile(path: path))
        #expect(HistoryFile(path: path).load() == ["let region = \"us-west-2\"", ":vars"])
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!raw.contains("abc123") && !raw.contains("plain"))
        #expect(!h.out.text.contains("abc123") && !h.out.text.contains("plain"), "\(h.out.text)")
        #expect(h.out.text.contains("us-west-2"))
    }

    @Test func fileIsCreated0600AndRoundTrips() throws {
        let path = tempPath("hist")
        let file = HistoryFile(environment: ["SGK_HISTORY": path, "HOME": "/nonexistent"])
        #expect(file.path == path)
        #expect(file.append("let a = 1"))
        #expect(file.append("fn f() {\n  \"a\\nb\"\n}"))
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(file.load() == ["let a = 1", "fn f() {\n  \"a\\nb\"\n}"])
    }

    @Test func defaultPathIsHome() {
        #expect(HistoryFile(environment: ["HOME": "/home/ops"]).path == "/home/ops/.sgk_history")
    }

    @Test func widerModeIsTightened() throws {
        let path = tempPath("hist")
        FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644])
        HistoryFile(path: path).append("1")
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func loopRecordsStatementsNotSecrets() throws {
        let path = tempPath("hist")
        let h = Harness()
        let (reader, _) = h.run(["let a = 1", " let hidden = 2", "fn g() {", "1", "}",
                                 "let k = \"Bearer abcdefghijklmnopqrst\"", ":vars"],
                                history: HistoryFile(path: path))
        let recorded = HistoryFile(path: path).load()
        #expect(recorded == ["let a = 1", "fn g() {\n1\n}", ":vars"])
        #expect(reader.history == recorded)
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!raw.contains("Bearer"))
        #expect(!raw.contains("hidden"))
    }
}
