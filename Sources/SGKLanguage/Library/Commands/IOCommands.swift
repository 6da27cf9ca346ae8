import SGKHTTP
import Foundation
import NIOCore
import NIOHTTP1
import OrderedCollections
import SGKData

/// Files, the network, processes and time: read, write, fetch, sh, sleep.
public enum IOCommands: CommandLibrary {
    public static var commands: [NativeCommand] {
        [read, write, fetch, sh, sleep, clock]
    }

    // MARK: files

    /// `~/x` → `$HOME/x`.
    static func expandPath(_ p: String, _ ctx: CallContext) -> String {
        if p == "~" { return ctx.environment["HOME"] ?? p }
        if p.hasPrefix("~/"), let home = ctx.environment["HOME"] { return home + String(p.dropFirst(1)) }
        return p
    }

    static func readFile(_ path: String, _ ref: CommandError.ArgumentRef) throws -> String {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            let dir = (path as NSString).deletingLastPathComponent
            let hint = !dir.isEmpty && !fm.fileExists(atPath: dir) ? "the folder '\(dir)' does not exist either" : "paths are relative to the current folder (\(fm.currentDirectoryPath))"
            throw CommandError("no such file '\(path)'", hint: hint, argument: ref)
        }
        if isDir.boolValue { throw CommandError("'\(path)' is a folder, not a file", argument: ref) }
        guard fm.isReadableFile(atPath: path) else {
            throw CommandError("permission denied reading '\(path)'", argument: ref)
        }
        guard let data = fm.contents(atPath: path) else {
            throw CommandError("cannot read '\(path)'", argument: ref)
        }
        // Text is never repaired in silence: invalid UTF-8 is an error naming where it is.
        if let text = String(validating: data, as: UTF8.self) { return text }
        var parser = Unicode.UTF8.ForwardParser(), bytes = data.makeIterator(), offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &bytes) { offset += scalar.count }
        let byte = offset < data.count ? data[data.startIndex + offset] : 0
        throw CommandError("'\(path)' is not UTF-8 text: invalid byte 0x\(String(byte, radix: 16, uppercase: true)) at byte offset \(offset)",
                           hint: "read takes text files; convert it first (e.g. iconv -f latin1 -t utf-8)", argument: ref)
    }

    static let read = NativeCommand(CommandSignature(
        "read", positionals: [.init("file", isPath: true, "the file's path (~ is your home folder)")],
        summary: "Read a text file and return its contents as a string.",
        example: "read trust.json | json parse")) { inv in
        let p = expandPath(try inv.args.string(0, "FILE"), inv.context)
        return .string(try readFile(p, .positional(0)))
    }

    /// The text to write for a value, by the file's extension.
    static func fileText(_ v: Value, path: String) throws -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        switch v {
        case .string(let s): return s
        case .int, .double, .bool, .duration: return v.text
        case .list(let l) where ext == "yaml" || ext == "yml":
            return TextCommands.isManifestList(l) ? YAMLCodec.emitDocuments(l.map(\.json)) : SGKDataBridge.emitYAML(v)
        case .map, .null, .list:
            if ext == "yaml" || ext == "yml" { return SGKDataBridge.emitYAML(v) }
            if ext == "json" { return try SGKDataBridge.checkedJSON(v, pretty: true) + "\n" }
            throw CommandError("cannot write \(describeType(v)) to '\(path)': give a string, or a .yaml/.yml/.json file name",
                               hint: "e.g. $x | yaml emit | write \(path), or write \((path as NSString).deletingPathExtension).yaml")
        case .function:
            throw CommandError("cannot write a function to a file")
        }
    }

    static let write = NativeCommand(CommandSignature(
        "write", positionals: [.init("file", isPath: true, "the file's path"),
                               .init("content", optional: true, "what to write (else the piped-in value)")],
        keywords: [.init("append", isSwitch: true, flags: ["-a", "--append"], "add to the end instead of replacing")],
        summary: "Write a string to a file (lists and maps as YAML for .yaml/.yml, JSON for .json). Returns the path.",
        example: "$manifest | write installer.yaml")) { inv in
        let p = expandPath(try inv.args.string(0, "FILE"), inv.context)
        guard let content = inv.args.positional(1) ?? inv.args.input else {
            throw CommandError("nothing to write: pipe a value in or pass CONTENT", hint: "e.g. \"text\" | write \(p)")
        }
        let text: String
        do { text = try fileText(content, path: p) } catch var e as CommandError {
            e.argument = inv.args.positional(1) != nil ? .positional(1) : nil
            throw e
        }
        let append = try inv.args.bool(keyword: "append")
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
            throw CommandError("'\(p)' is a folder, not a file", argument: .positional(0))
        }
        let dir = (p as NSString).deletingLastPathComponent
        if !dir.isEmpty, !fm.fileExists(atPath: dir) {
            throw CommandError("cannot write '\(p)': no such folder '\(dir)'", argument: .positional(0))
        }
        let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        let fd = open(p, flags, 0o644)
        if fd < 0 {
            let err = errno
            if err == EACCES || err == EPERM || err == EROFS {
                throw CommandError("permission denied writing '\(p)'", argument: .positional(0))
            }
            throw CommandError("cannot write '\(p)': \(String(cString: strerror(err)))", argument: .positional(0))
        }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return Foundation.write(fd, base + off, buf.count - off)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw CommandError("cannot write '\(p)': \(String(cString: strerror(errno)))", argument: .positional(0))
            }
            off += n
        }
        bytes.removeAll()
        return .string(p)
    }

    // MARK: fetch

    /// One transport per run, shut down when the run's context goes away. A refused or
    /// unresolvable connection fails at once: offline users learn it now.
    final class HTTPService: Sendable {
        let client = HTTPTransport(configuration: .init(connectTimeout: .seconds(30), maxRedirects: 10, userAgent: "sgk"))
    }

    struct FetchResult: Sendable {
        var status: Int
        var reason: String
        var body: String
    }

    static let maxBody = 256 << 20

    static func reason(_ status: Int) -> String { HTTPResponseStatus(statusCode: status).reasonPhrase }

    static let fetch = NativeCommand(CommandSignature(
        "fetch", positionals: [.init("url", isPath: true, "an http(s):// or file:// URL, or a local path")],
        keywords: [.init("timeout", "give up after this long (default 30s)")],
        summary: "Download a URL (following redirects) or read a local file, and return the body as a string.",
        example: "fetch $installer | yaml parse")) { inv in
        let url = try inv.args.string(0, "URL")
        let lower = url.lowercased()
        if lower.hasPrefix("file://") {
            var path = String(url.dropFirst(7))
            if path.hasPrefix("localhost/") { path = String(path.dropFirst(9)) }
            path = path.removingPercentEncoding ?? path
            return .string(try readFile(path, .positional(0)))
        }
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            if let scheme = url.firstRange(of: "://").map({ String(url[..<$0.lowerBound]) }) {
                throw CommandError("unsupported URL scheme '\(scheme)://'", hint: "fetch takes http://, https://, file:// URLs or a local path", argument: .positional(0))
            }
            return .string(try readFile(expandPath(url, inv.context), .positional(0)))
        }
        let timeout = try inv.args.duration(keyword: "timeout") ?? 30
        guard timeout > 0 else { throw CommandError("'timeout:' must be positive", argument: .keyword("timeout")) }
        return .string(try fetchText(url, timeout: timeout, context: inv.context))
    }

    /// The body of an http(s) URL, following redirects, bounded by `timeout` seconds; errors say
    /// what went wrong and how to work offline. The one HTTP download path of every command.
    public static func fetchText(_ url: String, timeout: Double = 30, context: CallContext) throws -> String {
        let host = URL(string: url)?.host ?? url
        let service = context.service(HTTPService.self) {
            let s = HTTPService()
            let client = s.client
            context.onShutdown { await client.shutdown() }
            return s
        }
        let client = service.client
        let result: FetchResult?
        do {
            result = try context.wait {
                try await withThrowingTaskGroup(of: FetchResult?.self) { group in
                    group.addTask {
                        let response = try await client.execute(HTTPRequest(url: url), timeout: .nanoseconds(Int64(timeout * 1e9)))
                        let buffer = try await response.body.collect(upTo: maxBody)
                        return FetchResult(status: response.status, reason: reason(response.status),
                                           body: String(decoding: buffer, as: UTF8.self))
                    }
                    group.addTask {
                        // A backstop for the body download; the client's deadline usually fires first.
                        try await Task.sleep(nanoseconds: UInt64((timeout + 1) * 1e9))
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let first = try await group.next() else { return nil }
                    return first
                }
            }
        } catch let e as HTTPTransportError {
            throw fetchError(e, url: url, host: host, timeout: timeout)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let why = "cannot reach \(host): \(NetworkErrorText.plain(error))"
            throw CommandError(why, code: "ConnectionError",
                               hint: "check the network (or proxy); offline, download the file elsewhere and pass its local path: fetch ./file.yaml",
                               argument: .positional(0))
        }
        guard let result else {
            throw CommandError("timed out after \(Value.formatDuration(timeout)) fetching \(SecretText.redactedURL(url))", code: "Timeout",
                               hint: "give more time with timeout: 2m, or download the file and pass its local path", argument: .positional(0))
        }
        guard (200..<300).contains(result.status) else {
            let hint: String
            switch result.status {
            case 404: hint = "check the URL (a moved file or a wrong branch name?)"
            case 401, 403: hint = "the server refused access; private URLs need credentials sgk does not send"
            case 429: hint = "rate limited; wait and try again"
            case 500...: hint = "the server failed; try again later, or use a local copy of the file"
            default: hint = "check the URL"
            }
            throw CommandError("HTTP \(result.status) \(result.reason) from \(SecretText.redactedURL(url))", code: "HTTPError", hint: hint,
                               data: ["status": .int(result.status)], argument: .positional(0))
        }
        return result.body
    }

    static func fetchError(_ e: HTTPTransportError, url: String, host: String, timeout: Double) -> CommandError {
        let url = SecretText.redactedURL(url)   // messages never show user info or a query
        let offline = "check the network (or proxy); offline, download the file elsewhere and pass its local path: fetch ./file.yaml"
        switch e {
        case .tooManyRedirects:
            return CommandError("too many redirects fetching \(url)", hint: "the server redirects in a loop or more than 10 times", argument: .positional(0))
        case .connectTimeout:
            return CommandError("cannot connect to \(host): timed out", code: "ConnectionError", hint: offline, argument: .positional(0))
        case .deadlineExceeded:
            return CommandError("timed out after \(Value.formatDuration(timeout)) fetching \(url)", code: "Timeout",
                                hint: "give more time with timeout: 2m, or download the file and pass its local path", argument: .positional(0))
        case .invalidURL, .unsupportedScheme:
            return CommandError("invalid URL '\(url)'", argument: .positional(0))
        case .responseTooLarge:
            return CommandError("the response from \(host) is larger than \(maxBody >> 20) MB", argument: .positional(0))
        default:
            return CommandError("cannot fetch \(url): \(NetworkErrorText.plain(e))", code: "ConnectionError", hint: offline, argument: .positional(0))
        }
    }

    // MARK: sh

    /// The program's path: as given when it contains '/', else the first match on PATH.
    static func resolveProgram(_ name: String, _ ctx: CallContext) -> String? {
        let fm = FileManager.default
        if name.contains("/") { return fm.isExecutableFile(atPath: name) ? name : nil }
        let path = ctx.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = String(dir) + "/" + name
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    final class DataBox: @unchecked Sendable {
        var data = Data()
    }

    static let sh = NativeCommand(CommandSignature(
        "sh", positionals: [.init("argv", variadic: true, "the program and its arguments (a list also works); no shell is involved")],
        keywords: [.init("check", isSwitch: true, "fail when the exit code is not 0"),
                   .init("input", "text fed to the program's stdin (else the piped-in value)"),
                   .init("cwd", isPath: true, "the working folder"),
                   .init("env", "a map of extra environment variables")],
        summary: "Run a program (found on PATH) with arguments, without a shell; returns {stdout, stderr, code}.",
        example: "sh kubectl version \"--client\" check: true")) { inv in
        var argv: [String] = []
        for (i, v) in inv.args.positional.enumerated() {
            switch v {
            case .list(let l):
                for (j, e) in l.enumerated() {
                    guard case .string = e else {
                        if case .list = e { throw CommandError("argument [\(j)] is a list", argument: .positional(i)) }
                        if case .map = e { throw CommandError("argument [\(j)] is a map", argument: .positional(i)) }
                        argv.append(e.text); continue
                    }
                    argv.append(e.text)
                }
            case .map, .function:
                throw CommandError("arguments must be strings, not \(v.typeName)", argument: .positional(i))
            default: argv.append(v.text)
            }
        }
        guard let program = argv.first else {
            throw CommandError("missing the program to run", hint: "e.g. sh ls \"-l\"")
        }
        let ctx = inv.context
        guard let exe = resolveProgram(program, ctx) else {
            throw CommandError("program '\(program)' not found\(program.contains("/") ? " or not executable" : " on PATH")",
                               hint: "sh runs a program directly, not a shell command line; for a pipeline use sh bash \"-c\" \"…\"",
                               argument: .positional(0))
        }
        var stdinText: String?
        if let v = inv.args.keyword("input") ?? inv.args.input {
            switch v {
            case .string(let s): stdinText = s
            case .int, .double, .bool, .duration: stdinText = v.text
            case .null: stdinText = nil
            default:
                throw CommandError("stdin must be a string, not \(v.typeName)", hint: "turn it into text first, e.g. | yaml emit | sh …",
                                   argument: inv.args.has("input") ? .keyword("input") : .input)
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = Array(argv.dropFirst())
        var env = ctx.environment
        if let e = inv.args.keyword("env") {
            guard case .map(let m) = e else { throw CommandError("'env:' must be a map, not \(e.typeName)", argument: .keyword("env")) }
            for (k, v) in m { env[k] = v.text }
        }
        process.environment = env
        if let cwd = try inv.args.string(keyword: "cwd") {
            let dir = expandPath(cwd, ctx)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw CommandError("no such folder '\(dir)'", argument: .keyword("cwd"))
            }
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
        }
        let outPipe = Pipe(), errPipe = Pipe()
        let inPipe: Pipe? = stdinText == nil ? nil : Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe ?? FileHandle.nullDevice
        signal(SIGPIPE, SIG_IGN)
        do {
            try process.run()
        } catch {
            throw CommandError("cannot run '\(program)': \(error.localizedDescription)", argument: .positional(0))
        }
        let pid = process.processIdentifier
        let cancelID = ctx.cancellation.register { if pid > 0 { kill(pid, SIGKILL) } }
        defer { ctx.cancellation.unregister(cancelID) }
        let group = DispatchGroup()
        let out = DataBox(), err = DataBox()
        for (pipe, box) in [(outPipe, out), (errPipe, err)] {
            group.enter()
            DispatchQueue.global().async {
                box.data = (try? pipe.fileHandleForReading.readToEnd()) ?? Data()
                group.leave()
            }
        }
        if let inPipe, let text = stdinText {
            group.enter()
            DispatchQueue.global().async {
                let fd = inPipe.fileHandleForWriting.fileDescriptor
                var bytes = Array(text.utf8)
                var off = 0
                while off < bytes.count {
                    let n = bytes.withUnsafeMutableBytes { buf -> Int in
                        guard let base = buf.baseAddress else { return -1 }
                        return Foundation.write(fd, base + off, buf.count - off)
                    }
                    if n < 0 { if errno == EINTR { continue }; break }
                    off += n
                }
                try? inPipe.fileHandleForWriting.close()
                group.leave()
            }
        }
        process.waitUntilExit()
        group.wait()
        if ctx.cancellation.isCancelled { throw CancellationError() }
        let code: Int
        if process.terminationReason == .uncaughtSignal { code = 128 + Int(process.terminationStatus) } else { code = Int(process.terminationStatus) }
        let stdout = String(decoding: out.data, as: UTF8.self)
        let stderr = String(decoding: err.data, as: UTF8.self)
        if try inv.args.bool(keyword: "check"), code != 0 {
            let detail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            let shown = detail.count > 2000 ? String(detail.prefix(2000)) + "…" : detail
            // Arguments and output may carry credentials: what looks like one is masked in the message.
            let line = SecretText.mask("'\(argv.joined(separator: " "))' exited with code \(code)\(shown.isEmpty ? "" : ": " + shown)")
            throw CommandError(line, code: "CommandFailed",
                               data: ["exit_code": .int(code), "stdout": .string(stdout), "stderr": .string(stderr)])
        }
        var result = OrderedDictionary<String, Value>()
        result["stdout"] = .string(stdout)
        result["stderr"] = .string(stderr)
        result["code"] = .int(code)
        return .map(result)
    }

    // MARK: sleep

    static let sleep = NativeCommand(CommandSignature(
        "sleep", positionals: [.init("duration", "how long: 2s, 500ms, 1m (a number is seconds)")],
        summary: "Wait for a while (Ctrl-C interrupts).",
        example: "sleep 5s")) { inv in
        guard let v = inv.args.positional(0) else { throw CommandError("missing DURATION", argument: .positional(0)) }
        let seconds: Double
        switch v {
        case .duration(let d): seconds = d
        case .int(let i): seconds = Double(i)
        case .double(let d): seconds = d
        case .string(let s):
            guard let d = parseDurationText(s) else { throw CommandError("'\(s)' is not a duration such as 2s or 500ms", argument: .positional(0)) }
            seconds = d
        default: throw CommandError("DURATION must be a duration such as 2s, not \(describeType(v))", argument: .positional(0))
        }
        guard !seconds.isNaN else { throw CommandError("DURATION is not a number", argument: .positional(0)) }
        guard seconds >= 0 else { throw CommandError("DURATION must not be negative", argument: .positional(0)) }
        guard seconds < 1e7 else { throw CommandError("DURATION is too long", argument: .positional(0)) }
        try inv.context.wait { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
        return .null
    }

    // MARK: clock

    static let clock = NativeCommand(CommandSignature(
        "clock", summary: "Seconds since 1970-01-01 UTC, a double (to time steps).",
        example: "let t = clock; sleep 1s; print ((clock) - $t)")) { _ in
        .double(Date().timeIntervalSince1970)
    }
}
