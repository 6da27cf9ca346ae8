import NIOCore

/// Kept-alive connections per route, at most `maxPerKey` open at once; a request beyond that
/// waits for one to come back.
actor ConnectionPool {
    enum Lease: Sendable {
        case reuse(HTTPConnection)
        /// A slot is reserved: connect, then `register` (or `abandon` on failure).
        case create
    }

    let maxPerKey: Int
    let idleTimeout: TimeAmount
    private var idle: [String: [(connection: HTTPConnection, since: NIODeadline)]] = [:]
    private var open: [String: Int] = [:]
    private var waiters: [String: [(id: UInt64, continuation: CheckedContinuation<Lease, Error>)]] = [:]
    private var live: [ObjectIdentifier: HTTPConnection] = [:]
    private var nextWaiter: UInt64 = 0
    private var isShutDown = false

    init(maxPerKey: Int, idleTimeout: TimeAmount) {
        self.maxPerKey = maxPerKey; self.idleTimeout = idleTimeout
    }

    func acquire(key: String) async throws -> Lease {
        guard !isShutDown else { throw HTTPTransportError.shutDown }
        while let (connection, since) = idle[key]?.popLast() {
            if connection.isActive, NIODeadline.now() - since < idleTimeout { return .reuse(connection) }
            forget(connection)
        }
        if open[key, default: 0] < maxPerKey {
            open[key, default: 0] += 1
            return .create
        }
        let id = nextWaiter
        nextWaiter += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters[key, default: []].append((id, continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(key: key, id: id) }
        }
    }

    func register(_ connection: HTTPConnection) {
        if isShutDown { connection.close(); return }
        live[ObjectIdentifier(connection)] = connection
    }

    func release(_ connection: HTTPConnection, reusable: Bool) {
        let key = connection.key
        if reusable, connection.isActive, !isShutDown {
            if let waiter = popWaiter(key) {
                waiter.resume(returning: .reuse(connection))
            } else {
                idle[key, default: []].append((connection, .now()))
            }
            return
        }
        forget(connection)
    }

    /// A reserved slot whose connection could not be made.
    func abandon(key: String) {
        open[key, default: 1] -= 1
        handOnSlot(key)
    }

    func shutdown() {
        isShutDown = true
        for connection in live.values { connection.close() }
        live = [:]
        idle = [:]
        for list in waiters.values { for w in list { w.continuation.resume(throwing: HTTPTransportError.shutDown) } }
        waiters = [:]
    }

    private func forget(_ connection: HTTPConnection) {
        connection.close()
        guard live.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        open[connection.key, default: 1] -= 1
        handOnSlot(connection.key)
    }

    private func handOnSlot(_ key: String) {
        guard !isShutDown, open[key, default: 0] < maxPerKey, let waiter = popWaiter(key) else { return }
        open[key, default: 0] += 1
        waiter.resume(returning: .create)
    }

    private func popWaiter(_ key: String) -> CheckedContinuation<Lease, Error>? {
        guard var list = waiters[key], !list.isEmpty else { return nil }
        let first = list.removeFirst()
        waiters[key] = list
        return first.continuation
    }

    private func cancelWaiter(key: String, id: UInt64) {
        guard var list = waiters[key], let i = list.firstIndex(where: { $0.id == id }) else { return }
        let w = list.remove(at: i)
        waiters[key] = list
        w.continuation.resume(throwing: CancellationError())
    }
}
