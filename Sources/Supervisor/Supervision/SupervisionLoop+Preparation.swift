import ConfigModel
import Executors

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The steps before a runtime's first start: the model fetch (download or checksum) and memory admission.
extension SupervisionLoop {
    /// How memory admission ended.
    enum Admission {
        /// No admission configured (or nothing to estimate).
        case skipped
        /// Admitted: release the grant when the entry ends.
        case granted(MemoryAdmission.Grant)
        /// The entry was removed or the agent stops while it waited.
        case cancelled
    }

    /// Makes the model ready when the entry needs a download or a checksum: phase `Pending`, reason
    /// `Downloading` (with `download` progress) or `VerifyingChecksum` meanwhile.
    /// - Returns: false when the entry must not start: the fetch failed (phase `Failed` with the fetch's
    ///   reason, status written) or was cancelled.
    func fetchModel(_ status: inout ServiceStatus) async -> Bool {
        guard let fetch, let fetcher = context.fetcher else { return true }
        let store = context.store
        status.phase = .Pending
        status.reason = fetch.downloads ? .Downloading : .VerifyingChecksum
        status.message = fetch.downloads ? "downloading \(fetch.source) to \(fetch.destination)" : "computing the SHA-256 of \(fetch.source)"
        await store.update(status)
        let base = status
        do {
            try await fetcher.ensure(fetch) { progress in
                var s = base
                s.download = progress
                s.message = "downloading \(progress.source): \(progress.summary)"
                await store.update(s)
            }
        } catch let error as ModelFetchError {
            status.phase = .Failed
            status.reason = error.reason
            status.message = error.message
            status.download = nil
            await store.update(status)
            return false
        } catch {
            return false  // cancelled: the entry was removed or changed, or the agent is stopping
        }
        status.download = nil
        status.reason = nil
        status.message = nil
        return true
    }

    /// Estimates the entry's memory (`memoryEstimateBytes`) and waits until it fits the budget: phase
    /// `Pending`, reason `InsufficientMemory`, with the figures, while it waits.
    ///
    /// Called before every start, since a runtime loads its model file as it is then: a file replaced
    /// under the same path (a new download, another quantization) changes the estimate, and the status
    /// shows the estimate of the process running. `held` is the previous start's grant: kept while the
    /// estimate is the same (a runtime in CrashLoopBackOff keeps its place, as a Kubernetes pod keeps its
    /// requests across container restarts), resized in place when it changed and fits
    /// (`MemoryAdmission.resize`), else given up and asked again. A model file missing at this start
    /// keeps what is held: the runtime fails on its own, and its size is not 0. While it waits, the
    /// estimate is made again every `reestimatePeriod`, so a file replaced meanwhile counts (once two
    /// checks agree, so that a file still being written is not counted at its partial size).
    func admit(_ status: inout ServiceStatus, held: MemoryAdmission.Grant?) async -> Admission {
        guard let admission = context.admission, let resolved else { return .skipped }
        if let held, !FileManager.default.fileExists(atPath: resolved.modelPath) { return .granted(held) }
        let model = resolved.model
        let limit =
            model.memoryBudgetBytes
            ?? model.memoryFraction.map { Int64(Double(ProcessInfo.processInfo.physicalMemory) * $0) }
        let estimateNow: @Sendable () -> MemoryEstimate = { MemoryEstimate.of(resolved, format: resolved.model.format, path: resolved.modelPath) }
        var held = held
        while !Task.isCancelled {
            let estimate = estimateNow()
            status.memoryEstimateBytes = estimate.bytes
            if let grant = held {
                if grant.bytes == estimate.bytes { return .granted(grant) }
                if let resized = await admission.resize(grant, to: estimate.bytes, limit: limit) { return .granted(resized) }
                held = nil  // it grew past what is free: given up, asked again below
            }
            await context.store.update(status)
            let round = await waitForMemory(admission, estimate: estimate, limit: limit, waiting: status, again: estimateNow)
            switch round {
            case .granted(let grant):
                if Task.isCancelled {
                    await admission.release(grant)
                    return .cancelled
                }
                status.reason = nil
                status.message = nil
                return .granted(grant)
            case .cancelled:
                return .cancelled
            case .estimateChanged:
                continue
            }
        }
        return .cancelled
    }

    /// Asks `admission` for `estimate`'s bytes and waits for them, while `again` (the estimate made
    /// anew) is checked every `reestimatePeriod`: a change counts once two checks in a row agree on it,
    /// so a file still being written in place (`cp`, `curl -o`) is not admitted at its partial size, and
    /// a missing file (removed, about to be replaced) changes nothing. `waiting` is the status shown,
    /// as `Pending`/`InsufficientMemory`, while it waits.
    private func waitForMemory(
        _ admission: MemoryAdmission, estimate: MemoryEstimate, limit: Int64?, waiting: ServiceStatus,
        again: @escaping @Sendable () -> MemoryEstimate
    ) async -> AdmissionRound {
        let store = context.store
        let period = Self.reestimatePeriod
        let modelPath = resolved?.modelPath ?? ""
        return await withTaskGroup(of: AdmissionRound.self) { group -> AdmissionRound in
            group.addTask {
                do {
                    return .granted(
                        try await admission.admit(waiting.name, bytes: estimate.bytes, limit: limit) { why in
                            var s = waiting
                            s.phase = .Pending
                            s.reason = .InsufficientMemory
                            s.message = why + " (estimate: \(estimate.detail))"
                            await store.update(s)
                        })
                } catch {
                    return .cancelled
                }
            }
            group.addTask {
                var seen = estimate.bytes
                while true {
                    do { try await Task.sleep(for: period) } catch { return .cancelled }
                    guard FileManager.default.fileExists(atPath: modelPath) else { continue }
                    let now = again().bytes
                    if now != estimate.bytes && now == seen { return .estimateChanged }
                    seen = now
                }
            }
            let result = await group.next() ?? .cancelled
            group.cancelAll()
            // A grant that came as the other task ended the round (a race) is given back.
            for await case .granted(let grant) in group { await admission.release(grant) }
            return result
        }
    }

    /// How one wait for memory ended.
    enum AdmissionRound: Sendable {
        case granted(MemoryAdmission.Grant)
        case cancelled
        /// The model file changed while the entry waited: estimate again.
        case estimateChanged
    }

    /// How often an entry waiting for memory estimates its model again (a cached GGUF header and an
    /// `fstat`, or an MLX folder's sizes).
    static let reestimatePeriod: Duration = .seconds(2)
}
