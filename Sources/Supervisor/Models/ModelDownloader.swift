import AsyncHTTPClient
import ConfigModel
import Crypto
import Logging
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Downloads one URL into one file, safely: bytes go to `DEST.partial`, a later attempt (or a later agent)
/// resumes it with an HTTP `Range` request, redirects are followed, failed attempts are retried with
/// doubling delays, free disk space is checked against the size the server announces, the SHA-256 is
/// checked when one is expected, and only a whole, verified file is renamed to `DEST`.
///
/// No processes: AsyncHTTPClient (SwiftNIO) does the HTTP. Proxies come from `ProxySettings`.
struct ModelDownloader: Sendable {
    /// One download.
    struct Request: Sendable {
        /// `http://` or `https://` URL.
        var url: String
        /// Extra request headers (`Authorization: Bearer ...` for a Hugging Face token).
        var headers: [(name: String, value: String)] = []
        /// Final path of the file; `destination + ".partial"` while incomplete.
        var destination: String
        /// Expected SHA-256, lower-case hex; nil skips the check.
        var sha256: String?
    }

    var policy: DownloadPolicy
    var proxies: ProxySettings
    var logger: Logger

    /// Downloads `request.url` to `request.destination`, resuming a `.partial` left by an earlier try.
    /// - Parameter progress: called for every chunk written (the caller throttles what it shows).
    /// - Returns: the file's SHA-256 (lower-case hex).
    /// - Throws: `ModelFetchError` (`ModelDownloadFailed`, `ChecksumMismatch`, `InsufficientStorage`) once
    ///   retries are used up or the failure is final; `CancellationError` when the task is cancelled (the
    ///   `.partial` stays for a resume).
    func download(_ request: Request, progress: @escaping @Sendable (DownloadProgress) async -> Void) async throws -> String {
        guard let url = URL(string: request.url), let scheme = url.scheme, let host = url.host else {
            throw ModelFetchError(.ModelDownloadFailed, "\(request.url) is not a valid URL")
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(scheme: scheme, host: host))
        do {
            let digest = try await attempts(request, client: client, progress: progress)
            try? await client.shutdown()
            return digest
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// GETs a small document (a hub listing, at most 16 MiB), with the same retries as a download.
    /// - Throws: `ModelFetchError(.ModelDownloadFailed)` with the HTTP status; `CancellationError`.
    func get(_ url: String, headers: [(name: String, value: String)]) async throws -> [UInt8] {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else {
            throw ModelFetchError(.ModelDownloadFailed, "\(url) is not a valid URL")
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration(scheme: scheme, host: host))
        do {
            let body = try await get(url, headers: headers, client: client)
            try? await client.shutdown()
            return body
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func get(_ url: String, headers: [(name: String, value: String)], client: HTTPClient) async throws -> [UInt8] {
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            do {
                var request = HTTPClientRequest(url: url)
                request.headers.add(name: "User-Agent", value: "metal-agent")
                for header in headers { request.headers.add(name: header.name, value: header.value) }
                let response: HTTPClientResponse
                let body: ByteBuffer
                do {
                    response = try await client.execute(request, timeout: headTimeout)
                    body = try await response.body.collect(upTo: 16 << 20)
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    throw Self.classify(error, url: url, at: 0)
                }
                guard response.status.code == 200 else {
                    let code = response.status.code
                    throw ModelFetchError(
                        .ModelDownloadFailed, "GET \(url): HTTP \(code) \(response.status.reasonPhrase)",
                        retryable: code >= 500 || code == 408 || code == 429)
                }
                return Array(body.readableBytesView)
            } catch let error as ModelFetchError {
                guard error.retryable, attempt < policy.attempts else { throw error }
                try await Task.sleep(for: policy.delay(afterAttempt: attempt))
            }
        }
    }

    /// How long a request may take until the response head arrives (the body is bounded by the stall
    /// timeout alone). AsyncHTTPClient keeps retrying a connection that cannot be made (a refused port, a
    /// proxy refusing the tunnel) until this deadline, so it must be finite.
    private var headTimeout: TimeAmount {
        Self.timeAmount(policy.connectTimeout + policy.stallTimeout)
    }

    private func configuration(scheme: String, host: String) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: .init(connect: Self.timeAmount(policy.connectTimeout), read: Self.timeAmount(policy.stallTimeout)))
        if let proxy = proxies.server(scheme: scheme, host: host) {
            configuration.proxy = .server(host: proxy.host, port: proxy.port)
        }
        return configuration
    }

    private func attempts(_ request: Request, client: HTTPClient, progress: @escaping @Sendable (DownloadProgress) async -> Void) async throws -> String {
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            do {
                return try await attemptOnce(request, client: client, progress: progress)
            } catch let error as ModelFetchError {
                guard error.retryable, attempt < policy.attempts else {
                    if error.retryable {
                        throw ModelFetchError(error.reason, "\(error.message) (gave up after \(attempt) attempts)")
                    }
                    throw error
                }
                let delay = policy.delay(afterAttempt: attempt)
                logger.warning(
                    "download attempt failed; retrying",
                    metadata: [
                        "url": "\(request.url)", "attempt": "\(attempt)", "error": "\(error.message)", "delay": "\(delay)",
                    ])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One HTTP attempt: the request (with `Range` to resume a `.partial`), the status, range and length
    /// checks, and the body streamed to the `.partial` file and hashed as it arrives.
    /// Long on purpose: the stream's file descriptor, hash state and progress live across these steps,
    /// and splitting them would pass all three around.
    private func attemptOnce(_ request: Request, client: HTTPClient, progress: @escaping @Sendable (DownloadProgress) async -> Void) async throws -> String {
        let partial = request.destination + ".partial"
        let folder = PathText.parent(of: request.destination)
        let have = Self.size(of: partial) ?? 0
        var hasher = SHA256()
        if have > 0 { try FileDigest.update(&hasher, path: partial, limit: have) }

        var http = HTTPClientRequest(url: request.url)
        http.headers.add(name: "User-Agent", value: "metal-agent")
        for header in request.headers { http.headers.add(name: header.name, value: header.value) }
        if have > 0 { http.headers.add(name: "Range", value: "bytes=\(have)-") }

        let response: HTTPClientResponse
        do {
            response = try await client.execute(http, timeout: headTimeout)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.classify(error, url: request.url, at: have)
        }
        var offset: Int64 = 0
        var total: Int64?
        switch response.status.code {
        case 200:
            total = response.headers.first(name: "content-length").flatMap { Int64($0) }
        case 206:
            guard let range = Self.contentRange(response.headers.first(name: "content-range")), range.start == have else {
                // Not the range asked for: start over from the first byte.
                unlink(partial)
                throw ModelFetchError(
                    .ModelDownloadFailed, "\(request.url) answered a Range request with an unexpected Content-Range; restarting from the first byte",
                    retryable: true)
            }
            offset = have
            total = range.total
        case 416 where have > 0:
            // The .partial may already be whole (an agent stopped between the last byte and the rename).
            if let size = Self.contentRange(response.headers.first(name: "content-range"))?.total, size == have {
                return try finish(request, partial: partial, hasher: hasher, size: have)
            }
            unlink(partial)
            throw ModelFetchError(
                .ModelDownloadFailed, "\(request.url) refused to resume at byte \(have) (HTTP 416); restarting from the first byte", retryable: true)
        default:
            let code = response.status.code
            let retryable = code >= 500 || code == 408 || code == 429
            throw ModelFetchError(.ModelDownloadFailed, "GET \(request.url): HTTP \(code) \(response.status.reasonPhrase)", retryable: retryable)
        }
        if let total {
            let need = total - offset
            if let free = DiskSpace.available(at: folder), free < need {
                throw ModelFetchError(.InsufficientStorage, "\(request.url) needs \(need) more bytes (\(total) in all), but \(folder) has \(free) bytes free")
            }
        }

        let fd = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else {
            throw ModelFetchError(.ModelDownloadFailed, "cannot write \(partial): \(String(cString: strerror(errno)))")
        }
        var closed = false
        defer { if !closed { close(fd) } }
        if offset == 0 { hasher = SHA256() } else { lseek(fd, off_t(offset), SEEK_SET) }

        let clock = ContinuousClock()
        let started = clock.now
        var done = offset
        func report() async {
            let elapsed = clock.now - started
            let seconds = elapsed.inSeconds
            let rate = seconds > 0 ? Int64(Double(done - offset) / seconds) : 0
            await progress(DownloadProgress(source: request.url, bytesDone: done, bytesTotal: total, bytesPerSecond: rate))
        }
        await report()
        do {
            for try await chunk in response.body {
                let failure = chunk.withUnsafeReadableBytes { bytes -> Int32 in
                    hasher.update(bufferPointer: bytes)
                    return writeAll(fd, bytes)
                }
                guard failure == 0 else {
                    throw ModelFetchError(.ModelDownloadFailed, "cannot write \(partial): \(String(cString: strerror(failure)))")
                }
                done += Int64(chunk.readableBytes)
                if let total, done > total {
                    unlink(partial)
                    throw ModelFetchError(.ModelDownloadFailed, "\(request.url) sent more than the \(total) bytes it announced; restarting", retryable: true)
                }
                await report()
            }
        } catch let error as ModelFetchError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.classify(error, url: request.url, at: done)
        }
        await report()
        fsync(fd)
        close(fd)
        closed = true
        if let total, done < total {
            throw ModelFetchError(.ModelDownloadFailed, "\(request.url) ended after \(done) of \(total) bytes", retryable: true)
        }
        return try finish(request, partial: partial, hasher: hasher, size: done)
    }

    /// Checks the whole `.partial` (not empty, the expected SHA-256) and renames it into place.
    private func finish(_ request: Request, partial: String, hasher: SHA256, size: Int64) throws -> String {
        guard size > 0 else {
            unlink(partial)
            throw ModelFetchError(.ModelDownloadFailed, "\(request.url) sent an empty file")
        }
        let digest = FileDigest.hex(hasher.finalize())
        if let expected = request.sha256, digest != expected {
            unlink(partial)
            throw ModelFetchError(
                .ChecksumMismatch, "\(request.url): SHA-256 of the downloaded \(size) bytes is \(digest), but spec.sha256 is \(expected); the file was deleted")
        }
        guard rename(partial, request.destination) == 0 else {
            throw ModelFetchError(.ModelDownloadFailed, "cannot rename \(partial) to \(request.destination): \(String(cString: strerror(errno)))")
        }
        return digest
    }

    /// A transport error (refused, reset, stalled, closed early): worth another attempt.
    static func classify(_ error: any Error, url: String, at bytes: Int64) -> ModelFetchError {
        let what: String
        if let e = error as? HTTPClientError {
            switch e {
            case .readTimeout: what = "no data for the stall timeout (stalled)"
            case .connectTimeout: what = "connect timed out"
            case .deadlineExceeded: what = "no response (cannot connect, or a proxy refused the tunnel)"
            case .remoteConnectionClosed: what = "the server closed the connection"
            default: what = "\(e)"
            }
        } else {
            what = "\(error)"
        }
        return ModelFetchError(.ModelDownloadFailed, "GET \(url): \(what) after \(bytes) bytes", retryable: true)
    }

    /// `bytes START-END/TOTAL` or `bytes */TOTAL` -> start (nil for `*`) and total (nil for `*`).
    static func contentRange(_ header: String?) -> (start: Int64?, total: Int64?)? {
        guard let header, header.lowercased().hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst(6).trimmingBlanks()
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let start = parts[0] == "*" ? nil : parts[0].split(separator: "-").first.flatMap { Int64($0) }
        return (start, Int64(parts[1]))
    }

    /// Size of the file at `path`, or nil when there is none.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    private static func timeAmount(_ d: Duration) -> TimeAmount {
        .nanoseconds(d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
    }
}
