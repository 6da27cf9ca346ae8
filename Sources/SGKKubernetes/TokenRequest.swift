import Foundation
import OrderedCollections
import SGKData

extension KubeClient {
    /// A service account token from the TokenRequest API (`kubectl create token`): bound to the
    /// audiences given (none: the API server's own), valid `seconds` (none: the server's default).
    /// Returns the token and its expiry as the server states it.
    public func createToken(serviceAccount: String, namespace: String? = nil, audiences: [String] = [],
                            seconds: Int? = nil) async throws -> (token: String, expiration: String?) {
        let ns = namespace ?? defaultNamespace
        var spec = OrderedDictionary<String, JSON>()
        if !audiences.isEmpty { spec["audiences"] = .array(audiences.map(JSON.string)) }
        if let seconds { spec["expirationSeconds"] = .int(seconds) }
        let body = JSON.object(["apiVersion": .string("authentication.k8s.io/v1"), "kind": .string("TokenRequest"), "spec": .object(spec)])
        let path = "/api/v1/namespaces/\(URIEncoding.encode(ns))/serviceaccounts/\(URIEncoding.encode(serviceAccount))/token"
        let answer = try await sendJSON(.POST, path, body: body)
        guard let token = answer["status"]?["token"]?.stringValue, !token.isEmpty else {
            throw KubeError.other("the TokenRequest for \(ns)/\(serviceAccount) answered no token")
        }
        return (token, answer["status"]?["expirationTimestamp"]?.stringValue)
    }
}
