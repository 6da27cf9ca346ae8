import Foundation
import Testing
import SGKLanguage
@testable import SGKPrimitives

/// Lines pasted from the AWS and eksctl docs run natively against moto, print what the aws CLI
/// prints, and are read back with the real `aws`.
@Suite(.serialized, .enabled(if: awsPeer, "needs SGK_TEST_AWS_ENDPOINT (tools/test.sh starts moto)"))
struct PastedLinesTests {
    @Test func theDocumentedIAMLinesRunAndPrintAsTheCLI() async throws {
        let cluster = try AWSPrimitivesTests.makeCluster()
        let dir = NSTemporaryDirectory() + "sgk-paste-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        try trust.write(toFile: dir + "/trust.json", atomically: true, encoding: .utf8)
        let inline = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"arn:aws:sagemaker:*:*:domain/*"}]}"#
        try inline.write(toFile: dir + "/p.json", atomically: true, encoding: .utf8)
        let role = AWSPrimitivesTests.unique("ack-controller-role")
        let h = Harness()
        defer { Task { await h.close() } }
        _ = try await h.run("""
            export CLUSTER_NAME=\(cluster)
            export AWS_REGION=us-west-2
            eksctl utils associate-iam-oidc-provider --cluster $CLUSTER_NAME --region us-west-2 --approve
            aws eks describe-cluster --name ${CLUSTER_NAME} --query cluster.identity.oidc.issuer --output text
            aws sts get-caller-identity --query Account --output text
            aws iam create-role --role-name \(role) \\
              --assume-role-policy-document file://\(dir)/trust.json --query Role.RoleName --output text
            aws iam attach-role-policy --role-name \(role) --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
            aws iam put-role-policy --role-name \(role) --policy-name SagemakerStudioAccess --policy-document file://\(dir)/p.json
            aws iam get-role --role-name "\(role)" --query 'Role.Arn' --output=text
            aws iam list-attached-role-policies --role-name \(role) --query 'AttachedPolicies[].PolicyName' --output text | wc -l
            aws iam list-attached-role-policies --role-name \(role) --query 'AttachedPolicies[].PolicyArn'
            """)
        let lines = h.out.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].hasPrefix("https://oidc.eks.us-west-2.amazonaws.com/id/"))
        #expect(lines[1] == "123456789012")
        #expect(lines[2] == role)
        #expect(lines[3] == "arn:aws:iam::123456789012:role/\(role)")
        #expect(lines[4] == "1")
        #expect(Array(lines[5...]) == ["[", "    \"arn:aws:iam::aws:policy/AmazonSageMakerFullAccess\"", "]", ""])
        #expect(h.err.text.contains("hint: oidc associate cluster: \(cluster) region: us-west-2"))
        #expect(h.err.text.contains("hint: role create \(role) trust: (read \(ShellWords.source([dir + "/trust.json"])))"))
        #expect(h.err.text.contains("hint: role get \(role) query: Arn\n"))
        // Read back with the real aws.
        let (got, code) = try runProcess(["aws", "iam", "get-role-policy", "--role-name", role, "--policy-name", "SagemakerStudioAccess"])
        #expect(code == 0 && got.contains("domain/*"))
        let (attached, _) = try runProcess(["aws", "iam", "list-attached-role-policies", "--role-name", role, "--query", "AttachedPolicies[].PolicyArn", "--output", "text"])
        #expect(attached.trimmingCharacters(in: .whitespacesAndNewlines) == "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        // Same output as the real CLI for a read.
        let (real, _) = try runProcess(["aws", "iam", "list-attached-role-policies", "--role-name", role])
        let mine = Harness()
        defer { Task { await mine.close() } }
        _ = try await mine.run("aws iam list-attached-role-policies --role-name \(role)")
        #expect(mine.out.text == real)
        // A second run converges; unsupported lines say so.
        _ = try await h.run("aws iam attach-role-policy --role-name \(role) --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        #expect(await h.failure("aws s3 ls").contains("sgk does not run 'aws s3' lines"))
        #expect(await h.failure("aws iam get-role --role-name x --profile p").contains("does not support the flag --profile"))
        #expect(await h.failure("aws iam create-user --user-name u").contains("sgk does not run 'aws iam create-user'"))
        _ = try await h.run("aws iam delete-role --role-name \(role)")
        let (_, gone) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(gone != 0)
    }

    @Test func eksctlCreateIamServiceAccountRoleOnlyIsIdempotent() async throws {
        let cluster = try AWSPrimitivesTests.makeCluster()
        let role = AWSPrimitivesTests.unique("irsa")
        let h = Harness(environment: ["AWS_REGION": "us-west-2"])
        defer { Task { await h.close() } }
        let line = "eksctl create iamserviceaccount --cluster \(cluster) --namespace ml --name runner --attach-policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess --role-name \(role) --role-only --approve"
        _ = try await h.run("eksctl utils associate-iam-oidc-provider --cluster \(cluster) --approve")
        _ = try await h.run(line)
        _ = try await h.run(line)
        let (doc, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role, "--query", "Role.AssumeRolePolicyDocument", "--output", "json"])
        #expect(code == 0)
        #expect(doc.contains("system:serviceaccount:ml:runner"))
        let (attached, _) = try runProcess(["aws", "iam", "list-attached-role-policies", "--role-name", role, "--query", "AttachedPolicies[].PolicyArn", "--output", "text"])
        #expect(attached.contains("AmazonS3ReadOnlyAccess"))
        _ = try await h.run("role delete \(role)")
    }
}
