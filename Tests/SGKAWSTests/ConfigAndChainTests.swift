import Foundation
import Logging
import Testing
@testable import SGKAWS

@Suite struct SharedConfigTests {
    @Test func profileRulesInConfigAndCredentials() {
        let config = """
        [default]
        region = us-west-2
        [profile dev]
        region = eu-west-1 ; a comment
        role_arn = arn:aws:iam::123456789012:role/dev
        source_profile = base
        [notaprofile]
        region = ap-south-1
        [services local]
        iam =
          endpoint_url = http://127.0.0.1:1234
        sts =
          endpoint_url = http://127.0.0.1:2345
        """
        let creds = """
        # comment
        [base]
        aws_access_key_id = AKIDBASE
        aws_secret_access_key = basesecret
        [dev]
        aws_access_key_id=AKIDDEV
        aws_secret_access_key=devsecret
        """
        let c = SharedConfig.parse(config: config, credentials: creds)
        #expect(c.value("region", profile: "default") == "us-west-2")
        #expect(c.value("region", profile: "dev") == "eu-west-1")
        #expect(c.value("aws_access_key_id", profile: "dev") == "AKIDDEV")
        #expect(c.profiles["notaprofile"] == nil)  // `[x]` in the config file is not a profile
        #expect(c.value("aws_access_key_id", profile: "base") == "AKIDBASE")
        #expect(c.services["local"]?["iam.endpoint_url"] == "http://127.0.0.1:1234")
        #expect(c.services["local"]?["sts.endpoint_url"] == "http://127.0.0.1:2345")
    }

    @Test func loadsFilesNamedByEnvironment() throws {
        let dir = try Fixtures.tempDir()
        let cfg = dir.appendingPathComponent("cfg"), crd = dir.appendingPathComponent("crd")
        try "[profile p]\nregion = cn-north-1\n".write(to: cfg, atomically: true, encoding: .utf8)
        try "[p]\naws_access_key_id = A\naws_secret_access_key = B\n".write(to: crd, atomically: true, encoding: .utf8)
        let env = ["AWS_CONFIG_FILE": cfg.path, "AWS_SHARED_CREDENTIALS_FILE": crd.path, "AWS_PROFILE": "p"]
        let c = AWSConfiguration.load(environment: env, homeDirectory: dir.path)
        #expect(c.profile == "p")
        #expect(c.region == "cn-north-1")
        #expect(c.regionSource == "profile p")
        #expect(c.partition == .awsCN)
        // ~/.aws default location under the given home
        let home = try Fixtures.tempDir()
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        try "[default]\nregion = us-gov-west-1\n".write(to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
        #expect(AWSConfiguration.load(environment: [:], homeDirectory: home.path).region == "us-gov-west-1")
    }
}

@Suite struct EndpointTests {
    func config(_ env: [String: String], region: String? = nil, config: String = "") -> AWSConfiguration {
        AWSConfiguration(environment: env, homeDirectory: "/nonexistent", profile: nil, region: region,
                         shared: SharedConfig.parse(config: config, credentials: ""))
    }

    @Test func regionPrecedence() {
        #expect(config(["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"]).region == "eu-west-1")
        #expect(config(["AWS_DEFAULT_REGION": "us-west-2"]).region == "us-west-2")
        #expect(config(["AWS_REGION": "eu-west-1"], region: "ap-south-1").region == "ap-south-1")
        #expect(config([:], config: "[default]\nregion = sa-east-1\n").region == "sa-east-1")
        #expect(config([:]).region == nil)
    }

