import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

/// A kubeconfig that cannot be used says which field, which file and why.
@Suite struct KubeConfigErrorTests {
    let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    func message(_ text: String, resolve: Bool = false) throws -> (String, String) {
        let dir = try TempDir()
        let p = try dir.write("config", text)
        do {
            let c = try KubeConfig.parseFile(p)
            if resolve { _ = try c.resolve() }
            return ("no error", p)
        } catch {
            return ("\(error)", p)
        }
    }

    @Test func wrongTypedFieldsNameTheFieldAndTheFile() throws {
        let (m, p) = try message("current-context: [a, b]\n")
        #expect(m == "kubeconfig: \(p): current-context must be a string, not a list")
        let (m2, p2) = try message("clusters:\n  name: c\n  cluster: {server: https://x}\ncurrent-context: c\n")
        #expect(m2 == "kubeconfig: \(p2): clusters must be a list, not a mapping")
        let (m3, p3) = try message("clusters:\n- name: c\n  cluster: {server: [https://x]}\n")
        #expect(m3 == "kubeconfig: \(p3): clusters[c].server must be a string, not a list")
        let (m4, p4) = try message("clusters:\n- name: c\n  cluster: {server: https://x, insecure-skip-tls-verify: maybe}\n")
        #expect(m4 == "kubeconfig: \(p4): clusters[c].insecure-skip-tls-verify must be true or false, not a string")
        let (m5, p5) = try message("contexts:\n- name: x\n  context: {cluster: c, user: {name: u}}\ncurrent-context: x\n")
        #expect(m5 == "kubeconfig: \(p5): contexts[x].user must be a string, not a mapping")
        let (m6, p6) = try message("users:\n- name: u\n  user:\n    exec: {command: aws, args: [eks, {x: 1}]}\n")
        #expect(m6 == "kubeconfig: \(p6): users[u].exec.args[1] must be a string, not a mapping")
    }

    @Test func commandYesIsNotReadAsABoolean() throws {
        let (m, p) = try message("users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: yes}\n")
        #expect(m == "kubeconfig: \(p): users[u].exec.command must be a string, not the boolean true "
                + "(YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote it)")
        // Quoted, it is the string; an integer is read as its digits.
        let dir = try TempDir()
        let q = try dir.write("config", "users:\n- name: u\n  user:\n    exec: {command: \"yes\", args: [get-token, 42]}\n")
        let exec = try #require(try KubeConfig.parseFile(q).users["u"]?.exec)
        #expect(exec.command == "yes")
        #expect(exec.args == ["get-token", "42"])
        #expect(exec.user == "u" && exec.file == q)
    }

    @Test func clusterErrorsNameTheKubeconfig() throws {
        let (m, p) = try message("contexts:\n- {name: x, context: {cluster: gone, user: u}}\ncurrent-context: x\n", resolve: true)
        #expect(m == "kubeconfig: cluster \"gone\" of context \"x\" (in \(p)) not found in \(p)")
        let (m2, p2) = try message("clusters:\n- {name: c, cluster: {}}\ncontexts:\n- {name: x, context: {cluster: c}}\ncurrent-context: x\n", resolve: true)
        #expect(m2 == "kubeconfig: cluster \"c\" in \(p2) has no server")
    }

    @Test func pemErrorsNameTheKubeconfig() throws {
        let notPEM = Data("just some text".utf8).base64EncodedString()
        let (m, p) = try message("""
        clusters:
        - {name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: \(notPEM)}}
        contexts:
        - {name: x, context: {cluster: c, user: u}}
        users:
        - {name: u, user: {token: t}}
        current-context: x
        """, resolve: true)
        #expect(m == "kubeconfig: certificate-authority-data of cluster \"c\" in \(p) is not a PEM certificate: it has no -----BEGIN CERTIFICATE----- block")
        let ca = Data(caPEM.utf8).base64EncodedString()
        let key = Data("-----BEGIN RSA PRIVATE KEY-----\n%%%%\n-----END RSA PRIVATE KEY-----\n".utf8).base64EncodedString()
        let cert = Data(caPEM.utf8).base64EncodedString()
        let (m2, p2) = try message("""
        clusters:
        - {name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: \(ca)}}
        contexts:
        - {name: x, context: {cluster: c, user: u}}
        users:
        - {name: u, user: {client-certificate-data: \(cert), client-key-data: \(key)}}
        current-context: x
        """, resolve: true)
        #expect(m2 == "kubeconfig: the client key of user \"u\" in \(p2) is not a PEM private key: the RSA PRIVATE KEY block is not base64")
    }

    @Test func tooDeepYAMLSaysTheFileAndTheCause() throws {
        let deep = "clusters: " + String(repeating: "[", count: 1200) + String(repeating: "]", count: 1200) + "\n"
        let (m, p) = try message(deep)
        #expect(m.hasPrefix("kubeconfig: cannot parse \(p): YAML "), "\(m)")
        #expect(m.hasSuffix("nesting too deep (more than 1000 levels of lists and mappings)"), "\(m)")
        #expect(!m.contains("yaml_set_max_nest_level"))
    }

    @Test func aKubeconfigThatIsNotUTF8IsAnError() throws {
        let dir = try TempDir()
        let p = "\(dir.path)/config"
        try Data([0x63, 0x3a, 0x20, 0xff, 0xfe, 0x0a]).write(to: URL(fileURLWithPath: p))
        do {
            _ = try KubeConfig.parseFile(p)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "kubeconfig: \(p) is not a kubeconfig: it is not UTF-8 text")
        }
    }
}
