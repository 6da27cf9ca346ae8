import Testing
@testable import SGKData

@Suite("Text")
struct TextTests {
    @Test func replacesEveryOccurrenceLeftToRightWithoutOverlaps() {
        #expect("PLACEHOLDER-NAMESPACE/x PLACEHOLDER-NAMESPACE".replacingAll("PLACEHOLDER-NAMESPACE", with: "ml") == "ml/x ml")
        #expect("aaaa".replacingAll("aa", with: "b") == "bb")
        #expect("aaa".replacingAll("aa", with: "b") == "ba")
        #expect("abc".replacingAll("x", with: "y") == "abc")
        #expect("abc".replacingAll("", with: "y") == "abc")
        #expect("".replacingAll("a", with: "b") == "")
        #expect("a-b-c".replacingAll("-", with: "_") == "a_b_c")
        #expect("héllo wörld".replacingAll("ö", with: "o") == "héllo world")
        #expect("x\r\ny".replacingAll("\r", with: "") == "x\ny")
        #expect("abc".replacingAll("abc", with: "") == "")
    }

    @Test func splitsAsComponentsSeparatedByDoes() {
        #expect("a/b//c".splitAll("/") == ["a", "b", "", "c"])
        #expect("/a/".splitAll("/") == ["", "a", ""])
        #expect("abc".splitAll(",") == ["abc"])
        #expect("".splitAll(",") == [""])
        #expect("a::b::".splitAll("::") == ["a", "b", ""])
        #expect("abc".splitAll("") == ["abc"])
        #expect("ünï→cödé→x".splitAll("→") == ["ünï", "cödé", "x"])
    }

    @Test func findsBytesFromAnOffset() {
        func find(_ needle: String, _ text: String, _ from: Int = 0) -> Int? {
            var t = text
            return t.withUTF8 { ByteSearch.firstIndex(of: needle, in: $0, from: from) }
        }
        #expect(find("\"ab\"", #"x "ab" "ab""#) == 2)
        #expect(find("\"ab\"", #"x "ab" "ab""#, 3) == 7)
        #expect(find("\"ab\"", #"x "ab" "ab""#, 8) == nil)
        #expect(find("\":\"", #"{"a":"b"}"#) == 3)      // only common bytes: anchored on the first
        #expect(find("yz", "xyz") == 1)                       // at the very end
        #expect(find("xyz", "xy") == nil)                     // longer than the text
        #expect(find("", "abc") == nil)
        #expect(find("b", "abc", 5) == nil)
        #expect(find("\"a", "\"b\"a") == 2)                 // a candidate that fails, then a match
    }
}

@Suite struct NetworkErrorTextTests {
    @Test func knownConnectionFailuresInPlainWords() {
        #expect(NetworkErrorText.plain("connection reset (error set): Connection refused (errno: 111)")
                == "connection refused (nothing listens on that address and port)")
        #expect(NetworkErrorText.plain("handshakeFailed(NIOSSL.BoringSSLError.sslError([Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at handshake.cc:320]))")
                .hasPrefix("the server's TLS certificate is not trusted"))
        #expect(NetworkErrorText.plain("handshakeFailed(NIOSSL.BoringSSLError.sslError([WRONG_VERSION_NUMBER]))").hasPrefix("the TLS handshake failed"))
        #expect(NetworkErrorText.plain("NIOConnectionError(host: x, port: 443, dnsAError: Optional(...))") == "the host name could not be resolved (DNS)")
        #expect(NetworkErrorText.plain("HTTPClientError.connectTimeout") == "the connection timed out")
        #expect(NetworkErrorText.plain("HTTPClientError.remoteConnectionClosed") == "the server closed the connection")
        #expect(NetworkErrorText.plain("something new") == "something new")
    }
}

@Suite struct LineDiffTests {
    @Test func changesInDocumentOrderWithContext() {
        let a = ["{", "  \"Effect\": \"Allow\",", "  \"Action\": \"s3:*\",", "  \"Resource\": \"*\"", "}"]
        let b = ["{", "  \"Effect\": \"Deny\",", "  \"Action\": \"s3:*\",", "  \"Resource\": \"*\"", "}"]
        #expect(LineDiff.render(a, b, context: 1) == """
              {
            -   "Effect": "Allow",
            +   "Effect": "Deny",
                "Action": "s3:*",
              …
            """)
    }

    @Test func removalsComeBeforeTheirInsertionsAndKeepTheirOrder() {
        let d = LineDiff.render(["a", "b", "c", "x"], ["a", "B", "C", "x"], context: 0)
        #expect(d == "  …\n- b\n- c\n+ B\n+ C\n  …")
        #expect(LineDiff.render(["same"], ["same"]) == "")
        #expect(LineDiff.render([], ["new"]) == "+ new")
    }
}

@Suite struct SecretMaskingTests {
    @Test func masksKeysTokensAndNamedValues() {
        let key = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12"
        let out = SecretText.mask("failed: SecretAccessKey=\(key) --password=hunter2 token: abc123 user ops")
        #expect(!out.contains(key) && !out.contains("hunter2") && !out.contains("abc123"), "\(out)")
        #expect(out.contains("failed:") && out.contains("user ops"))
        // Names, ARNs, paths and image references stay readable.
        let plain = "arn:aws:iam::123456789012:role/sagemaker-k8s-operator-bench /usr/local/bin/aws-credential-helper-for-ci 123456789012.dkr.ecr.us-west-2.amazonaws.com/operator:v1"
        #expect(SecretText.mask(plain) == plain)
    }

    @Test func moreSecretShapesAreSeen() {
        #expect(SecretText.looksSecret(#"let k = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12""#))
        #expect(SecretText.looksSecret(#"let u = "https://admin:hunter2@127.0.0.1:1/""#))
        #expect(SecretText.looksSecret(#"let s = {apiVersion: "v1", kind: "Secret", metadata: {name: "db"}, data: {pw: "aHVudGVyMg=="}}"#))
        // Not secrets: a git SHA (one case), an OIDC issuer, a Secret read by name.
        #expect(!SecretText.looksSecret("git show 3f786850e387550fdab836ed7e6dc881de23001b"))
        #expect(!SecretText.looksSecret("let c = https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"))
        #expect(!SecretText.looksSecret("kubectl get secret db -n default"))
    }

    @Test func invalidHeaderValuesAreNotQuoted() {
        let text = NetworkErrorText.plain(#"HTTPClientError.invalidHeaderFieldValues(["IQoJb3JpZ2luTOKEN\r"])"#)
        #expect(!text.contains("IQoJ") && text.contains("line break"), "\(text)")
    }

    @Test func urlsLoseUserInfoAndQuery() {
        #expect(SecretText.redactedURL("https://admin:pw@host:8443/path?X-Amz-Signature=abc#f") == "https://<redacted>@host:8443/path?<redacted>#f")
        #expect(SecretText.redactedURL("http://127.0.0.1:5000/") == "http://127.0.0.1:5000/")
        #expect(SecretText.redactedURL("https://host?token=x") == "https://host?<redacted>")
        #expect(SecretText.redactedURL("not a url") == "not a url")
        // A debug log keeps a request's own parameters, never the endpoint's password.
        #expect(SecretText.redactedURL("http://ops:pw@127.0.0.1:5000/clusters?maxResults=5", keepQuery: true) == "http://<redacted>@127.0.0.1:5000/clusters?maxResults=5")
    }
}
