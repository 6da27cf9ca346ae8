import Crypto
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// The OIDC thumbprint IAM wants: SHA-1 (hex, lower case) of the last certificate
/// in the chain the issuer's host presents, as eksctl computes it.
public enum OIDCThumbprint {
    /// SHA-1 hex of a DER certificate.
    public static func sha1Hex(der: [UInt8]) -> String {
        Hex.encode(Array(Insecure.SHA1.hash(data: der)))
    }

    /// Thumbprint of the last certificate of a presented chain (leaf first).
    public static func thumbprint(chain: [NIOSSLCertificate]) throws -> String {
        guard let last = chain.last else { throw ThumbprintError(message: "the server presented no certificate") }
        return sha1Hex(der: try last.toDERBytes())
    }

    /// Connects to `host:port` over TLS and returns the thumbprint of the last presented certificate.
    /// Contacts the network: call only when asked.
    ///
    /// The chain is not verified (the thumbprint is what IAM will pin; eksctl does the same).
    ///
    /// - Parameters:
    ///   - issuer: an issuer URL (`https://oidc.eks…/id/X`, its port wins over `port`) or a bare host.
    ///   - port: default 443.
    ///   - timeout: connect and handshake timeout.
    public static func fetch(issuer: String, port: Int = 443, timeout: TimeAmount = .seconds(10)) async throws -> String {
        var host = issuer
        var p = port
        if let c = URLComponents(string: issuer), let h = c.host {
            host = h
            if let cp = c.port { p = cp }
        }
        let collector = ChainCollector()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context = try NIOSSLContext(configuration: tls)
        let serverName: String? = (host.first?.isNumber == true || host.contains(":")) ? nil : host
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(
                        context: context, serverHostname: serverName,
                        customVerificationCallback: { certs, promise in
                            collector.set(certs)
                            collector.finish(nil)
                            promise.succeed(.certificateVerified)
                        })
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(collector: collector))
                }
            }
        let channel = try await bootstrap.connect(host: host, port: p).get()
        defer { channel.close(promise: nil) }
        let chain = try await collector.wait(timeout: timeout)
        return try thumbprint(chain: chain)
    }
}

/// Thumbprint failures.
public struct ThumbprintError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "OIDC thumbprint: \(message)" }
}

private final class ChainCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var chain: [NIOSSLCertificate]?
    private var failure: Error?
    private var waiters: [CheckedContinuation<[NIOSSLCertificate], Error>] = []

    func set(_ c: [NIOSSLCertificate]) {
        lock.lock(); chain = c; lock.unlock()
    }

    func finish(_ error: Error?) {
        lock.lock()
        if let error, chain == nil { failure = error }
        let ws = waiters
        waiters = []
        let result: Result<[NIOSSLCertificate], Error> = chain.map { .success($0) }
            ?? .failure(failure ?? ThumbprintError(message: "TLS handshake ended without a certificate"))
        lock.unlock()
        for w in ws { w.resume(with: result) }
    }

    func wait(timeout: TimeAmount) async throws -> [NIOSSLCertificate] {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<[NIOSSLCertificate], Error>) in
            lock.lock()
            if let chain { lock.unlock(); cont.resume(returning: chain); return }
            if let failure { lock.unlock(); cont.resume(throwing: failure); return }
            waiters.append(cont)
            lock.unlock()
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.nanoseconds))) { [weak self] in
                self?.finish(ThumbprintError(message: "TLS handshake timed out"))
            }
        }
    }
}

private final class HandshakeWaiter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let collector: ChainCollector
    init(collector: ChainCollector) { self.collector = collector }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        collector.finish(error)
        context.close(promise: nil)
    }
    func channelInactive(context: ChannelHandlerContext) {
        collector.finish(ThumbprintError(message: "connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}
