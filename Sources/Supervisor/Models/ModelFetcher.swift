import ConfigModel
import Logging

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

/// Makes models ready on this node before their entries start: downloads into the store, verifies local
/// files' SHA-256, and lists and fetches whole Hugging Face repositories.
///
/// An actor shared by every entry: entries that need the same file wait on one download (keyed by the
/// destination path). A waiter that goes away (its entry removed, the agent stopping) stops waiting at
/// once; the download itself is cancelled when its last waiter goes, and its `.partial` stays for a resume.
actor ModelFetcher {
    private let store: ModelStore
    private let downloader: ModelDownloader
    private let logger: Logger
    private var checksums: LocalChecksumCache

    private struct Waiter {
        var continuation: CheckedContinuation<Void, any Error>
        var progress: @Sendable (DownloadProgress) async -> Void
    }

    private struct Flight {
        var task: Task<Void, Never>?
        var waiters: [UUID: Waiter] = [:]
        var loggedDecile = -1
        /// The newest progress not yet passed to the waiters, and whether a pass is scheduled.
        var latest: DownloadProgress?
        var flushScheduled = false
    }

    private var flights: [String: Flight] = [:]
    /// Cancelled flights still winding down, by key: a new flight for the same file waits for it (one writer per `.partial`).
    private var winding: [String: Task<Void, Never>] = [:]
    /// Waiters cancelled before they joined.
    private var cancelledEarly: Set<UUID> = []

    /// Creates a fetcher for `store`.
    init(store: ModelStore, policy: DownloadPolicy, proxies: ProxySettings, logger: Logger) {
        self.store = store
        self.downloader = ModelDownloader(policy: policy, proxies: proxies, logger: logger)
        self.logger = logger
        self.checksums = LocalChecksumCache(path: store.directory + "/checksums.json")
    }

    /// Returns once `fetch.destination` holds the model, whole and (when a digest is given) verified.
    /// A file already in the store is used without network access.
    /// - Parameter progress: called while a download runs (about four times a second).
    /// - Throws: `ModelFetchError`; `CancellationError` when the calling task is cancelled.
    func ensure(_ fetch: ModelFetch, progress: @escaping @Sendable (DownloadProgress) async -> Void) async throws {
        switch fetch {
        case .file(_, _, let destination, let sha256):
            if FileManager.default.fileExists(atPath: destination) {
                if let sha256 { try await verify(path: destination, sha256: sha256) }
                return
            }
        case .repository(_, _, _, _, let destination):
            if FileManager.default.fileExists(atPath: destination) { return }
        case .verify(let path, let sha256):
            try await verify(path: path, sha256: sha256)
            return
        }
        let key = fetch.destination
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                join(key, id: id, fetch: fetch, waiter: Waiter(continuation: continuation, progress: progress))
            }
        } onCancel: {
            Task { await self.leave(key, id: id) }
        }
    }

    private func join(_ key: String, id: UUID, fetch: ModelFetch, waiter: Waiter) {
        if cancelledEarly.remove(id) != nil {
            waiter.continuation.resume(throwing: CancellationError())
            return
        }
        if flights[key] != nil {
            flights[key]?.waiters[id] = waiter
            return
        }
        var flight = Flight()
        flight.waiters[id] = waiter
        flights[key] = flight
        let previous = winding[key]
        let downloader = self.downloader
        logger.info("downloading model", metadata: ["source": "\(fetch.source)", "to": "\(fetch.destination)"])
        flights[key]?.task = Task {
            await previous?.value
            let result: Result<Void, any Error>
            do {
                try FileManager.default.createDirectory(
                    atPath: PathText.parent(of: fetch.destination), withIntermediateDirectories: true)
                if let digest = try await Self.perform(fetch, downloader: downloader, progress: { p in await self.progress(key, p) }),
                    let identity = LocalChecksumCache.identity(of: fetch.destination)
                {
                    // Verified while downloading: a restart need not hash the file again.
                    self.checksums.remember(digest, of: fetch.destination, identity: identity)
                }
                result = .success(())
            } catch {
                result = .failure(error)
            }
            self.finished(key, result)
        }
    }

    private func leave(_ key: String, id: UUID) {
        guard let waiter = flights[key]?.waiters.removeValue(forKey: id) else {
            cancelledEarly.insert(id)
            return
        }
        waiter.continuation.resume(throwing: CancellationError())
        if flights[key]?.waiters.isEmpty == true, let task = flights[key]?.task {
            logger.info("download cancelled; the .partial file stays for a resume", metadata: ["to": "\(key)"])
            task.cancel()
            flights[key] = nil
            winding[key] = task
            Task {
                await task.value
                self.wound(key, task)
            }
        }
    }

    private func wound(_ key: String, _ task: Task<Void, Never>) {
        if winding[key] == task { winding[key] = nil }
    }

    /// Takes every progress report; passes the newest to the waiters at most four times a second, and
    /// always the last one (a download that stalls still shows the bytes it got). Logs one line per 10 %.
    private func progress(_ key: String, _ p: DownloadProgress) {
        guard let flight = flights[key] else { return }
        if let percent = p.percent, percent / 10 > flight.loggedDecile {
            flights[key]?.loggedDecile = percent / 10
            logger.info("download progress", metadata: ["source": "\(p.source)", "progress": "\(p.summary)"])
        }
        flights[key]?.latest = p
        guard !flight.flushScheduled else { return }
        flights[key]?.flushScheduled = true
        Task {
            await self.flush(key)
            try? await Task.sleep(for: .milliseconds(250))
            await self.flush(key, last: true)
        }
    }

    private func flush(_ key: String, last: Bool = false) async {
        guard let flight = flights[key] else { return }
        if last {
            flights[key]?.flushScheduled = false
            // Reports that came in meanwhile schedule the next pass.
            if let pending = flights[key]?.latest {
                flights[key]?.latest = nil
                progress(key, pending)
            }
            return
        }
        guard let p = flight.latest else { return }
        flights[key]?.latest = nil
        for waiter in flight.waiters.values { await waiter.progress(p) }
    }

    private func finished(_ key: String, _ result: Result<Void, any Error>) {
        guard let flight = flights[key] else { return }  // cancelled meanwhile: its waiters were resumed
        flights[key] = nil
        switch result {
        case .success: logger.info("model downloaded", metadata: ["to": "\(key)"])
        case .failure(let error): logger.error("model download failed", metadata: ["to": "\(key)", "error": "\(error)"])
        }
        for waiter in flight.waiters.values { waiter.continuation.resume(with: result) }
    }

    /// Hashes a local file unless the cache has its digest for this exact version, and compares.
    private func verify(path: String, sha256: String) async throws {
        guard let identity = LocalChecksumCache.identity(of: path) else {
            throw ModelFetchError(.ModelNotFound, "\(path) does not exist")
        }
        let digest: String
        if let known = checksums.digest(of: path, identity: identity) {
            digest = known
        } else {
            logger.info("hashing model file (SHA-256)", metadata: ["path": "\(path)", "bytes": "\(identity.size)"])
            digest = try await Task.detached { try FileDigest.sha256(path: path) }.value
            if LocalChecksumCache.identity(of: path) == identity { checksums.remember(digest, of: path, identity: identity) }
        }
        guard digest == sha256 else {
            throw ModelFetchError(.ChecksumMismatch, "\(path): SHA-256 is \(digest), but spec.sha256 is \(sha256)")
        }
    }

    /// How many times each file was hashed, for tests (`path` -> the digest the cache holds).
    func cachedDigest(of path: String) -> String? {
        LocalChecksumCache.identity(of: path).flatMap { checksums.digest(of: path, identity: $0) }
    }

    /// Does the download; returns the file's SHA-256 for a single file, nil otherwise.
    private static func perform(
        _ fetch: ModelFetch, downloader: ModelDownloader, progress: @escaping @Sendable (DownloadProgress) async -> Void
    ) async throws -> String? {
        switch fetch {
        case .verify:
            return nil
        case .file(let url, let headers, let destination, let sha256):
            return try await downloader.download(
                .init(url: url, headers: headers.map { ($0.name, $0.value) }, destination: destination, sha256: sha256),
                progress: progress)
        case .repository(let source, let listURL, let resolveBase, let headers, let destination):
            let plain = headers.map { ($0.name, $0.value) }
            let body = try await downloader.get(listURL, headers: plain)
            let files = try HubRepositoryListing.files(fromJSON: body, url: listURL)
            let staging = destination + ".partial"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            let total = files.allSatisfy { $0.size != nil } ? files.reduce(Int64(0)) { $0 + ($1.size ?? 0) } : nil
            var before: Int64 = 0
            for file in files {
                let target = staging + "/" + file.name
                try FileManager.default.createDirectory(
                    atPath: PathText.parent(of: target), withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: target) {
                    let url = resolveBase + "/" + file.name.split(separator: "/").map { HubRepositoryListing.escape(String($0)) }.joined(separator: "/")
                    let base = before
                    _ = try await downloader.download(.init(url: url, headers: plain, destination: target, sha256: file.sha256)) { p in
                        await progress(DownloadProgress(source: source, bytesDone: base + p.bytesDone, bytesTotal: total, bytesPerSecond: p.bytesPerSecond))
                    }
                }
                before += ModelDownloader.size(of: target) ?? 0
            }
            guard rename(staging, destination) == 0 else {
                throw ModelFetchError(.ModelDownloadFailed, "cannot rename \(staging) to \(destination): \(String(cString: strerror(errno)))")
            }
            return nil
        }
    }
}
