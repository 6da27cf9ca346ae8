import Foundation
import NIOCore
import NIOHTTP1
import SGKData

extension KubeClient {
    /// A container's log, as `kubectl logs` reads it: GET /api/v1/namespaces/NS/pods/POD/log
    /// (`container`, `tailLines`, `previous`: the last terminated instance). The API server asks the
    /// node's kubelet for it, so a pod that has no node (or a server with no kubelet) answers with an
    /// error, thrown as `KubeError.api` with the server's message.
    public func podLog(pod: String, namespace: String? = nil, container: String? = nil, tailLines: Int? = nil,
                       previous: Bool = false, timeout: TimeAmount? = nil) async throws -> String {
        let ns = namespace ?? defaultNamespace
        var query: [(String, String)] = []
        if let container { query.append(("container", container)) }
        if let tailLines { query.append(("tailLines", String(tailLines))) }
        if previous { query.append(("previous", "true")) }
        let path = "/api/v1/namespaces/\(URIEncoding.encode(ns))/pods/\(URIEncoding.encode(pod))/log"
        let response = try await send(.GET, path, query: query, accept: "*/*", timeout: timeout)
        return String(decoding: response.body, as: UTF8.self)
    }
}
