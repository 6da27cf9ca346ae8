import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSOCKS
import NIOSSL
import NIOTLS

/// One kept-alive HTTP/1.1 connection: TCP, then a proxy's handshake, then TLS with the server's
/// identity checked, then one exchange at a time.
final class HTTPConnection: Sendable {
    let channel: Channel
    let key: String
    let exchanges: NIOLoopBound<ExchangeHandler>

    private init(channel: Channel, key: String, exchanges: NIOLoopBound<ExchangeHandler>) {
        self.channel = channel; self.key = key; self.exchanges = exchanges
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(mode: .all, promise: nil) }

    /// Connects and readies a connection for `route`; nothing is sent before the server's
    /// certificate has been verified.
    static func connect(route: Route, target: RequestTarget, sslContext: NIOSSLContext?, tls: TLSOptions,
                        connectTimeout: TimeAmount, deadline: NIODeadline) async throws -> HTTPConnection {
        let setupDeadline = min(NIODeadline.now() + connectTimeout, deadline)
        let remaining = setupDeadline - .now()
        guard remaining > .zero else { throw HTTPTransportError.connectTimeout }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(remaining)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        let channel: Channel
        do {
            channel = try await bootstrap.connect(host: route.proxy?.host ?? target.host, port: route.proxy?.port ?? target.port).get()
        } catch let e as ChannelError {
            if case .connectTimeout = e { throw HTTPTransportError.connectTimeout }
            throw e
        }
        do {
            if let proxy = route.proxy {
                switch proxy.kind {
                case .socks5:
                    try await step(channel, deadline: setupDeadline, timeoutError: .connectTimeout) { promise in
                        try channel.pipeline.syncOperations.addHandlers([
                            SOCKSClientHandler(targetAddress: .domain(target.host, port: target.port)),
                            StepHandler<NIOAny>(promise: promise, matchEvent: { $0 is SOCKSProxyEstablishedEvent }),
                        ])
                    }
                case .http where target.isHTTPS:
                    try await step(channel, deadline: setupDeadline, timeoutError: .connectTimeout) { promise in
                        let encoder = HTTPRequestEncoder()
                        let decoder = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes))
                        let tunnel = StepHandler<HTTPClientResponsePart>.proxyTunnel(promise: promise)
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandlers([encoder, decoder, tunnel])
                        var head = HTTPRequestHead(version: .http1_1, method: .CONNECT, uri: "\(target.hostHeaderWithPort)")
                        head.headers.add(name: "Host", value: target.hostHeaderWithPort)
                        if let auth = proxy.authorization { head.headers.add(name: "Proxy-Authorization", value: auth) }
                        channel.write(HTTPClientRequestPart.head(head), promise: nil)
                        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                        promise.futureResult.assumeIsolated().whenSuccess {
                            _ = sync.removeHandler(tunnel)
                            _ = sync.removeHandler(decoder)
                            _ = sync.removeHandler(encoder)
                        }
                    }
                case .http:
                    break
                }
            }
            if target.isHTTPS, let sslContext {
                let expected = tls.insecureSkipVerify ? nil : (tls.serverName.flatMap { $0.isEmpty ? nil : $0 } ?? target.host)
                let sniName = tls.serverName.flatMap { $0.isEmpty ? nil : $0 } ?? target.host
                let sni = ServerIdentity.parseIP(sniName) == nil ? sniName : nil
                try await step(channel, deadline: setupDeadline, timeoutError: .tlsHandshakeTimeout) { promise in
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: sslContext, serverHostname: sni),
                        ServerIdentityHandler(expectedName: expected, promise: promise),
                    ])
                }
            }
            let exchanges = try await channel.eventLoop.submit {
                let handler = ExchangeHandler()
                try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                try channel.pipeline.syncOperations.addHandler(handler)
                return NIOLoopBound(handler, eventLoop: channel.eventLoop)
            }.get()
            return HTTPConnection(channel: channel, key: route.key, exchanges: exchanges)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Runs `install` on the channel's loop and waits for the promise it is given, failing it at
    /// `deadline`.
    private static func step(_ channel: Channel, deadline: NIODeadline, timeoutError: HTTPTransportError,
                             _ install: @escaping @Sendable (EventLoopPromise<Void>) throws -> Void) async throws {
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let promise = channel.eventLoop.makePromise(of: Void.self)
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                promise.fail(timeoutError)
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            do { try install(promise) } catch { promise.fail(error) }
            return promise.futureResult
        }.get()
    }

    /// Sends one request and returns once the response head has come; the body streams.
    /// `onDone(reusable)` is called once the exchange has ended, however it ended.
    func exchange(head: HTTPRequestHead, body: [UInt8]?, deadline: NIODeadline,
                  onDone: @escaping @Sendable (Bool) -> Void) async throws -> HTTPResponse {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, Error>.makeStream()
        let eventLoop = channel.eventLoop
        let headPromise = eventLoop.makePromise(of: HTTPResponseHead.self)
        let exchanges = self.exchanges
        let exchange = Exchange(head: head, body: body, headPromise: headPromise, continuation: continuation, onDone: onDone)
        eventLoop.execute { exchanges.value.start(exchange, deadline: deadline) }
        continuation.onTermination = { termination in
            // The reader stopped before the end (a watch that saw what it waited for): the rest
            // of the body is still coming, so this connection cannot serve another request.
            if case .cancelled = termination {
                eventLoop.execute { exchanges.value.abandon(exchange) }
            }
        }
        let responseHead = try await withTaskCancellationHandler {
            try await headPromise.futureResult.get()
        } onCancel: {
            eventLoop.execute { exchanges.value.fail(exchange, CancellationError()) }
        }
        return HTTPResponse(status: Int(responseHead.status.code), headers: responseHead.headers, body: HTTPBody(stream: stream))
    }
}

