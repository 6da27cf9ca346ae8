import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import SGKAWS

/// The OIDC thumbprint: SHA-1 of the last certificate the server presents — checked on a DER
/// input and against a TLS server on 127.0.0.1 presenting [leaf, root] (certificates generated
/// once with openssl; expected values are `openssl x509 -fingerprint -sha1`).
@Suite struct ThumbprintTests {
    static let caPEM = """
-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUBGTvTQCT0N17AQL2KgP0Xd1xaM8wCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNc2drIHRlc3Qgcm9vdDAgFw0yNjExMzAwMjQ4MjNaGA8yMTI2
MTEwNjAyNDgyM1owGDEWMBQGA1UEAwwNc2drIHRlc3Qgcm9vdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABAknw8/3u2DDmS5tz/SA9XqMzrPJ7pwGvFdD45pcvD+Y
X/d7Yr7I9gtz+2T6HMpJnoery2heiujnfHC/JbD1NfajUzBRMB0GA1UdDgQWBBSv
YHh/EeUICGkDSIIubMMuUZr4VjAfBgNVHSMEGDAWgBSvYHh/EeUICGkDSIIubMMu
UZr4VjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFvFpDeW3t6e
Fnj60xyRygpxFzZGWLIC7UCjYqQaBT+DAiEA8jN7yPMWXJTxTORrQbD36vT5jmLA
RSXjThj0lhI8k5M=
-----END CERTIFICATE-----
"""
    static let leafPEM = """
-----BEGIN CERTIFICATE-----
MIIBjTCCATSgAwIBAgIUQPfzAg7HBu5FQ8nQhqTID1AusowwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNc2drIHRlc3Qgcm9vdDAgFw0yNjExMzAwMjQ4MjNaGA8yMTI2
MTEwNjAyNDgyM1owFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEJFqnx9C5SynD+Mj0kyEeHVunDEXg/0pl1VNf7KXxLMw/wm0o
YaNQdRLosKNNYNIJGc2f9ptw4QYkzhsRATFEaqNeMFwwGgYDVR0RBBMwEYIJbG9j
YWxob3N0hwR/AAABMB0GA1UdDgQWBBSEyLGOU1wAxwIONr51+m01t9k1PTAfBgNV
HSMEGDAWgBSvYHh/EeUICGkDSIIubMMuUZr4VjAKBggqhkjOPQQDAgNHADBEAiAK
jhaknmBlD09+ieT7nCUM1+J8HFJCfepQEvmr+o4NJQIgH5cJIXeURQ/+Wzu5AreC
IE/wPQpyc42mT0ydPtN0pvc=
-----END CERTIFICATE-----
"""
    static let leafKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4xIkXbuotx/y83Dy
uyzDnaGS5GPMBN6FnWPG6UZRUKahRANCAAQkWqfH0LlLKcP4yPSTIR4dW6cMReD/
SmXVU1/spfEszD/CbShho1B1Euiwo01g0gkZzZ/2m3DhBiTOGxEBMURq
-----END PRIVATE KEY-----
"""
    static let caSHA1 = "7392e15dff67658291c727201e67b3ace8796a54"
    static let leafSHA1 = "710e63028798bc101009503417c2fa482a7d3bda"

    @Test func sha1OfDER() throws {
        let ca = try NIOSSLCertificate(bytes: Array(Self.caPEM.utf8), format: .pem)
        let leaf = try NIOSSLCertificate(bytes: Array(Self.leafPEM.utf8), format: .pem)
        #expect(OIDCThumbprint.sha1Hex(der: try ca.toDERBytes()) == Self.caSHA1)
        #expect(try OIDCThumbprint.thumbprint(chain: [leaf, ca]) == Self.caSHA1)
        #expect(throws: ThumbprintError.self) { try OIDCThumbprint.thumbprint(chain: []) }
    }

    @Test func fetchFromLocalTLSServer() async throws {
        let leaf = try NIOSSLCertificate(bytes: Array(Self.leafPEM.utf8), format: .pem)
        let ca = try NIOSSLCertificate(bytes: Array(Self.caPEM.utf8), format: .pem)
        let key = try NIOSSLPrivateKey(bytes: Array(Self.leafKeyPEM.utf8), format: .pem)
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(leaf), .certificate(ca)], privateKey: .privateKey(key))
        let context = try NIOSSLContext(configuration: tls)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let thumb = try await OIDCThumbprint.fetch(issuer: "https://localhost:\(port)/id/ABC", port: port)
        #expect(thumb == Self.caSHA1)
        let thumb2 = try await OIDCThumbprint.fetch(issuer: "127.0.0.1", port: port)
        #expect(thumb2 == Self.caSHA1)
        try await server.close()
    }
}