    @Test(arguments: [
        ("us-west-2", "https://iam.amazonaws.com", "us-east-1", "https://sts.us-west-2.amazonaws.com", "https://eks.us-west-2.amazonaws.com"),
        ("cn-northwest-1", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1", "https://sts.cn-northwest-1.amazonaws.com.cn", "https://eks.cn-northwest-1.amazonaws.com.cn"),
        ("us-gov-east-1", "https://iam.us-gov.amazonaws.com", "us-gov-west-1", "https://sts.us-gov-east-1.amazonaws.com", "https://eks.us-gov-east-1.amazonaws.com"),
    ])
    func partitionEndpoints(_ region: String, _ iam: String, _ iamRegion: String, _ sts: String, _ eks: String) throws {
        let c = config([:], region: region)
        let i = try c.endpoint(for: .iam)
        #expect(i.url == iam)
        #expect(i.signingRegion == iamRegion)
        #expect(i.signingName == "iam")
        #expect(try c.endpoint(for: .sts).url == sts)
        #expect(try c.endpoint(for: .sts).signingRegion == region)
        #expect(try c.endpoint(for: .eks).url == eks)
    }

    @Test func customEndpoints() throws {
        let c = config(["AWS_ENDPOINT_URL": "http://127.0.0.1:5000/", "AWS_ENDPOINT_URL_EKS": "http://127.0.0.1:6000"], region: "cn-north-1")
        let iam = try c.endpoint(for: .iam)
        #expect(iam.url == "http://127.0.0.1:5000")
        #expect(iam.signingRegion == "cn-north-1")  // still the partition's IAM region
        #expect(iam.signingName == "iam")
        #expect(iam.hostHeader == "127.0.0.1:5000")
        #expect(AWSEndpoint(url: "https://iam.amazonaws.com", signingRegion: "us-east-1", signingName: "iam", isCustom: true).hostHeader == "iam.amazonaws.com")
        #expect(AWSEndpoint(url: "https://iam.amazonaws.com:443/", signingRegion: "us-east-1", signingName: "iam", isCustom: true).hostHeader == "iam.amazonaws.com")
        #expect(AWSEndpoint(url: "http://user@localhost:80/x?y", signingRegion: "us-east-1", signingName: "iam", isCustom: true).hostHeader == "localhost")
        #expect(AWSEndpoint(url: "http://[::1]:5000/", signingRegion: "us-east-1", signingName: "iam", isCustom: true).hostHeader == "[::1]:5000")
        #expect(AWSEndpoint(url: "http://[::1]/", signingRegion: "us-east-1", signingName: "iam", isCustom: true).hostHeader == "[::1]")
        #expect(try c.endpoint(for: .eks).url == "http://127.0.0.1:6000")
        #expect(try c.endpoint(for: .sts).signingName == "sts")
        let fromConfig = config([:], region: "us-east-1", config: "[default]\nservices = s\nendpoint_url = http://127.0.0.1:7000\n[services s]\neks =\n  endpoint_url = http://127.0.0.1:8000\n")
        #expect(try fromConfig.endpoint(for: .eks).url == "http://127.0.0.1:8000")
        #expect(try fromConfig.endpoint(for: .iam).url == "http://127.0.0.1:7000")
        let ignored = config(["AWS_ENDPOINT_URL": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"], region: "us-east-1")
        #expect(try ignored.endpoint(for: .iam).url == "https://iam.amazonaws.com")
    }

    @Test func noRegionForRegionalService() {
        #expect(throws: AWSConfigurationError.self) { try config([:]).endpoint(for: .eks) }
        #expect((try? config([:]).endpoint(for: .iam))?.url == "https://iam.amazonaws.com")
        #expect((try? config([:]).endpoint(for: .sts))?.url == "https://sts.amazonaws.com")
        #expect((try? config([:]).endpoint(for: .sts))?.signingRegion == "us-east-1")
    }

    @Test func aCustomEndpointDoesNotStandInForARegion() {
        // EKS is regional: with AWS_ENDPOINT_URL and no region the CLI says "You must specify a region".
        #expect(throws: AWSConfigurationError.noRegion(profile: "default")) { try config(["AWS_ENDPOINT_URL": "http://127.0.0.1:5000"]).endpoint(for: .eks) }
        #expect((try? config(["AWS_ENDPOINT_URL": "http://127.0.0.1:5000"]).endpoint(for: .sts))?.signingRegion == "us-east-1")
    }

    @Test func regionNamesAreCheckedBeforeAnyRequest() {
        for bad in ["us west 2", "evil.example.com/x?", "-us-west-2", "us-west-2-", ""] where !bad.isEmpty {
            #expect(throws: AWSConfigurationError.invalidRegion(bad)) { try config([:], region: bad).endpoint(for: .eks) }
            #expect(throws: AWSConfigurationError.invalidRegion(bad)) { try config([:], region: bad).endpoint(for: .iam) }
        }
        for good in ["us-west-2", "cn-north-1", "us-gov-west-1", "eu-central-2"] { #expect(AWSConfiguration.isRegionName(good)) }
    }

    @Test func aNamedProfileNoFileDefinesIsAnErrorEvenWithEnvironmentKeys() {
        let env = ["AWS_PROFILE": "dev2", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"]
        #expect(throws: AWSConfigurationError.profileNotFound("dev2")) {
            try config(env, region: "us-east-1", config: "[profile dev]\nregion = ap-south-1\n").endpoint(for: .iam)
        }
        #expect((try? config(["AWS_PROFILE": "dev"], region: "us-east-1", config: "[profile dev]\nregion = ap-south-1\n").endpoint(for: .iam)) != nil)
        #expect((try? config([:], region: "us-east-1").endpoint(for: .iam)) != nil)   // no files, the default profile: fine
    }

    @Test func arns() {
        #expect(ARN.iamRole("r", account: "123", partition: .awsCN) == "arn:aws-cn:iam::123:role/r")
        #expect(ARN.iamRole("r", account: "123", partition: .aws, path: "/a/b") == "arn:aws:iam::123:role/a/b/r")
        #expect(ARN.iamPolicy("p", account: "123", partition: .awsUSGov) == "arn:aws-us-gov:iam::123:policy/p")
        #expect(ARN.awsManagedPolicy("AmazonSageMakerFullAccess", partition: .awsCN) == "arn:aws-cn:iam::aws:policy/AmazonSageMakerFullAccess")
        #expect(ARN.oidcProvider(issuer: "https://oidc.eks.us-west-2.amazonaws.com:443/id/ABC/", account: "123", partition: .aws)
                == "arn:aws:iam::123:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC")
        #expect(ARN.partition(of: "arn:aws-us-gov:iam::1:role/x") == .awsUSGov)
        #expect(ARN.account(of: "arn:aws:iam::123456789012:role/x") == "123456789012")
        #expect(AWSPartition.of(region: "cn-north-1") == .awsCN)
        #expect(AWSPartition.of(region: "us-gov-west-1") == .awsUSGov)
        #expect(AWSPartition.of(region: "eu-central-1") == .aws)
    }
}

@Suite struct CredentialChainTests {
    static let noIMDS = ["AWS_EC2_METADATA_DISABLED": "true"]

    func chain(_ env: [String: String], home: String? = nil, profile: String? = nil) -> (AWSClient, AWSCredentialChain) {
        var e = Self.noIMDS
        e.merge(env) { _, n in n }
        let home = home ?? "/nonexistent-\(UUID().uuidString)"
        let cfg = AWSConfiguration.load(environment: e, homeDirectory: home, profile: profile)
        let client = AWSClient(configuration: cfg, retryPolicy: .none)
        // swiftlint:disable:next force_cast
        let chain = client.credentialProvider as? AWSCredentialChain
        return (client, chain ?? AWSCredentialChain(configuration: cfg, transport: client.transport, logger: Logger(label: "t")))
    }

    @Test func environmentFirst() async throws {
        let (client, chain) = chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok"])
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "AKIDENV")
        #expect(c.sessionToken == "tok")
        #expect(c.source == "environment")
        #expect(!c.description.contains("s3cr3t"))
        #expect(!c.description.contains("tok)"))
        try await client.shutdown()
    }

    @Test func credentialsThatHaveAlreadyExpiredAreAnError() async throws {
        let (client, chain) = chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z"])
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.code == "ExpiredCredentials")
            #expect(e.message.contains("expired at 2020-01-01T00:00:00Z"))
            #expect(!e.description.contains("s3cr3t"))
        }
        try await client.shutdown()
    }