extension RequestTarget {
    /// `host:port` as a CONNECT request names it.
    var hostHeaderWithPort: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }
}

/// One request and where its answer goes.
final class Exchange: Sendable {
    let head: HTTPRequestHead
    let body: [UInt8]?
    let headPromise: EventLoopPromise<HTTPResponseHead>
    let continuation: AsyncThrowingStream<ByteBuffer, Error>.Continuation
    let onDone: @Sendable (Bool) -> Void

    init(head: HTTPRequestHead, body: [UInt8]?, headPromise: EventLoopPromise<HTTPResponseHead>,
         continuation: AsyncThrowingStream<ByteBuffer, Error>.Continuation, onDone: @escaping @Sendable (Bool) -> Void) {
        self.head = head; self.body = body; self.headPromise = headPromise; self.continuation = continuation; self.onDone = onDone
    }
}

/// Runs the exchanges of one connection, one at a time (all on the channel's event loop).
final class ExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var current: Exchange?
    private var headSent = false
    private var responseKeepAlive = true
    private var deadlineTask: Scheduled<Void>?
    private var closed = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func start(_ exchange: Exchange, deadline: NIODeadline) {
        guard let context, !closed, current == nil else {
            exchange.headPromise.fail(HTTPTransportError.remoteConnectionClosed)
            exchange.continuation.finish(throwing: HTTPTransportError.remoteConnectionClosed)
            exchange.onDone(false)
            return
        }
        current = exchange
        headSent = false
        responseKeepAlive = true
        deadlineTask = context.eventLoop.scheduleTask(deadline: deadline) { [weak self] in
            self?.fail(exchange, HTTPTransportError.deadlineExceeded)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let body = exchange.body, !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange = current else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            let code = head.status.code
            if code >= 100 && code < 200 && code != 101 { return }  // informational: the real head follows
            headSent = true
            responseKeepAlive = head.isKeepAlive
            exchange.headPromise.succeed(head)
        case .body(let buffer):
            exchange.continuation.yield(buffer)
        case .end:
            let reusable = responseKeepAlive && exchange.head.isKeepAlive && !closed
            finish(exchange, error: nil, reusable: reusable)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let exchange = current { fail(exchange, error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let exchange = current { fail(exchange, HTTPTransportError.remoteConnectionClosed) }
        context.fireChannelInactive()
    }

    /// Ends `exchange` with `error` (when it is still the current one) and closes the connection.
    func fail(_ exchange: Exchange, _ error: Error) {
        guard current === exchange else { return }
        finish(exchange, error: error, reusable: false)
        closed = true
        context?.close(promise: nil)
    }

    /// The reader went away before the end of the body.
    func abandon(_ exchange: Exchange) {
        fail(exchange, CancellationError())
    }

    private func finish(_ exchange: Exchange, error: Error?, reusable: Bool) {
        current = nil
        deadlineTask?.cancel()
        deadlineTask = nil
        if let error {
            if !headSent { exchange.headPromise.fail(error) }
            exchange.continuation.finish(throwing: error)
        } else {
            exchange.continuation.finish()
        }
        exchange.onDone(reusable)
    }
}

/// Checks, once the TLS handshake has verified the chain, that the server's certificate names
/// the host (`ServerIdentity`), then gets out of the way. A mismatch closes the connection
/// before anything is written.
final class ServerIdentityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let expectedName: String?
    let promise: EventLoopPromise<Void>
    private var done = false

    init(expectedName: String?, promise: EventLoopPromise<Void>) {
        self.expectedName = expectedName; self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent, !done {
            done = true
            do {
                if let expectedName {
                    let ssl = try context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                    guard let leaf = ssl.peerCertificate else { throw NIOSSLError.noCertificateToValidate }
                    let names = try ServerIdentity.Names(der: leaf.toDERBytes())
                    try ServerIdentity.verify(names, host: expectedName)
                }
                promise.succeed(())
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            } catch {
                promise.fail(error)
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done { done = true; promise.fail(error) }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { done = true; promise.fail(HTTPTransportError.remoteConnectionClosed) }
        context.fireChannelInactive()
    }
}

/// One step of setting up a connection (an http proxy's CONNECT, a SOCKS handshake): completes
/// its promise when `read` or `matchEvent` says the step is done, fails it when the connection
/// errs or closes first.
final class StepHandler<In>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = In
    /// Whether a read ends the step: nil while it goes on, else its outcome.
    typealias Read = (In) -> Result<Void, Error>?
    let promise: EventLoopPromise<Void>
    let matchEvent: (Any) -> Bool
    let read: Read?
    private var done = false

    init(promise: EventLoopPromise<Void>, matchEvent: @escaping (Any) -> Bool = { _ in false }, read: Read? = nil) {
        self.promise = promise; self.matchEvent = matchEvent; self.read = read
    }

    private func complete(_ result: Result<Void, Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let read else { context.fireChannelRead(data); return }
        if let outcome = read(unwrapInboundIn(data)) { complete(outcome) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !done, matchEvent(event) {
            complete(.success(()))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(HTTPTransportError.proxyFailed("the proxy closed the connection")))
        context.fireChannelInactive()
    }
}

extension StepHandler where In == HTTPClientResponsePart {
    /// Waits for the answer to an http proxy's CONNECT: 200, then its end.
    static func proxyTunnel(promise: EventLoopPromise<Void>) -> StepHandler {
        var status: Int?
        return StepHandler(promise: promise, read: { part in
            switch part {
            case .head(let head):
                status = Int(head.status.code)
                return status == 200 ? nil : .failure(HTTPTransportError.proxyRefused(status: Int(head.status.code)))
            case .body:
                return nil
            case .end:
                return .success(())
            }
        })
    }
}
