import Foundation
import NIOCore
import NIOSSL
import X509

/// How a transport speaks TLS.
public struct TLSOptions: Sendable {
    /// PEM certificates to trust instead of the system's (a kubeconfig's certificate-authority).
    public var trustRootsPEM: [UInt8]?
    /// A client certificate chain and its private key, both PEM.
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// No verification at all: neither the chain nor the name (kubeconfig's `insecure-skip-tls-verify`).
    public var insecureSkipVerify: Bool
    /// The name the server's certificate must hold, and the SNI sent, instead of the URL's host
    /// (kubeconfig's `tls-server-name`).
    public var serverName: String?

    public init(trustRootsPEM: [UInt8]? = nil, clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil,
                insecureSkipVerify: Bool = false, serverName: String? = nil) {
        self.trustRootsPEM = trustRootsPEM; self.clientCertificatePEM = clientCertificatePEM; self.clientKeyPEM = clientKeyPEM
        self.insecureSkipVerify = insecureSkipVerify; self.serverName = serverName
    }

    /// Why a TLS setting cannot be used.
    public enum Problem: Error, Sendable, CustomStringConvertible {
        case noCertificateInCA
        case invalidCA(String)
        case invalidClientCertificate(String)
        case invalidClientKey(String)
        case certificateWithoutKey
        case clientCertificateExpired(Date)
        case clientCertificateNotYetValid(Date)

        public var description: String {
            switch self {
            case .noCertificateInCA: return "no certificate in the certificate authority"
            case .invalidCA(let why): return "the certificate authority is not valid PEM: \(why)"
            case .invalidClientCertificate(let why): return "the client certificate is not valid PEM: \(why)"
            case .invalidClientKey(let why): return "the client key is not a valid PEM RSA or EC key: \(why)"
            case .certificateWithoutKey: return "a client certificate without its key"
            case .clientCertificateExpired(let d): return "the client certificate expired on \(Problem.format(d))"
            case .clientCertificateNotYetValid(let d): return "the client certificate is not valid before \(Problem.format(d))"
            }
        }
    }

    /// Checks the PEM material, and that a client certificate is valid now (a server would refuse
    /// it with a bare 401 or a failed handshake; said here, the cause is plain). without making a context (fails fast on a bad kubeconfig).
    public func validate() throws(Problem) {
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws(Problem) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        // The chain is verified by BoringSSL; the name by `ServerIdentity`, after the handshake
        // and before a byte of any request is sent.
        tls.certificateVerification = insecureSkipVerify ? .none : .noHostnameVerification
        tls.applicationProtocols = ["http/1.1"]
        if let pem = trustRootsPEM {
            let certs: [NIOSSLCertificate]
            do { certs = try NIOSSLCertificate.fromPEMBytes(pem) } catch { throw .invalidCA("\(error)") }
            guard !certs.isEmpty else { throw .noCertificateInCA }
            tls.trustRoots = .certificates(certs)
        }
        switch (clientCertificatePEM, clientKeyPEM) {
        case (nil, nil):
            break
        case (let cert?, let key?):
            let chain: [NIOSSLCertificate]
            do { chain = try NIOSSLCertificate.fromPEMBytes(cert) } catch { throw .invalidClientCertificate("\(error)") }
            guard let leaf = chain.first else { throw .invalidClientCertificate("no certificate in it") }
            if let parsed = try? Certificate(derEncoded: leaf.toDERBytes()) {
                let now = Date()
                if parsed.notValidAfter < now { throw .clientCertificateExpired(parsed.notValidAfter) }
                if parsed.notValidBefore > now.addingTimeInterval(300) { throw .clientCertificateNotYetValid(parsed.notValidBefore) }
            }
            tls.certificateChain = chain.map { .certificate($0) }
            do { tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem)) } catch {
                throw .invalidClientKey("\(error)")
            }
        default:
            throw .certificateWithoutKey
        }
        return tls
    }

    func makeContext() throws -> NIOSSLContext {
        try NIOSSLContext(configuration: makeConfiguration())
    }
}

extension TLSOptions.Problem {
    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