    @Test func partialEnvironmentIsAnError() async throws {
        let (client, chain) = chain(["AWS_ACCESS_KEY_ID": "AKIDENV"])
        await #expect(throws: CredentialsError.self) { try await chain.credentials() }
        try await client.shutdown()
    }

    @Test func profileFromFilesAndExplicitProfileSkipsEnvironment() async throws {
        let home = try Fixtures.tempDir()
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = o\n"
            .write(to: home.appendingPathComponent(".aws/credentials"), atomically: true, encoding: .utf8)
        try "[profile cfgonly]\naws_access_key_id = AKIDCFG\naws_secret_access_key = c\n"
            .write(to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
        do {
            let (client, chain) = chain([:], home: home.path)
            #expect(try await chain.credentials().accessKeyID == "AKIDDEFAULT")
            try await client.shutdown()
        }
        do {
            let (client, chain) = chain(["AWS_PROFILE": "other"], home: home.path)
            let c = try await chain.credentials()
            #expect(c.accessKeyID == "AKIDOTHER")
            #expect(c.source == "shared-credentials-file")
            try await client.shutdown()
        }
        do {
            let (client, chain) = chain(["AWS_DEFAULT_PROFILE": "cfgonly"], home: home.path)
            let c = try await chain.credentials()
            #expect(c.accessKeyID == "AKIDCFG")
            #expect(c.source == "config-file")
            try await client.shutdown()
        }
        do {  // env wins over AWS_PROFILE, but not over an explicit profile
            let (client, chain) = chain(["AWS_PROFILE": "other", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"], home: home.path)
            #expect(try await chain.credentials().accessKeyID == "AKIDENV")
            try await client.shutdown()
            let (client2, chain2) = self.chain(["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e"], home: home.path, profile: "other")
            #expect(try await chain2.credentials().accessKeyID == "AKIDOTHER")
            try await client2.shutdown()
        }
        do {
            let (client, chain) = chain(["AWS_PROFILE": "missing"], home: home.path)
            await #expect(throws: CredentialsError.self) { try await chain.credentials() }
            try await client.shutdown()
        }
    }

    @Test func nothingFoundListsWhatWasTried() async throws {
        let (client, chain) = chain([:])
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.tried.count >= 6)
            #expect(e.description.contains("environment"))
            #expect(e.description.contains("EC2 instance metadata"))
            #expect(e.description.contains("container"))
        }
        try await client.shutdown()
    }

    @Test func credentialProcess() async throws {
        let home = try Fixtures.tempDir()
        let script = home.appendingPathComponent("creds.sh")
        try """
        #!/bin/sh
        echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "procsecret", "SessionToken": "proctoken", "Expiration": "2099-01-01T00:00:00Z"}'
        """.write(to: script, atomically: true, encoding: .utf8)
        let cfg = home.appendingPathComponent("config")
        try "[profile proc]\ncredential_process = sh \"\(script.path)\"\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = chain(["AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "proc"], home: home.path)
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "AKIDPROC")
        #expect(c.sessionToken == "proctoken")
        #expect(c.source == "credential_process")
        #expect(c.expiration == SigV4Time.parseISO8601("2099-01-01T00:00:00Z"))
        try await client.shutdown()
    }

    @Test func credentialProcessFailureIsReported() async throws {
        let home = try Fixtures.tempDir()
        let cfg = home.appendingPathComponent("config")
        // Helpers print what they hold when they fail: the error keeps the words, not the keys.
        let key = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12"
        try "[default]\ncredential_process = sh -c 'echo boom SecretAccessKey=\(key) password=hunter2 >&2; exit 3'\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = chain(["AWS_CONFIG_FILE": cfg.path], home: home.path)
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.message.contains("status 3"))
            #expect(e.message.contains("boom"))
            #expect(!e.message.contains(key) && !e.message.contains("hunter2"), "\(e.message)")
        }
        try await client.shutdown()
    }

    @Test func roleProfileWithoutSourceIsAnError() async throws {
        let home = try Fixtures.tempDir()
        let cfg = home.appendingPathComponent("config")
        try "[profile r]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Nonsense\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = chain(["AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "r"], home: home.path)
        await #expect(throws: CredentialsError.self) { try await chain.credentials() }
        try await client.shutdown()
    }

    @Test func aRoleProfileWithNoSourceAtAllSaysSo() async throws {
        let home = try Fixtures.tempDir()
        let cfg = home.appendingPathComponent("config")
        try "[profile nosrc]\nrole_arn = arn:aws:iam::1:role/x\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = chain(["AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "nosrc"], home: home.path)
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.code == "PartialCredentials")
            #expect(e.message.contains("has role_arn but neither source_profile"))
        }
        try await client.shutdown()
    }

    @Test func aCircularChainNamesEveryProfileOfIt() async throws {
        let home = try Fixtures.tempDir()
        let cfg = home.appendingPathComponent("config")
        try "[profile a]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::1:role/y\nsource_profile = a\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = chain(["AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "a"], home: home.path)
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.message.contains("a → b → a"))
        }
        try await client.shutdown()
    }

    @Test func linesTheCLIRefusesAreReportedWithoutTheirValues() {
        let shared = SharedConfig.parse(config: "[default]\nregion = us-east-1\n[profile x\nregion = eu-west-1\n[default]\n",
                                        credentials: "aws_access_key_id = AKIAEXAMPLE\n[default]\naws_secret_access_key SeCrEt\n",
                                        configName: "cfg", credentialsName: "creds")
        #expect(shared.problems.contains("cfg line 3: a section header without its closing ']'"))
        #expect(shared.problems.contains("cfg line 5: section [default] appears twice"))
        #expect(shared.problems.contains("creds line 1: a setting outside any [section]"))
        #expect(shared.problems.contains("creds line 3: not a 'key = value' line"))
        #expect(!shared.problems.joined().contains("SeCrEt"))
        let cfg = AWSConfiguration(environment: [:], homeDirectory: "/nonexistent", profile: nil, region: "us-east-1", shared: shared)
        #expect(throws: AWSConfigurationError.self) { try cfg.endpoint(for: .iam) }
        // Comments, blank lines, continuation lines and a BOM are fine.
        let ok = SharedConfig.parse(config: "\u{FEFF}# c\n[default]\n; c\ns3 =\n  max_concurrent_requests = 2\n\n[services s]\neks =\n  endpoint_url = http://x\n", credentials: "")
        #expect(ok.problems.isEmpty)
    }
}
