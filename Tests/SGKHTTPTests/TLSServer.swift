import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwiftASN1
import X509

/// Certificates made for one test: a CA and leaves with the names a case needs.
struct TestPKI {
    let caKey = P256.Signing.PrivateKey()
    let caCertificate: Certificate

    init(name: String = "sgk test CA") throws {
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        caCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 3600, issuer: subject, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
    }

    var caPEM: [UInt8] { Array(((try? caCertificate.serializeAsPEM().pemString) ?? "").utf8) }

    /// A serving certificate: `dns` and `ips` as SANs (no SAN extension at all when both are
    /// empty and `sanExtension` is false), `commonName` as the subject's CN.
    func leaf(commonName: String, dns: [String] = [], ips: [[UInt8]] = [], sanExtension: Bool = true,
              expired: Bool = false) throws -> Leaf {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let names: [GeneralName] = dns.map { .dnsName($0) } + ips.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            try ExtendedKeyUsage([.serverAuth])
            if sanExtension && !names.isEmpty { SubjectAlternativeNames(names) }
        }
        let cert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: expired ? now - 7200 : now - 3600, notValidAfter: expired ? now - 3600 : now + 3600,
            issuer: caCertificate.subject, subject: try DistinguishedName { CommonName(commonName) },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(caKey))
        let pem = try cert.serializeAsPEM().pemString
        return Leaf(certificate: try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem),
                    key: try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem),
                    certificatePEM: Array(pem.utf8), keyPEM: Array(key.pemRepresentation.utf8))
    }
}

struct Leaf {
    var certificate: NIOSSLCertificate
    var key: NIOSSLPrivateKey
    var certificatePEM: [UInt8]
    var keyPEM: [UInt8]
}

/// An https server on 127.0.0.1 that answers every request `200 ok`, and counts the requests
/// it was sent (what a client must never send to a server it has not verified).
final class TLSTestServer: Sendable {
    let channel: Channel
    let requests = RequestCounter()
    var port: Int { channel.localAddress?.port ?? 0 }

    init(certificate: NIOSSLCertificate, key: NIOSSLPrivateKey) async throws {
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        let context = try NIOSSLContext(configuration: tls)
        let counter = requests
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(OKHandler(counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async { try? await channel.close() }
}

final class RequestCounter: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
}

private final class OKHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let counter: RequestCounter
    init(counter: RequestCounter) { self.counter = counter }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            counter.increment()
        case .body:
            break
        case .end:
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Length", value: "2")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
