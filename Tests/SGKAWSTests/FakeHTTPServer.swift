import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny blocking HTTP/1.1 server on 127.0.0.1 for tests (IMDS, container credentials, STS fakes).
/// One request per connection (`Connection: close`).
final class FakeHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var headers: [String: String]  // lower-cased names
        var body: String
    }
    /// Status 0: the request is read, then the connection is closed without an answer.
    typealias Handler = @Sendable (Request) -> (status: Int, body: String)

    let port: Int
    private let fd: Int32
    private let handler: Handler
    /// Extra headers of each answer (e.g. `Retry-After`).
    private let answerHeaders: @Sendable (Request) -> [String: String]
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var stopped = false

    var requests: [Request] { lock.lock(); defer { lock.unlock() }; return _requests }
    var url: String { "http://127.0.0.1:\(port)" }

    init(headers: @escaping @Sendable (Request) -> [String: String] = { _ in [:] }, handler: @escaping Handler) throws {
        self.handler = handler
        self.answerHeaders = headers
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let b = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard b == 0, listen(s, 16) == 0 else { close(s); throw POSIXError(.EADDRINUSE) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        port = Int(UInt16(bigEndian: bound.sin_port))
        fd = s
        let t = Thread { [weak self] in self?.loop() }
        t.start()
    }

    /// Stops accepting. The listening socket is only shut down here (that
    /// wakes a blocked `accept`); the server's own thread closes it when it
    /// leaves its loop. Closing it here let its number be reused by the next
    /// server (tests run in parallel) while this server's thread could still
    /// call `accept` on it — stealing, and dropping, the other server's
    /// connections (seen as `remoteConnectionClosed`).
    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func loop() {
        defer { close(fd) }
        while true {
            let c = accept(fd, nil, nil)
            lock.lock(); let done = stopped; lock.unlock()
            if done { if c >= 0 { close(c) }; return }
            if c < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            // A client that connects and never sends cannot hold the server forever.
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            serve(c)
        }
    }

    private func serve(_ c: Int32) {
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = read(c, &buf, buf.count)
            if n <= 0 { break }
            data += buf[0..<n]
            if headerEnd == nil, let r = findHeaderEnd(data) {
                headerEnd = r
                let head = String(decoding: data[0..<r], as: UTF8.self)
                for line in head.components(separatedBy: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let h = headerEnd, data.count >= h + 4 + contentLength { break }
        }
        guard let h = headerEnd else { close(c); return }
        let head = String(decoding: data[0..<h], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let first = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for l in lines {
            if let i = l.firstIndex(of: ":") {
                headers[l[..<i].lowercased()] = l[l.index(after: i)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let body = String(decoding: data[(h + 4)...], as: UTF8.self)
        let req = Request(method: first.first.map(String.init) ?? "", path: first.count > 1 ? String(first[1]) : "/", headers: headers, body: body)
        lock.lock(); _requests.append(req); lock.unlock()
        let (status, respBody) = handler(req)
        if status == 0 { close(c); return }   // the request was read and no answer comes
        let bytes = Array(respBody.utf8)
        let extra = answerHeaders(req).map { "\($0.key): \($0.value)\r\n" }.joined()
        let resp = "HTTP/1.1 \(status) X\r\nContent-Length: \(bytes.count)\r\n\(extra)Connection: close\r\n\r\n"
        let out = Array(resp.utf8) + bytes
        _ = out.withUnsafeBytes { write(c, $0.baseAddress, out.count) }
        close(c)
    }

    /// True when something accepts TCP connections on 127.0.0.1:port.
    static func canConnect(port: Int) -> Bool {
        #if canImport(Glibc)
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let s = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard s >= 0 else { return false }
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return r == 0
    }

    private func findHeaderEnd(_ d: [UInt8]) -> Int? {
        guard d.count >= 4 else { return nil }
        for i in 0...(d.count - 4) where d[i] == 13 && d[i + 1] == 10 && d[i + 2] == 13 && d[i + 3] == 10 { return i }
        return nil
    }
}
